// The metric registry: a fixed table of names and factories (no global state).
#include <lessmore/error.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/neighbour_index.hpp>

#include "kernels/metrics/deepnet_metric.hpp"
#include "kernels/metrics/hash_metric.hpp"
#include "kernels/metrics/similarity_metrics.hpp"

#include <stdexcept>

namespace lessmore {
namespace {

struct Entry {
    const char* name;
    std::unique_ptr<Metric> (*make)(const MetricOptions&);
};

constexpr Entry k_metrics[] = {
    // difference hash (imagehash dhash on Pillow), Hamming distance; similar iff distance <= threshold
    {"hash", &make_hash_metric},
    // mean SSIM (11x11 Gaussian window, sigma 1.5), as scikit-image; similar iff SSIM >= threshold
    {"ssim", &make_ssim_metric},
    // normalized mutual information (H(X) + H(Y)) / H(X, Y), as scikit-image; similar iff NMI >= threshold
    {"mi", &make_mi_metric},
    // cosine similarity of CNN embeddings (bundled MobileNet v1, or --model); similar iff cosine >= threshold
    {"deepnet", &make_deepnet_metric},
};

}  // namespace

std::vector<std::unique_ptr<Feature>> Metric::prepare_batch(const std::vector<const Image8*>& images) const {
    std::vector<std::unique_ptr<Feature>> out;
    out.reserve(images.size());
    for (const Image8* image : images) out.push_back(prepare(*image));
    return out;
}

std::vector<std::unique_ptr<Feature>> Metric::prepare_values(const std::vector<SliceView>&) const {
    throw std::logic_error(name() + " prepares 8-bit images, not values");
}

std::vector<std::unique_ptr<Feature>> Metric::prepare_units(const std::vector<UnitCrop>&,
                                                            const IntensityMapping&) const {
    throw std::logic_error(name() + " has no 3-D model to prepare units with");
}

std::unique_ptr<Feature> Metric::feature_from_values(std::vector<float>) const {
    throw Error(name() + " cannot take features computed elsewhere (--features is for deepnet)");
}

void Metric::compare_pairs(const std::vector<const Feature*>& features,
                           const std::vector<std::pair<std::size_t, std::size_t>>& pairs, double* out,
                           ThreadPool* pool) const {
    auto one = [&](std::size_t p) { out[p] = compare(*features.at(pairs[p].first), *features.at(pairs[p].second)); };
    if (pool != nullptr && pairs.size() > 1) {
        pool->parallel_for(pairs.size(), one);
    } else {
        for (std::size_t p = 0; p < pairs.size(); ++p) one(p);
    }
}

std::unique_ptr<Feature> Metric::feature_from_text(const std::string&) const {
    throw Error(name() + " keeps no per-slice features in its records");
}

std::unique_ptr<NeighbourIndex> Metric::make_index(double, int) const { return nullptr; }

std::unique_ptr<Metric> make_metric(const MetricOptions& options) {
    for (const Entry& e : k_metrics) {
        if (options.method == e.name) return e.make(options);
    }
    std::string names;
    for (const Entry& e : k_metrics) names += std::string(names.empty() ? "" : ", ") + e.name;
    throw UsageError("--method: unknown metric '" + options.method + "' (choose from everyn, " + names + ")");
}

}  // namespace lessmore
