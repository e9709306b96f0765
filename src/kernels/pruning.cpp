#include <lessmore/pruning.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace lessmore {

bool is_similar(Sense sense, double score, double threshold) {
    // NaN is never similar.
    return sense == Sense::HigherIsSimilar ? score >= threshold : score <= threshold;
}

bool more_similar(Sense sense, double a, double b) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return sense == Sense::HigherIsSimilar ? a > b : a < b;
}

std::size_t PruneResult::kept_count() const {
    return static_cast<std::size_t>(std::count(kept.begin(), kept.end(), true));
}

std::size_t target_count(std::size_t n, double fraction) {
    const double x = fraction * static_cast<double>(n);
    const double r = std::round(x);
    // 0.1 * 30 is 3.0000000000000004 in binary; that is 3 slices, not 4.
    const double k = std::fabs(x - r) <= 1e-9 * std::max(1.0, x) ? r : std::ceil(x);
    return std::max<std::size_t>(1, static_cast<std::size_t>(k));
}

PruneResult prune_every_n(std::size_t n, std::size_t every) {
    if (every == 0) throw std::invalid_argument("prune_every_n: every must be at least 1");
    PruneResult r(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (i % every != 0) {
            r.kept[i] = false;
            r.match[i] = i - i % every;
        }
    }
    return r;
}

PruneResult prune_leader(std::size_t n, const ScoresAgainst& scores, Sense sense, double threshold,
                         const LeaderOptions& options) {
    PruneResult r(n);
    std::vector<std::size_t> kept;
    std::vector<std::size_t> block;
    std::vector<double> out;
    const std::size_t block_size = std::max<std::size_t>(1, options.block);
    for (std::size_t i = 0; i < n; ++i) {
        // Most recently kept first: a neighbour is the likeliest match, and the first
        // similar one found is the match.
        std::size_t pos = kept.size();
        bool removed = false;
        while (pos > 0 && !removed) {
            block.clear();
            while (pos > 0 && block.size() < block_size) {
                const std::size_t j = kept[pos - 1];
                if (options.neighbours && i - j > *options.neighbours) {
                    pos = 0;  // kept is ascending: every earlier one is further away
                    break;
                }
                block.push_back(j);
                --pos;
            }
            if (block.empty()) break;
            out.assign(block.size(), 0.0);
            scores(i, block, out);
            // Counted as the walk compares (up to the first similar slice), whatever the
            // block size, so the count is the same for any thread count.
            for (std::size_t k = 0; k < block.size(); ++k) {
                ++r.pairs_computed;
                if (is_similar(sense, out[k], threshold)) {
                    r.kept[i] = false;
                    r.match[i] = block[k];
                    r.score[i] = out[k];
                    removed = true;
                    break;
                }
            }
        }
        if (!removed) kept.push_back(i);
        if (options.decided) options.decided(i, !removed);
    }
    return r;
}

PruneResult prune_pairs(const ScoreMatrix& m, Sense sense, const PairsTarget& target) {
    if (target.threshold.has_value() == target.fraction.has_value()) {
        throw std::invalid_argument("prune_pairs: give exactly one of threshold and fraction");
    }
    const std::size_t n = m.n;
    PruneResult r(n);
    if (n <= 1) return r;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j) r.pairs_computed += std::isnan(m.at(i, j)) ? 0 : 1;
    const std::size_t goal = target.fraction ? target_count(n, *target.fraction) : 0;

    struct Pair {
        double score;
        std::uint32_t i, j;
    };
    // NaN marks a pair that was not scored (--neighbours) or has no score (NMI of two
    // constant slices): it is never visited and never counted in a mean.
    std::vector<Pair> pairs;
    pairs.reserve(n * (n - 1) / 2);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j)
            if (!std::isnan(m.at(i, j)))
                pairs.push_back({m.at(i, j), static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j)});
    std::sort(pairs.begin(), pairs.end(), [sense](const Pair& a, const Pair& b) {
        if (more_similar(sense, a.score, b.score)) return true;
        if (more_similar(sense, b.score, a.score)) return false;
        return a.i != b.i ? a.i < b.i : a.j < b.j;
    });

    std::size_t remaining = n;
    // Scores to the other kept slices, summed in index order so the result is the same
    // on every run. With equal counts (always, unless scores are missing) the sums are
    // compared, which compares the means without a rounding division.
    struct Mean {
        double sum = 0.0;
        std::size_t count = 0;
    };
    auto mean_to_kept = [&](std::size_t s) {
        Mean mean;
        for (std::size_t k = 0; k < n; ++k) {
            if (k == s || !r.kept[k] || std::isnan(m.at(s, k))) continue;
            mean.sum += m.at(s, k);
            ++mean.count;
        }
        return mean;
    };
    auto more_similar_mean = [&](const Mean& a, const Mean& b) {
        if (a.count == b.count) return more_similar(sense, a.sum, b.sum);
        return more_similar(sense, a.sum / static_cast<double>(a.count), b.sum / static_cast<double>(b.count));
    };
    for (const Pair& p : pairs) {
        if (target.fraction && remaining <= goal) break;
        if (!r.kept[p.i] || !r.kept[p.j]) continue;
        if (target.threshold && !is_similar(sense, p.score, *target.threshold)) break;
        const Mean si = mean_to_kept(p.i);
        const Mean sj = mean_to_kept(p.j);
        const std::size_t drop = more_similar_mean(si, sj) ? p.i : p.j;  // ties: the later slice
        r.kept[drop] = false;
        --remaining;
    }
    // A removed slice stands for its most similar kept slice (ties: lower index).
    for (std::size_t i = 0; i < n; ++i) {
        if (r.kept[i]) continue;
        std::optional<std::size_t> best;
        for (std::size_t k = 0; k < n; ++k) {
            if (!r.kept[k] || std::isnan(m.at(i, k))) continue;
            if (!best || more_similar(sense, m.at(i, k), m.at(i, *best))) best = k;
        }
        r.match[i] = best;
        if (best) r.score[i] = m.at(i, *best);
    }
    return r;
}

}  // namespace lessmore
