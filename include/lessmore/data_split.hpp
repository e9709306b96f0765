#pragma once
// The pure parts of `lessmore split` (docs/split.md): which
// units (patients, studies, series or volumes) similar slices tie into one group, and how
// the groups are dealt to training, validation and test. Pure functions of their
// arguments: the same for any thread count or index.
#include <lessmore/cross_volume.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/thread_pool.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace lessmore {

// A slice as the grouping sees it: the unit it belongs to (an index into the caller's
// units) and its prepared feature.
struct SplitItem {
    std::size_t unit = 0;
    const Feature* feature = nullptr;
};

// Calls visit(i, j) for every pair i < j of items of different units whose features are
// similar at `threshold` (the metric's similar-iff rule), in ascending (i, j) order. The
// index from `make_index` (holding every item) only proposes candidates; each is scored
// with the metric, so the pairs are exactly those comparing every pair would find.
void similar_pairs(const std::vector<SplitItem>& items, const Metric& metric, double threshold,
                   const IndexFactory& make_index, ThreadPool& pool,
                   const std::function<void(std::size_t, std::size_t)>& visit);

// The groups of `units` units that similar items tie together, transitively (the
// connected components of the graph whose edges are similar_pairs): group[u] for each
// unit, groups numbered 0, 1, ... in the order of their first unit.
std::vector<std::size_t> link_units(std::size_t units, const std::vector<SplitItem>& items, const Metric& metric,
                                    double threshold, const IndexFactory& make_index, ThreadPool& pool);

// Deals groups of the given sizes (slices) to splits with the given fractions (each > 0,
// summing to 1; Error otherwise) and returns each group's split (an index into
// `fractions`). The groups are taken largest first, by size class (sizes within a factor
// of two: floor(log2(size)); empty groups last), in a random order within a class drawn
// from `seed`; each goes to the split furthest below its target (fraction x all slices;
// ties: the earlier split). Deterministic for a seed, on any platform.
std::vector<std::size_t> assign_splits(const std::vector<std::size_t>& sizes, const std::vector<double>& fractions,
                                       std::uint64_t seed);

}  // namespace lessmore
