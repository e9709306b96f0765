#pragma once
// Reading a DeepNet model and its sidecar from disk (the metrics never touch files).
#include <lessmore/metric.hpp>

#include <string>

namespace lessmore {

// The ONNX file at `model_path` and MODEL.json beside it, if any. Throws UsageError
// naming --model or the sidecar when a file cannot be read.
ModelFiles read_model_files(const std::string& model_path);

}  // namespace lessmore
