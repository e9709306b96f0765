#pragma once
// The cross-volume pass of --scope patient|dataset (docs/methods.md, section "Scope"):
// after each volume's own reduction, the kept slices of a scope's volumes are visited in
// volume order, then slice order; a kept slice similar to a slice that survived in an
// earlier volume of the scope is removed, its match the most similar such slice (ties:
// the earliest). A pure function of the features: the same for any thread count, index
// or sharding.
#include <lessmore/metric.hpp>
#include <lessmore/neighbour_index.hpp>
#include <lessmore/thread_pool.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace lessmore {

// A slice kept by its volume's own reduction: which volume of the scope (pass order), and
// its position among that volume's kept slices.
struct CrossMatch {
    std::size_t volume = 0;
    std::size_t kept = 0;
    double score = 0.0;
};

// decisions[v][k]: the match that removes the k-th kept slice of volume v, or nothing.
using CrossDecisions = std::vector<std::vector<std::optional<CrossMatch>>>;

using IndexFactory = std::function<std::unique_ptr<NeighbourIndex>()>;

// volumes[v]: the features of volume v's kept slices, in slice order; volumes in pass
// order. `make_index` builds an empty index (the metric's, or a BruteForceIndex).
CrossDecisions cross_volume_pass(const std::vector<std::vector<const Feature*>>& volumes, const Metric& metric,
                                 double threshold, const IndexFactory& make_index, ThreadPool& pool);

// A volume most of whose kept slices were removed by matches to one other volume.
struct DuplicateVolume {
    std::size_t volume = 0;
    std::size_t of = 0;
    double fraction = 0.0;  // its kept slices matched to `of`, over its kept slices
};

// Volumes with at least min_fraction of their kept slices matched to one other volume
// (the one with most matches; ties: the earliest), in volume order.
std::vector<DuplicateVolume> duplicate_volumes(const CrossDecisions& decisions, double min_fraction);

}  // namespace lessmore
