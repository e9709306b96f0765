// The lessmore program's definitions of the OpenCV-using functions (pipeline/opencv_parts.hpp):
// each loads lessmore-opencv.so at its first call and forwards to the module's definition.
// The module is looked for next to the program (the build tree), then where `cmake --install`
// puts it with the model modules (cmake/Install.cmake); it resolves lessmore's own functions from the program, which
// exports them.
#include "pipeline/opencv_parts.hpp"

#include <lessmore/error.hpp>
#include <lessmore/resize_area.hpp>

#include "kernels/metrics/deepnet_metric.hpp"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>
#include <string>

namespace lessmore {
namespace {

const OpenCvParts& parts() {
    static const OpenCvParts* loaded = [] {
        char self[PATH_MAX];
        const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
        const std::string program = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : std::string();
        const std::string dir = program.substr(0, program.rfind('/') + 1);
        std::string tried, why;
        for (const std::string& path :
             {dir + "lessmore-opencv.so", std::string(LESSMORE_MODULE_INSTALL_DIR) + "/lessmore-opencv.so"}) {
            if (void* module = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
                if (auto* entry = reinterpret_cast<const OpenCvParts* (*)()>(::dlsym(module, "lessmore_opencv_parts")))
                    return entry();
                why = ::dlerror();
                break;
            }
            const char* e = ::dlerror();
            if (why.empty() || ::access(path.c_str(), F_OK) == 0) why = e ? e : "unknown error";
            tried += (tried.empty() ? "" : ", ") + path;
        }
        throw Error("cannot load lessmore's OpenCV module (tried " + tried + "): " + why);
    }();
    return *loaded;
}

}  // namespace

Image8 resize_area(const Image8& in, int out_width, int out_height) {
    return parts().resize_area(in, out_width, out_height);
}

std::unique_ptr<Metric> make_deepnet_metric(const MetricOptions& options) {
    return parts().make_deepnet_metric(options);
}

ReportResult write_report(const ReportConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    return parts().write_report(config, progress, cancel);
}

std::string sweep_plot_png(const SweepResult& r) { return parts().sweep_plot_png(r); }

}  // namespace lessmore
