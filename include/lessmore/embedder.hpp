#pragma once
// DeepNet's embedder: slices -> the model's input (ModelDescription: size, channels, values,
// scale, mean, std) -> a ModelRunner -> one embedding per slice.
//
// The runner is what executes the model, behind one small interface so that any runtime
// can serve: OpenCV's DNN on an ONNX graph (the default, in the kernels), LibTorch on a
// TorchScript file (src/io/torch_runtime.hpp, a module loaded only when used), or a caller's
// own function (the Python package wraps a callable in a ModelRunner and passes it in
// ModelOptions::runner). Embeddings computed elsewhere need no runner at all: they come in
// through `--features` (include/lessmore/metric.hpp, Metric::feature_from_values).
#include <lessmore/image.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/volume.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

// A batch of preprocessed images as the model takes them: float32, N x C x H x W, or
// N x H x W x C when `nhwc`; for a 3-D model (depth > 0) N x C x D x H x W.
struct InputBatch {
    int count = 0;
    int channels = 3;
    int depth = 0;
    int height = 0;
    int width = 0;
    bool nhwc = false;
    std::vector<float> values;
};

// A model's output for a batch: float32, row-major, shape[0] the batch (N x D, or
// N x C x H x W for a feature map that the embedder may pool).
struct OutputBatch {
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};

// Executes a model on preprocessed batches.
class ModelRunner {
public:
    virtual ~ModelRunner() = default;
    // The model's output for the batch. Must be thread-safe (lessmore's workers call it
    // concurrently, one batch each). Throws UsageError saying why when the model cannot
    // run the batch.
    virtual OutputBatch run(const InputBatch& batch) const = 0;
    // The runtime's name for the manifest: "opencv-dnn", "torchscript", "callback", ...
    virtual std::string runtime() const = 0;
};

class Embedder {
public:
    // Reads and checks the model (see ModelOptions); throws UsageError naming the option,
    // file or sidecar field at fault, or saying why the model cannot be used. Runs the
    // model once on a blank batch, so a model that cannot run fails here, before any
    // output is written.
    explicit Embedder(const ModelOptions& options);
    ~Embedder();
    Embedder(const Embedder&) = delete;
    Embedder& operator=(const Embedder&) = delete;

    // The model's outputs for a batch of 8-bit slices (values "8bit": each area-resized to
    // the input size, in 1 or 3 equal channels, (pixel * scale - mean) / std), one vector
    // per image, pooled when asked. Thread-safe.
    std::vector<std::vector<float>> embed(const std::vector<const Image8*>& images) const;
    // The same from the slices' values (values "hu": clipped to the window, then
    // (value * scale - mean) / std, area-resized in float).
    std::vector<std::vector<float>> embed_values(const std::vector<SliceView>& slices) const;
    // Whether the model takes the slices' values rather than the 8-bit images.
    bool takes_values() const;
    // The input batch of these slices, exactly as the model receives it (for tests and
    // for callers that run the model themselves).
    InputBatch preprocess(const std::vector<const Image8*>& images) const;
    InputBatch preprocess_values(const std::vector<SliceView>& slices) const;
    // A 3-D model's embeddings of units (docs/models.md, section "3-D models"): each unit's
    // block mapped to 8 bits with `intensity` (one mapping over the unit) and each of its
    // slices area-resized to the input size — or, for values "hu", its values clipped to
    // the window and area-resized in float — then (v * scale - mean) / std in every
    // channel, N x C x D x H x W. All units of a call have the same depth. Thread-safe.
    std::vector<std::vector<float>> embed_units(const std::vector<UnitCrop>& units,
                                                const IntensityMapping& intensity) const;
    InputBatch preprocess_units(const std::vector<UnitCrop>& units, const IntensityMapping& intensity) const;

    std::size_t size() const;  // embedding length
    int batch() const;         // slices per forward pass
    // The model and its preprocessing, for the manifest.
    const ModelDescription& description() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// The ONNX runner on OpenCV's DNN for a model's bytes; `name` is used in errors. Throws
// UsageError (naming the operator OpenCV refused, when it says) when OpenCV cannot load it.
std::shared_ptr<const ModelRunner> make_opencv_runner(std::string bytes, const std::string& name,
                                                      const std::string& input, const std::string& output);

}  // namespace lessmore
