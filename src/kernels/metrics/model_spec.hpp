#pragma once
// DeepNet's model: which file, and how a slice becomes its input.
#include <lessmore/metric.hpp>

#include "kernels/metrics/onnx_info.hpp"

#include <array>
#include <string>

namespace lessmore {

// What the manifest records (ModelDescription: name, preprocessing, input and output),
// plus what running it needs.
struct ModelSpec : ModelDescription {
    std::string bytes;            // the ONNX graph OpenCV runs (normalised when io gave it so)
    OnnxInfo graph;               // declared inputs and outputs (ONNX only)
    bool channels_given = false;  // channels came from the sidecar or --channels
};

// The model and its preprocessing: options override the sidecar (MODEL.json beside
// MODEL.onnx, read into options.files), which overrides the bundled model's values.
// Throws UsageError naming the option, file or field at fault.
ModelSpec resolve_model(const ModelOptions& options);

}  // namespace lessmore
