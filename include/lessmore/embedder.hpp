#pragma once
// A CNN image embedder: an ONNX model run by OpenCV's dnn module on 8-bit slices.
#include <lessmore/image.hpp>
#include <lessmore/metric.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

class Embedder {
public:
    // Reads and checks the model (see ModelOptions); throws UsageError naming the option,
    // file or sidecar field at fault, or saying why the model cannot be used.
    explicit Embedder(const ModelOptions& options);
    ~Embedder();
    Embedder(const Embedder&) = delete;
    Embedder& operator=(const Embedder&) = delete;

    // The model's outputs for a batch of slices (each area-resized to the input size,
    // grey copied into three channels, (pixel * scale - mean) / std), one vector per
    // image, pooled when asked. Thread-safe: each concurrent caller gets its own network.
    std::vector<std::vector<float>> embed(const std::vector<const Image8*>& images) const;

    std::size_t size() const;  // embedding length
    int batch() const;         // slices per forward pass
    // The model and its preprocessing, for the manifest.
    const ModelDescription& description() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace lessmore
