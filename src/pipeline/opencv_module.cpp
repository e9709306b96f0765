// The entry of lessmore-opencv.so (pipeline/opencv_parts.hpp): the table of the real
// functions, compiled into the module. The module is linked with -Bsymbolic, so these
// names mean the module's own definitions, not the lessmore program's forwarders.
#include "pipeline/opencv_parts.hpp"

#include <lessmore/resize_area.hpp>

#include "kernels/metrics/deepnet_metric.hpp"

extern "C" const lessmore::OpenCvParts* lessmore_opencv_parts() {
    static const lessmore::OpenCvParts parts{&lessmore::resize_area, &lessmore::make_deepnet_metric,
                                             &lessmore::write_report, &lessmore::sweep_plot_png};
    return &parts;
}
