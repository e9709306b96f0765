#pragma once
// The parts of lessmore that use OpenCV (and, through DeepNet's index, FAISS with OpenMP and
// BLAS): resize_area, the DeepNet metric, the report and the sweep plot. The lessmore
// program reaches them through lessmore-opencv.so, loaded at their first use
// (pipeline/opencv_loader.cpp), so commands that never use them do not load OpenCV, FAISS
// or BLAS (~14 ms of start-up; docs/performance.md, "Start-up"). Programs that link them
// directly (the tests, the benchmarks) do not use this table.
#include <lessmore/image.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/report.hpp>
#include <lessmore/sweep.hpp>

#include <memory>
#include <string>

namespace lessmore {

struct OpenCvParts {
    Image8 (*resize_area)(const Image8&, int, int);
    std::unique_ptr<Metric> (*make_deepnet_metric)(const MetricOptions&);
    ReportResult (*write_report)(const ReportConfig&, ProgressSink&, const CancelToken&);
    std::string (*sweep_plot_png)(const SweepResult&);
};

}  // namespace lessmore

// The one symbol lessmore-opencv.so exports for the loader.
extern "C" const lessmore::OpenCvParts* lessmore_opencv_parts();
