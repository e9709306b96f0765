#include <lessmore/data_split.hpp>
#include <lessmore/error.hpp>
#include <lessmore/pruning.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace lessmore {
namespace {

// Items per call to the index: bounds the candidate lists held at once (a dataset's
// near-blank slices can each have thousands), whatever the dataset's size.
constexpr std::size_t k_block = 4096;

// Union-find over units, path halving; the smaller root wins so groups do not depend on
// the order pairs come in.
class Components {
public:
    explicit Components(std::size_t n) : m_parent(n) { std::iota(m_parent.begin(), m_parent.end(), 0); }
    std::size_t find(std::size_t x) {
        while (m_parent[x] != x) {
            m_parent[x] = m_parent[m_parent[x]];
            x = m_parent[x];
        }
        return x;
    }
    void join(std::size_t a, std::size_t b) {
        a = find(a);
        b = find(b);
        if (a != b) m_parent[std::max(a, b)] = std::min(a, b);
    }

private:
    std::vector<std::size_t> m_parent;
};

// floor(log2(size)) + 1, 0 for an empty group: groups within a factor of two share a class.
int size_class(std::size_t size) {
    int c = 0;
    while (size > 0) {
        ++c;
        size >>= 1;
    }
    return c;
}

}  // namespace

void similar_pairs(const std::vector<SplitItem>& items, const Metric& metric, double threshold,
                   const IndexFactory& make_index, ThreadPool& pool,
                   const std::function<void(std::size_t, std::size_t)>& visit) {
    if (items.size() < 2) return;
    std::vector<const Feature*> features;
    features.reserve(items.size());
    for (const SplitItem& it : items) features.push_back(it.feature);
    const std::unique_ptr<NeighbourIndex> index = make_index();
    index->add(features);
    const Sense sense = metric.sense();
    for (std::size_t first = 0; first < items.size(); first += k_block) {
        const std::size_t end = std::min(items.size(), first + k_block);
        const std::vector<const Feature*> queries(features.begin() + static_cast<std::ptrdiff_t>(first),
                                                  features.begin() + static_cast<std::ptrdiff_t>(end));
        const auto candidates = index->candidates(queries, pool);
        std::vector<std::vector<std::size_t>> similar(queries.size());
        pool.parallel_for(queries.size(), [&](std::size_t q) {
            const std::size_t i = first + q;
            for (const std::uint32_t j : candidates[q]) {
                if (j <= i || items[j].unit == items[i].unit) continue;
                if (is_similar(sense, metric.compare(*features[i], *features[j]), threshold)) similar[q].push_back(j);
            }
        });
        for (std::size_t q = 0; q < queries.size(); ++q)
            for (const std::size_t j : similar[q]) visit(first + q, j);
    }
}

std::vector<std::size_t> link_units(std::size_t units, const std::vector<SplitItem>& items, const Metric& metric,
                                    double threshold, const IndexFactory& make_index, ThreadPool& pool) {
    Components components(units);
    similar_pairs(items, metric, threshold, make_index, pool,
                  [&](std::size_t i, std::size_t j) { components.join(items[i].unit, items[j].unit); });
    // Roots are each component's smallest unit, so numbering by first unit is numbering
    // the roots in order.
    std::vector<std::size_t> group(units), number(units, units);
    std::size_t next = 0;
    for (std::size_t u = 0; u < units; ++u) {
        const std::size_t root = components.find(u);
        if (number[root] == units) number[root] = next++;
        group[u] = number[root];
    }
    return group;
}

std::vector<std::size_t> assign_splits(const std::vector<std::size_t>& sizes, const std::vector<double>& fractions,
                                       std::uint64_t seed) {
    double sum = 0.0;
    for (const double f : fractions) {
        if (!(f > 0.0) || !std::isfinite(f)) throw Error("assign_splits: fractions must be positive");
        sum += f;
    }
    if (fractions.empty() || std::fabs(sum - 1.0) > 1e-6) throw Error("assign_splits: fractions must sum to 1");
    // The order: a seeded Fisher-Yates shuffle, then a stable sort by size class. Written
    // out rather than std::shuffle: the standard fixes mt19937_64's sequence but not how
    // std::shuffle or uniform_int_distribution use it, so only this is the same on every
    // standard library. (The modulo's bias is below 2^-40 for fewer than 2^24 groups.)
    std::vector<std::size_t> order(sizes.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 random(seed);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[random() % i]);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return size_class(sizes[a]) > size_class(sizes[b]); });
    // Greedy: each group to the split with the largest deficit (target - assigned). While
    // groups remain, some deficit is positive, so a split past its target gets no more:
    // no split passes its target by more than the last group it received.
    const double total = static_cast<double>(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}));
    std::vector<double> deficit(fractions.size());
    for (std::size_t k = 0; k < fractions.size(); ++k) deficit[k] = fractions[k] * total;
    std::vector<std::size_t> split(sizes.size(), 0);
    for (const std::size_t g : order) {
        const auto best = static_cast<std::size_t>(std::max_element(deficit.begin(), deficit.end()) - deficit.begin());
        split[g] = best;
        deficit[best] -= static_cast<double>(sizes[g]);
    }
    return split;
}

}  // namespace lessmore
