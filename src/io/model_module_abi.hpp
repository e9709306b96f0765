#pragma once
// The C interface of lessmore's model modules, shared libraries opened with dlopen only when
// a model needs them (src/io/model_runtimes.cpp): lessmore_onnx.so (src/io/onnx_module.cpp,
// libonnx) and lessmore_torch.so (src/io/torch_module.cpp, LibTorch). Plain C types only,
// so the modules and the binary share no C++ ABI. Every function returns 0 on success, or
// non-zero with a one-line reason in err (NUL-terminated, at most err_size bytes).
#include <cstddef>
#include <cstdint>

#define LESSMORE_MODULE_EXPORT __attribute__((visibility("default")))

extern "C" {

// lessmore_onnx.so: the ONNX graph normalised for OpenCV's DNN, in *out (malloc'd; free it
// with lessmore_module_free).
using LessmoreOnnxNormalise = int (*)(const char* bytes, std::size_t size, char** out, std::size_t* out_size, char* err,
                                      std::size_t err_size);

// lessmore_torch.so: a TorchScript model loaded from bytes, run on float32 NCHW batches.
using LessmoreTorchLoad = int (*)(const char* bytes, std::size_t size, void** model, char* err, std::size_t err_size);
// lessmore_torch_forward: runs the model on input of shape[0..in_dims) (N, C, H, W, or for a
// 3-D model N, C, D, H, W); the output is *out (malloc'd, float32, row-major) of
// out_shape[0..*out_dims) with *out_dims <= 8. Thread-safe.
using LessmoreTorchRun = int (*)(void* model, const float* input, const std::int64_t* shape, int in_dims, float** out,
                                 std::int64_t* out_shape, int* out_dims, char* err, std::size_t err_size);
using LessmoreTorchRelease = void (*)(void* model);
using LessmoreModuleFree = void (*)(void* p);
}
