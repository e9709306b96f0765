// The bundled model's bytes, included at build time with the assembler's .incbin
// (LESSMORE_MODEL_ONNX / LESSMORE_MODEL_JSON are absolute paths set by CMake). The
// assembler also records each blob's size, so no pointers to different objects are
// ever subtracted.
#include "kernels/metrics/bundled_model.hpp"

#include <cstdint>

#define LESSMORE_INCBIN(name, path)      \
    __asm__(                             \
        ".section .rodata\n"             \
        ".balign 16\n"                   \
        ".global " #name "_data\n" #name \
        "_data:\n"                       \
        ".incbin \"" path "\"\n" #name   \
        "_end:\n"                        \
        ".balign 8\n"                    \
        ".global " #name "_size\n" #name \
        "_size:\n"                       \
        ".quad " #name "_end - " #name   \
        "_data\n"                        \
        ".previous\n");                  \
    extern "C" const char name##_data[]; \
    extern "C" const std::uint64_t name##_size;

LESSMORE_INCBIN(lessmore_bundled_onnx, LESSMORE_MODEL_ONNX)
LESSMORE_INCBIN(lessmore_bundled_json, LESSMORE_MODEL_JSON)

namespace lessmore {

std::string_view bundled_model_onnx() {
    return {lessmore_bundled_onnx_data, static_cast<std::size_t>(lessmore_bundled_onnx_size)};
}

std::string_view bundled_model_sidecar() {
    return {lessmore_bundled_json_data, static_cast<std::size_t>(lessmore_bundled_json_size)};
}

}  // namespace lessmore
