// SSIM and MI: similarities on the (optionally resized) 8-bit slices.
#include "kernels/metrics/similarity_metrics.hpp"

#include <lessmore/error.hpp>
#include <lessmore/mutual_information.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/resize_area.hpp>
#include <lessmore/ssim.hpp>

#include <cmath>
#include <string>

namespace lessmore {
namespace {

template <typename Stats>
class StatsFeature final : public Feature {
public:
    explicit StatsFeature(Stats s) : stats(std::move(s)) {}
    Stats stats;
};

// What SSIM and MI share: similarity sense, the --resize option, a threshold range.
class ResizingMetric : public Metric {
public:
    ResizingMetric(int resize, double lo, double hi) : m_resize(resize), m_lo(lo), m_hi(hi) {}

    Sense sense() const override { return Sense::HigherIsSimilar; }

    void check_threshold(double t) const override {
        if (!(t >= m_lo && t <= m_hi)) {
            throw UsageError("--threshold: for " + name() + " it must be from " + format_number(m_lo) + " to " +
                             format_number(m_hi) + " (got " + format_number(t) + ")");
        }
    }

protected:
    Image8 sized(const Image8& image) const { return m_resize > 0 ? resize_area(image, m_resize, m_resize) : image; }

private:
    int m_resize;
    double m_lo, m_hi;
};

class SsimMetric final : public ResizingMetric {
public:
    explicit SsimMetric(int resize) : ResizingMetric(resize, -1.0, 1.0) {}
    std::string name() const override { return "ssim"; }
    std::unique_ptr<Feature> prepare(const Image8& image) const override {
        return std::make_unique<StatsFeature<SsimStats>>(ssim_prepare(sized(image)));
    }
    double compare(const Feature& a, const Feature& b) const override { return ssim_compare(stats(a), stats(b)); }
    void compare_pairs(const std::vector<const Feature*>& features,
                       const std::vector<std::pair<std::size_t, std::size_t>>& pairs, double* out,
                       ThreadPool* pool) const override {
        std::vector<const SsimStats*> slices;
        slices.reserve(features.size());
        for (const Feature* f : features) slices.push_back(&stats(*f));
        ssim_compare_pairs(slices, pairs, out, pool);
    }
    bool splits_pairs() const override { return true; }

private:
    static const SsimStats& stats(const Feature& f) { return static_cast<const StatsFeature<SsimStats>&>(f).stats; }
};

class MiMetric final : public ResizingMetric {
public:
    MiMetric(int resize, int bins) : ResizingMetric(resize, 1.0, 2.0), m_bins(bins) {}
    std::string name() const override { return "mi"; }
    std::unique_ptr<Feature> prepare(const Image8& image) const override {
        return std::make_unique<StatsFeature<MiStats>>(mi_prepare(sized(image), m_bins));
    }
    double compare(const Feature& a, const Feature& b) const override { return mi_compare(stats(a), stats(b)); }
    void compare_pairs(const std::vector<const Feature*>& features,
                       const std::vector<std::pair<std::size_t, std::size_t>>& pairs, double* out,
                       ThreadPool* pool) const override {
        if (pool == nullptr || pairs.size() != 1) return Metric::compare_pairs(features, pairs, out, pool);
        out[0] = mi_compare(stats(*features.at(pairs[0].first)), stats(*features.at(pairs[0].second)), pool);
    }
    bool splits_pairs() const override { return true; }

private:
    static const MiStats& stats(const Feature& f) { return static_cast<const StatsFeature<MiStats>&>(f).stats; }
    int m_bins;
};

void check_resize(const MetricOptions& o, int minimum) {
    if (o.resize != 0 && (o.resize < minimum || o.resize > 65536)) {
        throw UsageError("--resize: must be at least " + std::to_string(minimum) + " for " + o.method + " (got " +
                         std::to_string(o.resize) + ")");
    }
}

}  // namespace

std::unique_ptr<Metric> make_ssim_metric(const MetricOptions& options) {
    check_resize(options, 11);
    return std::make_unique<SsimMetric>(options.resize);
}

std::unique_ptr<Metric> make_mi_metric(const MetricOptions& options) {
    check_resize(options, 2);
    if (options.bins < 2 || options.bins > 4096) {
        throw UsageError("--bins: must be from 2 to 4096 (got " + std::to_string(options.bins) + ")");
    }
    return std::make_unique<MiMetric>(options.resize, options.bins);
}

}  // namespace lessmore
