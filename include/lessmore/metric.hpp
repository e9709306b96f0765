#pragma once
// The metric library: each method prepares every slice once, then scores pairs.
#include <lessmore/image.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/volume.hpp>

#include <array>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

// Per-slice data a metric computes once (a hash, local statistics, an embedding).
class Feature {
public:
    virtual ~Feature() = default;
};

// Which way a score points: SSIM/MI/cosine are similarities, HASH is a distance.
enum class Sense { HigherIsSimilar, LowerIsSimilar };

// The files of a DeepNet model, read by the io layer (read_model_files) so that metrics
// never touch the file system.
struct ModelFiles {
    std::string model_bytes;     // the model file (ONNX, or TorchScript when a runner is given)
    std::string runnable_bytes;  // ONNX: the graph normalised for OpenCV's DNN (io/onnx_runtime.hpp);
                                 // empty: model_bytes as they are
    std::string sidecar_path;    // MODEL.json beside it; empty when there is none
    std::string sidecar_text;
};

class ModelRunner;  // include/lessmore/embedder.hpp

// DeepNet's model and its preprocessing. Fields left unset come from the sidecar
// (MODEL.json beside MODEL.onnx), then from the bundled model's values.
struct ModelOptions {
    std::string path;                 // --model; empty: the bundled MobileNet
    std::optional<ModelFiles> files;  // path's files; must be read when path is set
    // What runs the model when it is not an ONNX graph for OpenCV: a TorchScript runner
    // (io), a caller's function (Python). Null: the ONNX file through OpenCV's DNN.
    std::shared_ptr<const ModelRunner> runner;
    std::string runtime;  // the runner's name when runner is set
    // --features: embeddings of this length were computed elsewhere (features_dir); no
    // model runs and features come from Metric::feature_from_values.
    std::optional<std::size_t> feature_size;
    std::string features_dir;
    // With feature_size: volume `id`'s rows, one per slice (io reads them; throws InputError
    // naming the file and row at fault).
    std::function<std::vector<std::vector<float>>(const std::string& id, std::size_t slices)> feature_rows;
    // What a row of --features stands for: empty, a slice; else the run's --unit text
    // (slab, patch), one row per unit in the manifest's unit order (docs/models.md).
    std::string feature_unit;
    // A 3-D model taking any depth is tried once on a unit of this many slices (the run's
    // unit depth when given in voxels); 0: 8.
    int unit_depth = 0;
    std::optional<int> channels;                      // 1 or 3 (default: the graph's, else 3)
    std::optional<std::string> values;                // "8bit" (the paper's image) or "hu" (the slice's values)
    std::optional<std::pair<double, double>> window;  // "hu": clip values to [low, high] first
    std::optional<std::pair<int, int>> input_size;    // width, height
    std::optional<std::vector<double>> mean;          // 1 or 3 values, RGB order
    std::optional<std::vector<double>> std;           // 1 or 3 values, RGB order
    std::optional<double> scale;                      // value = (pixel * scale - mean) / std
    std::optional<std::string> channel_order;         // "RGB" or "BGR"
    std::optional<std::string> layout;                // "NCHW" or "NHWC"
    std::optional<std::string> output;                // layer or graph output; default: the graph's output
    std::optional<bool> pool;                         // global-average-pool a 4-D output
    int batch = 0;                                    // slices per forward pass; 0: 4 for models up to
                                                      // 16 MB, 1 for larger ones (measured fastest on CPU)
};

// The model a DeepNet run used, fully resolved: what the manifest records.
struct ModelDescription {
    std::string name;  // the --model path, or "bundled:<file>", or "features:<DIR>" (--features), or the
                       // runtime of a caller's runner given without a path ("callback")
    bool bundled = false;
    std::string sha256;                  // of the model file ("" for --features and a caller's runner)
    std::string sidecar;                 // the sidecar read ("" when none; "bundled" for the default model)
    std::string runtime = "opencv-dnn";  // or "torchscript", "callback", "features"
    int width = 224;
    int height = 224;
    int channels = 3;
    bool hu = false;  // values "hu": the slice's values, clipped to the window; else the 8-bit image
    std::optional<std::pair<double, double>> window;  // hu only; none: not clipped
    bool nhwc = false;
    bool bgr = false;
    double scale = 1.0 / 127.5;
    std::array<double, 3> mean{1.0, 1.0, 1.0};  // RGB order
    std::array<double, 3> std{1.0, 1.0, 1.0};   // RGB order
    std::string input;                          // graph input fed
    std::string output;                         // graph output or layer embedded with
    bool pool = false;
    std::size_t embedding_size = 0;
    int batch = 1;
    // A 3-D model (the sidecar's 'depth', docs/models.md, section "3-D models"): the slices
    // of a unit it takes, N x C x depth x H x W, or k_any_depth; 0: a 2-D model (slices).
    int depth = 0;
};

constexpr int k_any_depth = -1;  // ModelDescription::depth: a 3-D model taking any depth

struct IntensityMapping;  // include/lessmore/intensity.hpp

// One 3-D unit's voxels for a 3-D model: the rectangle of width x height voxels at column
// x0, row y0 of each of `slices`, in order (what to_8bit_block maps).
struct UnitCrop {
    std::vector<SliceView> slices;
    int x0 = 0;
    int y0 = 0;
    int width = 0;
    int height = 0;
};

// Options of all metrics; each metric reads the ones it knows.
struct MetricOptions {
    std::string method = "hash";  // everyn or a metric name
    int hash_size = 8;            // hash
    int bins = 100;               // mi
    int resize = 0;               // ssim, mi: compute on slices resized to resize x resize (0: full size)
    ModelOptions model;           // deepnet
};

struct ScoreMatrix;
class NeighbourIndex;  // include/lessmore/neighbour_index.hpp

class Metric {
public:
    virtual ~Metric() = default;

    virtual std::string name() const = 0;
    virtual Sense sense() const = 0;
    // Throws UsageError (naming --threshold) when t is outside the metric's range.
    virtual void check_threshold(double threshold) const = 0;

    // Thread-safe; called once per slice.
    virtual std::unique_ptr<Feature> prepare(const Image8& image) const = 0;
    // Slices per prepare_batch() call; above 1 the caller hands slices over in batches
    // (DeepNet: one forward pass per batch).
    virtual std::size_t batch_size() const { return 1; }
    virtual std::vector<std::unique_ptr<Feature>> prepare_batch(const std::vector<const Image8*>& images) const;
    // All pairwise scores at once when the metric has a faster way than pair by pair
    // (DeepNet: one matrix product); false means "use compare()".
    virtual bool pairwise(const std::vector<const Feature*>& /*features*/, ScoreMatrix& /*out*/) const { return false; }
    // Thread-safe; the pairwise score.
    virtual double compare(const Feature& a, const Feature& b) const = 0;
    // compare(*features[i], *features[j]) for every (i, j) of `pairs`, into out[0 ..
    // pairs.size()), bit for bit. Thread-safe. A metric may share work between pairs that
    // share slices (SSIM reads each slice's statistics once per call, not once per pair);
    // the default compares pair by pair. With a pool, the work is spread over its threads:
    // pair by pair by default, within a pair when the metric splits_pairs().
    virtual void compare_pairs(const std::vector<const Feature*>& features,
                               const std::vector<std::pair<std::size_t, std::size_t>>& pairs, double* out,
                               ThreadPool* pool = nullptr) const;
    // True when compare_pairs() with a pool puts all its threads on even one pair (SSIM by
    // strips of the image, MI by parts of its pixels), so a caller needs no batch of pairs
    // to keep the threads busy.
    virtual bool splits_pairs() const { return false; }

    // True when compare() costs nanoseconds (no point spreading it over threads).
    virtual bool cheap_compare() const { return false; }

    // Whether the metric prepares slices from their values (the value model, e.g. HU for CT)
    // rather than from the 8-bit image: prepare_values() instead of prepare_batch().
    virtual bool takes_values() const { return false; }
    virtual std::vector<std::unique_ptr<Feature>> prepare_values(const std::vector<SliceView>& slices) const;
    // DeepNet with a 3-D model (model()->depth != 0): one feature per unit, its block mapped
    // to 8 bits with `intensity` (one mapping over the unit) or taken as values ("hu").
    // Thread-safe; one forward pass per call. Throws std::logic_error for other metrics.
    virtual std::vector<std::unique_ptr<Feature>> prepare_units(const std::vector<UnitCrop>& units,
                                                                const IntensityMapping& intensity) const;

    // Features as float32 values, for features computed elsewhere (--features) and written
    // out (--save-features). feature_values: DeepNet the embedding, HASH the bits as 0/1;
    // nullopt for metrics that keep none (SSIM, MI). feature_from_values throws Error when
    // the metric cannot take them (or the length is wrong).
    virtual std::optional<std::vector<float>> feature_values(const Feature&) const { return std::nullopt; }
    virtual std::unique_ptr<Feature> feature_from_values(std::vector<float> values) const;
    // Features computed elsewhere (--features): the volume's, one per slice; empty when the
    // metric prepares slices itself. Throws InputError naming the file at fault.
    virtual std::vector<std::unique_ptr<Feature>> precomputed(const std::string& /*volume_id*/,
                                                              std::size_t /*slices*/) const {
        return {};
    }
    // The length feature_from_values() takes; 0 when it takes none.
    virtual std::size_t feature_size() const { return 0; }

    // A short per-slice text for the manifest (HASH: the hex digest), if any.
    virtual std::optional<std::string> describe(const Feature&) const { return std::nullopt; }
    // DeepNet: the model it runs (recorded in the manifest); null for other metrics.
    virtual const ModelDescription* model() const { return nullptr; }

    // For the cross-volume pass (include/lessmore/cross_volume.hpp). A feature as text for
    // the run records, from which merge redoes the pass (HASH: the hex digest; DeepNet: the
    // embedding's float32 values in base64), and back — feature_from_text throws Error
    // when the text is not one this metric wrote. nullopt: the metric keeps none (SSIM, MI).
    virtual std::optional<std::string> feature_text(const Feature&) const { return std::nullopt; }
    virtual std::unique_ptr<Feature> feature_from_text(const std::string& text) const;
    // An empty index for finding the features similar at `threshold`; null when the metric
    // has none (SSIM, MI). `threads` bounds the index's own parallelism.
    virtual std::unique_ptr<NeighbourIndex> make_index(double threshold, int threads) const;
};

// Builds the metric named by options.method (EveryN is a strategy, not a metric);
// throws UsageError for an unknown name or bad options. For deepnet with a --model path,
// options.model.files must hold the model's files.
std::unique_ptr<Metric> make_metric(const MetricOptions& options);

}  // namespace lessmore
