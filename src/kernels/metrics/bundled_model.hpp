#pragma once
// The default DeepNet model and its sidecar, compiled into the binary (models/).
#include <string_view>

namespace lessmore {

std::string_view bundled_model_onnx();
std::string_view bundled_model_sidecar();
constexpr const char* k_bundled_model_name = "mobilenet_v1_0.25_224_imagenet_embed.onnx";

}  // namespace lessmore
