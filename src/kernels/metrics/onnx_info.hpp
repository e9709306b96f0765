#pragma once
// The declared inputs and outputs of an ONNX model (names and shapes), read from the
// protobuf directly: OpenCV 4.6's dnn module does not expose them, and lessmore must
// check that a model takes a 3xHxW image before running it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lessmore {

struct OnnxTensorInfo {
    std::string name;
    std::vector<std::int64_t> dims;  // -1 for a symbolic or unknown dimension
};

struct OnnxInfo {
    std::vector<OnnxTensorInfo> inputs;  // graph inputs that are not initializers
    std::vector<OnnxTensorInfo> outputs;
};

// Throws std::runtime_error when the bytes are not an ONNX model.
OnnxInfo read_onnx_info(std::string_view bytes);

}  // namespace lessmore
