#include "core/features.hpp"

#include <limits>

namespace lessmore {

std::vector<std::unique_ptr<Feature>> prepare_features(const Volume& volume, std::size_t first, std::size_t count,
                                                       const Metric& metric, const IntensityMapping& intensity,
                                                       ThreadPool& pool, ProgressSink& progress,
                                                       const CancelToken& cancel) {
    std::vector<std::unique_ptr<Feature>> features(count);
    pool.parallel_for(count, [&](std::size_t i) {
        cancel.check();
        Image8 image;
        to_8bit(volume.slice(first + i), intensity, image);
        features[i] = metric.prepare(image);
        progress.slices_done(1);
    });
    return features;
}

ScoreMatrix score_matrix(const std::vector<std::unique_ptr<Feature>>& features, const Metric& metric,
                         ThreadPool& pool, const CancelToken& cancel, std::size_t reach, bool diagonal) {
    const std::size_t n = features.size();
    ScoreMatrix m(n);
    std::fill(m.values.begin(), m.values.end(), std::numeric_limits<double>::quiet_NaN());
    // Rows have different lengths; interleaving them evens out the threads' work.
    pool.parallel_for(n, [&](std::size_t k) {
        cancel.check();
        const std::size_t i = k % 2 == 0 ? k / 2 : n - 1 - k / 2;
        for (std::size_t j = diagonal ? i : i + 1; j < n && j - i <= reach; ++j) {
            m.set(i, j, metric.compare(*features[i], *features[j]));
        }
    });
    return m;
}

}  // namespace lessmore
