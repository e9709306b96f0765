// The TorchScript module (lessmore_torch.so): runs `torch.jit.trace(model, x).save('m.pt')`
// files with LibTorch, for the model families OpenCV's DNN cannot run (attention, ConvNeXt's
// layer norms; docs/models.md). Its own shared module, opened with dlopen only when a
// --model is TorchScript (src/io/model_runtimes.cpp): linking LibTorch into the binary
// would add its ~360 ms of library loading to every start of every command.
#include "io/model_module_abi.hpp"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {

void set_error(char* err, std::size_t err_size, std::string text) {
    if (!err || err_size == 0) return;
    // LibTorch's messages carry a C++ backtrace after the first line.
    const std::size_t nl = text.find('\n');
    if (nl != std::string::npos) text.resize(nl);
    const std::size_t n = std::min(err_size - 1, text.size());
    std::memcpy(err, text.data(), n);
    err[n] = '\0';
}

// The first tensor of a forward() result: a tensor, or the first of a tuple or list.
at::Tensor first_tensor(const c10::IValue& v) {
    if (v.isTensor()) return v.toTensor();
    if (v.isTuple() && !v.toTupleRef().elements().empty()) return first_tensor(v.toTupleRef().elements()[0]);
    if (v.isList() && v.toListRef().size() > 0) return first_tensor(v.toListRef()[0]);
    throw std::runtime_error("forward() returned " + v.tagKind() +
                             ", not a tensor (or a tuple whose first item is one)");
}

}  // namespace

extern "C" LESSMORE_MODULE_EXPORT int lessmore_torch_load(const char* bytes, std::size_t size, void** model, char* err,
                                                          std::size_t err_size) {
    try {
        // lessmore's own workers run batches concurrently, one each: LibTorch's intra-op
        // threads would only oversubscribe the cores (and make results depend on them).
        at::set_num_threads(1);
        std::istringstream in(std::string(bytes, size));
        auto m = std::make_unique<torch::jit::Module>(torch::jit::load(in, c10::Device(c10::kCPU)));
        m->eval();
        *model = m.release();
        return 0;
    } catch (const std::exception& e) {
        set_error(err, err_size, e.what());
        return 1;
    }
}

extern "C" LESSMORE_MODULE_EXPORT int lessmore_torch_forward(void* model, const float* input, const std::int64_t* shape,
                                                             int in_dims, float** out, std::int64_t* out_shape,
                                                             int* out_dims, char* err, std::size_t err_size) {
    try {
        c10::InferenceMode guard;
        auto& m = *static_cast<torch::jit::Module*>(model);
        if (in_dims != 4 && in_dims != 5) throw std::runtime_error("the input must have 4 or 5 dimensions");
        const at::Tensor x = torch::from_blob(
            const_cast<float*>(input), c10::IntArrayRef(shape, static_cast<std::size_t>(in_dims)), torch::kFloat32);
        // One image per forward call: LibTorch's matrix products block differently for
        // different batch sizes (last-bit differences, measured on ViT), and lessmore's
        // results must not depend on --batch.
        std::vector<at::Tensor> parts;
        for (std::int64_t i = 0; i < shape[0]; ++i) parts.push_back(first_tensor(m.forward({x.slice(0, i, i + 1)})));
        const at::Tensor y = at::cat(parts, 0).to(torch::kFloat32).contiguous();
        if (y.dim() > 8) throw std::runtime_error("the output has more than 8 dimensions");
        *out_dims = static_cast<int>(y.dim());
        for (int d = 0; d < *out_dims; ++d) out_shape[d] = y.size(d);
        const auto n = static_cast<std::size_t>(y.numel());
        *out = static_cast<float*>(std::malloc(std::max<std::size_t>(1, n) * sizeof(float)));
        if (!*out) throw std::runtime_error("out of memory");
        std::memcpy(*out, y.data_ptr<float>(), n * sizeof(float));
        return 0;
    } catch (const std::exception& e) {
        set_error(err, err_size, e.what());
        return 1;
    }
}

extern "C" LESSMORE_MODULE_EXPORT void lessmore_torch_release(void* model) {
    delete static_cast<torch::jit::Module*>(model);
}

extern "C" LESSMORE_MODULE_EXPORT void lessmore_module_free(void* p) { std::free(p); }
