#pragma once
// Per-slice preparation shared by reduce, score and sweep.
#include <lessmore/cancel.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/volume.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace lessmore {

// Slices [0, count) of something that holds them (a volume, a slab of a stream).
using SliceAt = std::function<SliceView(std::size_t)>;

// Prepares one slice at a time, from any thread, for a metric that prepares slices one by
// one (batch size 1): each thread's 8-bit image is reused from slice to slice (allocated,
// and zeroed, once per preparer: a 512x512 slice is 256 KB). A slice's feature is the same
// as in prepare_features.
class SlicePreparer {
public:
    SlicePreparer(const Metric& metric, const IntensityMapping& intensity);
    // Whether the metric prepares slices one by one (else only prepare_features' batches).
    static bool serves(const Metric& metric) { return metric.batch_size() <= 1; }
    std::unique_ptr<Feature> prepare(const SliceView& slice);

private:
    const Metric& m_metric;
    const IntensityMapping& m_intensity;
    std::mutex m_mutex;
    std::vector<std::unique_ptr<Image8>> m_free;  // 8-bit images not in use
};

// Maps slices [0, count) to 8 bits and prepares each once, in parallel, in batches that
// start at fixed offsets (so which slices share a forward pass never depends on threads).
std::vector<std::unique_ptr<Feature>> prepare_features(const SliceAt& slice, std::size_t count, const Metric& metric,
                                                       const IntensityMapping& intensity, ThreadPool& pool,
                                                       ProgressSink& progress, const CancelToken& cancel);

// Features [first, first + count) moved out of `all` (the metric's precomputed ones, from
// --features), counted as done.
std::vector<std::unique_ptr<Feature>> take_features(std::vector<std::unique_ptr<Feature>>& all, std::size_t first,
                                                    std::size_t count, ProgressSink& progress);

// Maps the given slices to 8 bits and prepares each once, in parallel (one feature per
// entry of `slices`, in that order) — or, when the metric has the volume's features
// already (Metric::precomputed: --features), picks them.
std::vector<std::unique_ptr<Feature>> prepare_features(const Volume& volume, const std::vector<std::size_t>& slices,
                                                       const Metric& metric, const IntensityMapping& intensity,
                                                       ThreadPool& pool, ProgressSink& progress,
                                                       const CancelToken& cancel);
// The same for slices [first, first + count).
std::vector<std::unique_ptr<Feature>> prepare_features(const Volume& volume, std::size_t first, std::size_t count,
                                                       const Metric& metric, const IntensityMapping& intensity,
                                                       ThreadPool& pool, ProgressSink& progress,
                                                       const CancelToken& cancel);

// All pairwise scores (diagonal included) of the features, rows in parallel. With
// `reach`, only pairs at most that far apart are scored; the rest stay NaN.
ScoreMatrix score_matrix(const std::vector<std::unique_ptr<Feature>>& features, const Metric& metric, ThreadPool& pool,
                         const CancelToken& cancel, std::size_t reach, bool diagonal);

}  // namespace lessmore
