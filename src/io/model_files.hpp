#pragma once
// Reading a DeepNet model and its sidecar from disk (the metrics never touch files).
#include <lessmore/metric.hpp>

#include <string>

namespace lessmore {

// The model file at `model_path` (ONNX, normalised for OpenCV's DNN in runnable_bytes; or
// TorchScript) and MODEL.json beside it, if any. Throws UsageError naming --model or the
// sidecar when a file cannot be read.
ModelFiles read_model_files(const std::string& model_path);

// Reads options.path's files (when not read yet) and, for a TorchScript file, sets
// options.runner to LibTorch's runner; with --features (features_dir), opens the folder
// (open_feature_dir) and sets feature_size and feature_rows. Nothing for the bundled model.
void open_model(ModelOptions& options);

}  // namespace lessmore
