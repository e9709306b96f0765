#pragma once
// The metric library: each method prepares every slice once, then scores pairs.
#include <lessmore/image.hpp>

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

// Options of all metrics; each metric reads the ones it knows.
struct MetricOptions {
    std::string method = "hash";
    int hash_size = 8;   // hash
    int bins = 100;      // mi
    int resize = 0;      // ssim, mi: compute on slices resized to resize x resize (0: full size)
};

class Metric {
public:
    virtual ~Metric() = default;

    virtual std::string name() const = 0;
    virtual Sense sense() const = 0;
    // Throws UsageError (naming --threshold) when t is outside the metric's range.
    virtual void check_threshold(double threshold) const = 0;

    // Thread-safe; called once per slice.
    virtual std::unique_ptr<Feature> prepare(const Image8& image) const = 0;
    // Thread-safe; the pairwise score.
    virtual double compare(const Feature& a, const Feature& b) const = 0;

    // True when compare() costs nanoseconds (no point spreading it over threads).
    virtual bool cheap_compare() const { return false; }
    // True when scores are whole numbers (written without a fraction in the manifest).
    virtual bool integer_scores() const { return false; }

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

struct MetricDescription {
    std::string name;
    std::string summary;
};

// The metrics lessmore knows (EveryN is a strategy, not a metric, and is not listed).
std::vector<MetricDescription> metric_list();
// Builds the metric named by options.method; throws UsageError for an unknown name
// or bad options.
std::unique_ptr<Metric> make_metric(const MetricOptions& options);

// The shortest decimal text that reads back as v (for messages and CSV).
std::string format_number(double v);

}  // namespace lessmore
