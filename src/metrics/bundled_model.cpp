// The bundled model's bytes, included at build time with the assembler's .incbin
// (LESSMORE_MODEL_ONNX / LESSMORE_MODEL_JSON are absolute paths set by CMake).
#include "metrics/bundled_model.hpp"

#include <cstddef>

#define LESSMORE_INCBIN(name, path)                                                                   \
    __asm__(".section .rodata\n"                                                                   \
            ".balign 16\n"                                                                         \
            ".global " #name "_begin\n" #name "_begin:\n"                                          \
            ".incbin \"" path "\"\n"                                                               \
            ".global " #name "_end\n" #name "_end:\n"                                              \
            ".byte 0\n"                                                                            \
            ".previous\n");                                                                        \
    extern "C" const char name##_begin[];                                                          \
    extern "C" const char name##_end[];

LESSMORE_INCBIN(lessmore_bundled_onnx, LESSMORE_MODEL_ONNX)
LESSMORE_INCBIN(lessmore_bundled_json, LESSMORE_MODEL_JSON)

namespace lessmore {

std::string_view bundled_model_onnx() {
    return {lessmore_bundled_onnx_begin, static_cast<std::size_t>(lessmore_bundled_onnx_end - lessmore_bundled_onnx_begin)};
}

std::string_view bundled_model_sidecar() {
    return {lessmore_bundled_json_begin, static_cast<std::size_t>(lessmore_bundled_json_end - lessmore_bundled_json_begin)};
}

}  // namespace lessmore
