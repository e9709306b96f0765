#pragma once
// The model runtimes that live in modules opened only when used (src/io/model_module_abi.hpp):
// the ONNX normalisation for OpenCV's DNN (libonnx) and the TorchScript runner (LibTorch).
#include <lessmore/embedder.hpp>

#include <memory>
#include <string>

namespace lessmore {

// A TorchScript file (what torch.jit.save writes: a zip archive) rather than ONNX.
bool is_torchscript(const std::string& bytes);

// The ONNX graph rewritten so that OpenCV 4.6's DNN imports what torch.onnx.export writes
// (src/io/onnx_module.cpp says what and why). Throws UsageError naming --model `name` when the
// bytes are not ONNX or the module is missing.
std::string normalise_onnx(const std::string& bytes, const std::string& name);

// A runner for a TorchScript model. Throws UsageError naming --model `name` when LibTorch
// cannot load it, or this build has no TorchScript module.
std::shared_ptr<const ModelRunner> load_torchscript(const std::string& bytes, const std::string& name);

}  // namespace lessmore
