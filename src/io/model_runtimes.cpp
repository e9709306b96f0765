// Opening lessmore's model modules with dlopen. They are never closed: LibTorch does not
// unload cleanly, and a second dlopen of a loaded library only returns the same handle.
#include "io/model_runtimes.hpp"

#include <lessmore/error.hpp>

#include "io/model_module_abi.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <vector>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

constexpr std::size_t k_error_size = 2048;

// The folders a module may be in, nearest first: beside the object holding this code (the
// binary, a test, the Python extension), in the build tree's modules/ folder, then where
// `cmake --install` puts it.
std::vector<fs::path> module_folders() {
    std::vector<fs::path> out;
    auto beside = [&](const fs::path& file) {
        std::error_code ec;
        const fs::path self = fs::canonical(file, ec);
        if (ec) return;
        for (const fs::path& dir : {self.parent_path() / "modules", self.parent_path().parent_path() / "modules"})
            if (std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
    };
    // The executable (dladdr names the main program as it was started, maybe relative), then
    // the shared object this code is linked into.
    beside("/proc/self/exe");
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&module_folders), &info) && info.dli_fname && *info.dli_fname)
        beside(info.dli_fname);
    out.emplace_back(LESSMORE_MODULE_INSTALL_DIR);
    return out;
}

// The module's handle, or null with the places looked at in `why`.
void* open_module(const std::string& file, std::string& why) {
    for (const fs::path& dir : module_folders()) {
        const fs::path p = dir / file;
        std::error_code ec;
        if (!fs::is_regular_file(p, ec)) {
            why += (why.empty() ? "" : ", ") + p.string();
            continue;
        }
        if (void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
        const char* e = dlerror();
        why = p.string() + " cannot be loaded: " + (e ? e : "unknown error");
        return nullptr;
    }
    why = "not found in " + why;
    return nullptr;
}

template <typename F>
F symbol(void* module, const char* name, const std::string& file) {
    void* s = dlsym(module, name);
    if (!s) throw Error(file + ": has no " + name + " (a module from another build?)");
    return reinterpret_cast<F>(s);
}

class TorchRunner final : public ModelRunner {
public:
    TorchRunner(void* module, const std::string& bytes, const std::string& name) : m_name(name) {
        const char* file = "lessmore_torch.so";
        m_run = symbol<LessmoreTorchRun>(module, "lessmore_torch_forward", file);
        m_release = symbol<LessmoreTorchRelease>(module, "lessmore_torch_release", file);
        m_free = symbol<LessmoreModuleFree>(module, "lessmore_module_free", file);
        const auto load = symbol<LessmoreTorchLoad>(module, "lessmore_torch_load", file);
        std::array<char, k_error_size> err{};
        if (load(bytes.data(), bytes.size(), &m_model, err.data(), err.size()) != 0) {
            throw UsageError("--model " + name +
                             ": LibTorch cannot load this TorchScript model: " + one_line(err.data()));
        }
    }
    ~TorchRunner() override { m_release(m_model); }
    TorchRunner(const TorchRunner&) = delete;
    TorchRunner& operator=(const TorchRunner&) = delete;

    OutputBatch run(const InputBatch& batch) const override {
        if (batch.nhwc) throw UsageError("--model " + m_name + ": TorchScript models take NCHW input");
        // N x C x H x W, or N x C x D x H x W for a 3-D model.
        const bool three_d = batch.depth > 0;
        const std::int64_t shape[5] = {batch.count, batch.channels, three_d ? batch.depth : batch.height,
                                       three_d ? batch.height : batch.width, batch.width};
        float* out = nullptr;
        std::int64_t out_shape[8] = {};
        int dims = 0;
        std::array<char, k_error_size> err{};
        if (m_run(m_model, batch.values.data(), shape, three_d ? 5 : 4, &out, out_shape, &dims, err.data(),
                  err.size()) != 0) {
            throw UsageError("--model " + m_name + ": the TorchScript model failed on a batch of " +
                             std::to_string(batch.count) + " x " + std::to_string(batch.channels) + " x " +
                             (three_d ? std::to_string(batch.depth) + " x " : std::string()) +
                             std::to_string(batch.height) + " x " + std::to_string(batch.width) + ": " +
                             one_line(err.data()));
        }
        OutputBatch result;
        std::size_t total = 1;
        for (int d = 0; d < dims; ++d) {
            result.shape.push_back(out_shape[d]);
            total *= static_cast<std::size_t>(out_shape[d]);
        }
        result.values.assign(out, out + total);
        m_free(out);
        return result;
    }

    std::string runtime() const override { return "torchscript"; }

private:
    std::string m_name;
    void* m_model = nullptr;
    LessmoreTorchRun m_run = nullptr;
    LessmoreTorchRelease m_release = nullptr;
    LessmoreModuleFree m_free = nullptr;
};

}  // namespace

bool is_torchscript(const std::string& bytes) { return bytes.size() >= 4 && bytes.compare(0, 4, "PK\x03\x04") == 0; }

std::string normalise_onnx(const std::string& bytes, const std::string& name) {
    const char* file = "lessmore_onnx.so";
    std::string why;
    void* module = open_module(file, why);
    if (!module) throw UsageError("--model " + name + ": ONNX models need lessmore's module " + file + ", " + why);
    const auto normalise = symbol<LessmoreOnnxNormalise>(module, "lessmore_onnx_normalise", file);
    const auto release = symbol<LessmoreModuleFree>(module, "lessmore_module_free", file);
    char* out = nullptr;
    std::size_t size = 0;
    std::array<char, k_error_size> err{};
    if (normalise(bytes.data(), bytes.size(), &out, &size, err.data(), err.size()) != 0) {
        throw UsageError("--model " + name + ": " + one_line(err.data()));
    }
    std::string result(out, size);
    release(out);
    return result;
}

std::shared_ptr<const ModelRunner> load_torchscript(const std::string& bytes, const std::string& name) {
    std::string why;
    void* module = open_module("lessmore_torch.so", why);
    if (!module) {
        throw UsageError("--model " + name +
                         ": TorchScript models need lessmore's LibTorch module lessmore_torch.so, " + why +
                         " (build lessmore with Debian's libtorch-dev installed)");
    }
    return std::make_shared<TorchRunner>(module, bytes, name);
}

}  // namespace lessmore
