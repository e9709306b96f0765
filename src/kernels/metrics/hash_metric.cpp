// HASH: imagehash's dhash, Hamming distance; similar iff distance <= threshold.
#include "kernels/metrics/hash_metric.hpp"
#include "kernels/metrics/hamming_index.hpp"

#include <lessmore/dhash.hpp>
#include <lessmore/error.hpp>
#include <lessmore/number_format.hpp>

#include <cmath>
#include <string>

namespace lessmore {
namespace {

class HashFeature final : public Feature {
public:
    explicit HashFeature(DHash h) : hash(std::move(h)) {}
    DHash hash;
};

class HashMetric final : public Metric {
public:
    explicit HashMetric(int hash_size) : m_hash_size(hash_size), m_hasher(hash_size) {}

    std::string name() const override { return "hash"; }
    Sense sense() const override { return Sense::LowerIsSimilar; }
    bool cheap_compare() const override { return true; }

    void check_threshold(double t) const override {
        const int bits = m_hash_size * m_hash_size;
        if (!(t >= 0 && t <= bits) || std::floor(t) != t) {
            throw UsageError("--threshold: for hash it is a Hamming distance, a whole number from 0 to " +
                             std::to_string(bits) + " (got " + format_number(t) + ")");
        }
    }

    std::unique_ptr<Feature> prepare(const Image8& image) const override {
        return std::make_unique<HashFeature>(m_hasher(image));
    }

    double compare(const Feature& a, const Feature& b) const override {
        return hamming_distance(static_cast<const HashFeature&>(a).hash, static_cast<const HashFeature&>(b).hash);
    }

    std::optional<std::string> describe(const Feature& f) const override {
        return static_cast<const HashFeature&>(f).hash.hex();
    }

    std::optional<std::string> feature_text(const Feature& f) const override { return describe(f); }

    // The bits as 0/1 in bit() order (imagehash's hash.flatten()), for --save-features.
    std::optional<std::vector<float>> feature_values(const Feature& f) const override {
        const DHash& h = static_cast<const HashFeature&>(f).hash;
        std::vector<float> v(static_cast<std::size_t>(m_hash_size * m_hash_size));
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(h.bit(static_cast<int>(i)));
        return v;
    }

    std::unique_ptr<Feature> feature_from_text(const std::string& text) const override {
        auto h = DHash::from_hex(text, m_hash_size);
        if (!h)
            throw Error("'" + text.substr(0, 80) + "' is not a " + std::to_string(m_hash_size * m_hash_size) +
                        "-bit hash");
        return std::make_unique<HashFeature>(std::move(*h));
    }

    std::unique_ptr<NeighbourIndex> make_index(double threshold, int /*threads: the pass's pool*/) const override {
        return make_hamming_index(m_hash_size * m_hash_size, static_cast<int>(threshold), [](const Feature& f) {
            return static_cast<const HashFeature&>(f).hash.words.data();
        });
    }

private:
    int m_hash_size;
    DHasher m_hasher;
};

}  // namespace

std::unique_ptr<Metric> make_hash_metric(const MetricOptions& options) {
    if (options.resize != 0) throw UsageError("--resize: only for ssim and mi (hash always resizes to 9x8)");
    if (options.hash_size < 2 || options.hash_size > 64) {
        throw UsageError("--hash-size: must be from 2 to 64 (got " + std::to_string(options.hash_size) + ")");
    }
    return std::make_unique<HashMetric>(options.hash_size);
}

}  // namespace lessmore
