#include "pipeline/features.hpp"

#include <limits>
#include <numeric>

namespace lessmore {

std::vector<std::unique_ptr<Feature>> prepare_features(const SliceAt& slice, std::size_t count, const Metric& metric,
                                                       const IntensityMapping& intensity, ThreadPool& pool,
                                                       ProgressSink& progress, const CancelToken& cancel) {
    std::vector<std::unique_ptr<Feature>> features(count);
    // Batches start at fixed offsets, so which slices share a forward pass never depends
    // on the thread count.
    const std::size_t batch = std::max<std::size_t>(1, metric.batch_size());
    const std::size_t batches = (count + batch - 1) / batch;
    pool.parallel_for(batches, [&](std::size_t b) {
        cancel.check();
        const std::size_t begin = b * batch, end = std::min(count, begin + batch);
        if (metric.takes_values()) {
            // A model that takes the slices' values (HU) sees them, not the 8-bit image.
            std::vector<SliceView> views;
            for (std::size_t i = begin; i < end; ++i) views.push_back(slice(i));
            auto prepared = metric.prepare_values(views);
            for (std::size_t i = begin; i < end; ++i) features[i] = std::move(prepared[i - begin]);
        } else if (batch == 1) {
            Image8 image;
            to_8bit(slice(begin), intensity, image);
            features[begin] = metric.prepare(image);
        } else {
            std::vector<Image8> images(end - begin);
            std::vector<const Image8*> pointers;
            for (std::size_t i = begin; i < end; ++i) {
                to_8bit(slice(i), intensity, images[i - begin]);
                pointers.push_back(&images[i - begin]);
            }
            auto prepared = metric.prepare_batch(pointers);
            for (std::size_t i = begin; i < end; ++i) features[i] = std::move(prepared[i - begin]);
        }
        progress.slices_done(end - begin);
    });
    return features;
}

std::vector<std::unique_ptr<Feature>> take_features(std::vector<std::unique_ptr<Feature>>& all, std::size_t first,
                                                    std::size_t count, ProgressSink& progress) {
    std::vector<std::unique_ptr<Feature>> part(count);
    for (std::size_t k = 0; k < count; ++k) part[k] = std::move(all.at(first + k));
    progress.slices_done(count);
    return part;
}

std::vector<std::unique_ptr<Feature>> prepare_features(const Volume& volume, const std::vector<std::size_t>& slices,
                                                       const Metric& metric, const IntensityMapping& intensity,
                                                       ThreadPool& pool, ProgressSink& progress,
                                                       const CancelToken& cancel) {
    auto all = metric.precomputed(volume.info().id, volume.slice_count());
    if (!all.empty()) {  // --features: read, not prepared
        std::vector<std::unique_ptr<Feature>> picked;
        for (std::size_t i : slices) picked.push_back(std::move(all.at(i)));
        progress.slices_done(slices.size());
        return picked;
    }
    return prepare_features([&](std::size_t i) { return volume.slice(slices[i]); }, slices.size(), metric, intensity,
                            pool, progress, cancel);
}

std::vector<std::unique_ptr<Feature>> prepare_features(const Volume& volume, std::size_t first, std::size_t count,
                                                       const Metric& metric, const IntensityMapping& intensity,
                                                       ThreadPool& pool, ProgressSink& progress,
                                                       const CancelToken& cancel) {
    std::vector<std::size_t> slices(count);
    std::iota(slices.begin(), slices.end(), first);
    return prepare_features(volume, slices, metric, intensity, pool, progress, cancel);
}

ScoreMatrix score_matrix(const std::vector<std::unique_ptr<Feature>>& features, const Metric& metric, ThreadPool& pool,
                         const CancelToken& cancel, std::size_t reach, bool diagonal) {
    const std::size_t n = features.size();
    ScoreMatrix m(n);
    if (reach + 1 >= n) {
        std::vector<const Feature*> all;
        for (const auto& f : features) all.push_back(f.get());
        if (metric.pairwise(all, m)) {
            if (!diagonal)
                for (std::size_t i = 0; i < n; ++i) m.values[i * n + i] = std::numeric_limits<double>::quiet_NaN();
            return m;
        }
    }
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
