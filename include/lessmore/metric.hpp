#pragma once
// The metric library: each method prepares every slice once, then scores pairs.
#include <lessmore/image.hpp>

#include <cstddef>
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

// DeepNet's model and its preprocessing. Fields left unset come from the sidecar
// (MODEL.json beside MODEL.onnx), then from the bundled model's values.
struct ModelOptions {
    std::string path;                                // --model; empty: the bundled MobileNet
    std::optional<std::pair<int, int>> input_size;   // width, height
    std::optional<std::vector<double>> mean;         // 1 or 3 values, RGB order
    std::optional<std::vector<double>> std;          // 1 or 3 values, RGB order
    std::optional<double> scale;                     // value = (pixel * scale - mean) / std
    std::optional<std::string> channel_order;        // "RGB" or "BGR"
    std::optional<std::string> layout;               // "NCHW" or "NHWC"
    std::optional<std::string> output;               // layer or graph output; default: the graph's output
    std::optional<bool> pool;                        // global-average-pool a 4-D output
    int batch = 0;                                   // slices per forward pass; 0: 4 for models up to
                                                     // 16 MB, 1 for larger ones (measured fastest on CPU)
};

// Options of all metrics; each metric reads the ones it knows.
struct MetricOptions {
    std::string method = "hash";
    int hash_size = 8;   // hash
    int bins = 100;      // mi
    int resize = 0;      // ssim, mi: compute on slices resized to resize x resize (0: full size)
    ModelOptions model;  // deepnet
};

struct ScoreMatrix;

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

    // True when compare() costs nanoseconds (no point spreading it over threads).
    virtual bool cheap_compare() const { return false; }

    // A short per-slice text for the manifest (HASH: the hex digest), if any.
    virtual std::optional<std::string> describe(const Feature&) const { return std::nullopt; }
    // Metric parameters recorded in the manifest, as (name, JSON text) pairs.
    virtual std::vector<std::pair<std::string, std::string>> parameters() const { return {}; }

    // "similar iff": score >= threshold for similarities, score <= threshold for distances.
    bool similar(double score, double threshold) const {
        return sense() == Sense::HigherIsSimilar ? score >= threshold : score <= threshold;
    }
    // Strictly more similar.
    bool more_similar(double a, double b) const {
        return sense() == Sense::HigherIsSimilar ? a > b : a < b;
    }
};

// Builds the metric named by options.method (EveryN is a strategy, not a metric);
// throws UsageError for an unknown name or bad options.
std::unique_ptr<Metric> make_metric(const MetricOptions& options);

// The shortest decimal text that reads back as v (for messages and CSV).
std::string format_number(double v);

}  // namespace lessmore
