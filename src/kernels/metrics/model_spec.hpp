#pragma once
// DeepNet's model: which file, and how a slice becomes its input.
#include <lessmore/metric.hpp>

#include "kernels/metrics/onnx_info.hpp"

#include <array>
#include <string>

namespace lessmore {

struct ModelSpec {
    std::string name;      // the --model path, or "bundled:<file>"
    std::string bytes;     // the ONNX file
    std::string sha256;    // of bytes
    std::string sidecar;   // the sidecar read ("" when none; "bundled" for the default model)
    OnnxInfo graph;        // declared inputs and outputs
    int width = 224;
    int height = 224;
    double scale = 1.0 / 127.5;
    std::array<double, 3> mean{1.0, 1.0, 1.0};  // RGB order
    std::array<double, 3> std{1.0, 1.0, 1.0};   // RGB order
    bool bgr = false;
    bool nhwc = false;
    std::string input;     // "" : the graph's only input
    std::string output;    // "" : the graph's first output
    bool pool = false;
    int batch = 16;
};

// The model and its preprocessing: options override the sidecar (MODEL.json beside
// MODEL.onnx, read into options.files), which overrides the bundled model's values.
// Throws UsageError naming the option, file or field at fault.
ModelSpec resolve_model(const ModelOptions& options);

}  // namespace lessmore
