#include "pipeline/features.hpp"

#include <limits>
#include <mutex>
#include <numeric>

namespace lessmore {

SlicePreparer::SlicePreparer(const Metric& metric, const IntensityMapping& intensity)
    : m_metric(metric), m_intensity(intensity) {}

std::unique_ptr<Feature> SlicePreparer::prepare(const SliceView& slice) {
    if (m_metric.takes_values()) return std::move(m_metric.prepare_values({slice}).at(0));
    std::unique_ptr<Image8> image;
    {
        const std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_free.empty()) {
            image = std::move(m_free.back());
            m_free.pop_back();
        }
    }
    if (!image) image = std::make_unique<Image8>();
    to_8bit(slice, m_intensity, *image);
    std::unique_ptr<Feature> feature = m_metric.prepare(*image);
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_free.push_back(std::move(image));
    return feature;
}

std::vector<std::unique_ptr<Feature>> prepare_features(const SliceAt& slice, std::size_t count, const Metric& metric,
                                                       const IntensityMapping& intensity, ThreadPool& pool,
                                                       ProgressSink& progress, const CancelToken& cancel) {
    std::vector<std::unique_ptr<Feature>> features(count);
    // Batches start at fixed offsets, so which slices share a forward pass never depends
    // on the thread count.
    const std::size_t batch = std::max<std::size_t>(1, metric.batch_size());
    const std::size_t batches = (count + batch - 1) / batch;
    SlicePreparer one(metric, intensity);
    pool.parallel_for(batches, [&](std::size_t b) {
        cancel.check();
        const std::size_t begin = b * batch, end = std::min(count, begin + batch);
        if (batch == 1) {
            features[begin] = one.prepare(slice(begin));
        } else if (metric.takes_values()) {
            // A model that takes the slices' values (HU) sees them, not the 8-bit image.
            std::vector<SliceView> views;
            for (std::size_t i = begin; i < end; ++i) views.push_back(slice(i));
            auto prepared = metric.prepare_values(views);
            for (std::size_t i = begin; i < end; ++i) features[i] = std::move(prepared[i - begin]);
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
    // Tiles of k_tile x k_tile slices of the upper triangle, one compare_pairs() call each:
    // a metric that shares work between pairs (SSIM) then reads each slice's data once per
    // tile rather than once per pair. Every pair's score is the same in any tile.
    constexpr std::size_t k_tile = 4;
    const std::size_t tiles = (n + k_tile - 1) / k_tile;
    std::vector<std::pair<std::size_t, std::size_t>> tile_list;
    for (std::size_t ti = 0; ti < tiles; ++ti) {
        for (std::size_t tj = ti; tj < tiles; ++tj) {
            // The closest pair of the tile is (last row, first column).
            const std::size_t i_last = std::min(n, ti * k_tile + k_tile) - 1, j_first = tj * k_tile;
            if (j_first <= i_last || j_first - i_last <= reach) tile_list.emplace_back(ti, tj);
        }
    }
    pool.parallel_for(tile_list.size(), [&](std::size_t k) {
        cancel.check();
        const auto [ti, tj] = tile_list[k];
        std::vector<std::size_t> index;  // local slice -> slice: the tile's rows, then its other columns
        for (std::size_t i = ti * k_tile; i < std::min(n, ti * k_tile + k_tile); ++i) index.push_back(i);
        if (tj != ti)
            for (std::size_t j = tj * k_tile; j < std::min(n, tj * k_tile + k_tile); ++j) index.push_back(j);
        std::vector<const Feature*> local;
        for (std::size_t i : index) local.push_back(features[i].get());
        const std::size_t rows = std::min(n, ti * k_tile + k_tile) - ti * k_tile;
        std::vector<std::pair<std::size_t, std::size_t>> pairs;
        for (std::size_t a = 0; a < rows; ++a) {
            for (std::size_t b = ti == tj ? a : rows; b < local.size(); ++b) {
                const std::size_t i = index[a], j = index[b];
                if ((j > i || (j == i && diagonal)) && j - i <= reach) pairs.emplace_back(a, b);
            }
        }
        std::vector<double> out(pairs.size());
        metric.compare_pairs(local, pairs, out.data());
        for (std::size_t p = 0; p < pairs.size(); ++p) m.set(index[pairs[p].first], index[pairs[p].second], out[p]);
    });
    return m;
}

}  // namespace lessmore
