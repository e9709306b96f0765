#pragma once
// Pruning strategies: pure functions from scores to a keep/remove decision
// (docs/methods.md, section "Pruning strategies").
#include <lessmore/metric.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

namespace lessmore {

// A dense symmetric n x n matrix of pairwise scores (diagonal unused by pruning).
struct ScoreMatrix {
    std::size_t n = 0;
    std::vector<double> values;  // row-major

    explicit ScoreMatrix(std::size_t size = 0) : n(size), values(size * size, 0.0) {}
    double at(std::size_t i, std::size_t j) const { return values[i * n + j]; }
    void set(std::size_t i, std::size_t j, double v) {
        values[i * n + j] = v;
        values[j * n + i] = v;
    }
};

// "Similar iff" of every metric: score >= threshold, or <= for a distance; NaN never.
bool is_similar(Sense sense, double score, double threshold);
// Strict "a is more similar than b"; NaN ranks below every number.
bool more_similar(Sense sense, double a, double b);

struct PruneResult {
    std::vector<bool> kept;
    std::vector<std::optional<std::size_t>> match;  // kept slice a removed slice stands for
    std::vector<std::optional<double>> score;       // the score of that match
    std::size_t pairs_computed = 0;                 // pairs the strategy compared (scored pairs for pairs)

    explicit PruneResult(std::size_t n = 0) : kept(n, true), match(n), score(n) {}
    std::size_t kept_count() const;
};

// Keeps slices 0, every, 2*every, ...; a removed slice matches the kept slice before it.
PruneResult prune_every_n(std::size_t n, std::size_t every);

// Leader (the authors' released loop): walk slices in order, keep a slice unless it is
// similar to a slice already kept. Kept slices are tried from the most recent back, in
// blocks of `block`; a removed slice's match is the most recent similar kept slice.
// `scores(i, candidates, out)` must fill out[k] with the score of slice i against
// candidates[k]; a block may be scored in parallel.
using ScoresAgainst =
    std::function<void(std::size_t i, const std::vector<std::size_t>& candidates, std::vector<double>& out)>;
struct LeaderOptions {
    std::size_t block = 1;                  // candidates scored per call (fixed: results never depend on threads)
    std::optional<std::size_t> neighbours;  // only kept slices at most this far back in slice order
    // Called once per slice, in order, when its fate is known (a removed slice is never
    // compared again, so its per-slice data can be freed).
    std::function<void(std::size_t i, bool kept)> decided;
};
PruneResult prune_leader(std::size_t n, const ScoresAgainst& scores, Sense sense, double threshold,
                         const LeaderOptions& options = {});

// Pairs (the paper's text): visit pairs from most to least similar (ties: lower first
// index, then lower second index), skip pairs with a removed slice, stop at the first
// pair that is not similar (threshold) or once max(1, ceil(fraction * n)) slices remain
// (fraction); otherwise remove the slice of the pair whose mean score to the other kept
// slices is more similar (ties: the later slice). A removed slice's match is its most
// similar kept slice (ties: lower index). NaN entries are pairs without a score
// (not compared, or undefined): never visited, left out of the means.
struct PairsTarget {
    std::optional<double> threshold;
    std::optional<double> fraction;
};
PruneResult prune_pairs(const ScoreMatrix& scores, Sense sense, const PairsTarget& target);

// max(1, ceil(fraction * n)), computed so that e.g. 0.1 * 30 is 3, not 4.
std::size_t target_count(std::size_t n, double fraction);

}  // namespace lessmore
