#include <lessmore/cross_volume.hpp>
#include <lessmore/pruning.hpp>

#include <map>

namespace lessmore {
namespace {

// Slices per block: the block's queries go to the index in one call (one matrix product
// for DeepNet) and are compared among themselves through an index of their own. Any size
// gives the same result; this one keeps a block's candidate lists small.
constexpr std::size_t k_block = 1024;

struct Item {
    std::size_t volume = 0;
    std::size_t kept = 0;
};

struct Similar {
    std::uint32_t id = 0;   // index id, or position in the block
    bool in_block = false;  // a slice of the same block (an earlier volume of it)
    double score = 0.0;
};

}  // namespace

CrossDecisions cross_volume_pass(const std::vector<std::vector<const Feature*>>& volumes, const Metric& metric,
                                 double threshold, const IndexFactory& make_index, ThreadPool& pool) {
    CrossDecisions out(volumes.size());
    for (std::size_t v = 0; v < volumes.size(); ++v) out[v].resize(volumes[v].size());
    const Sense sense = metric.sense();
    std::unique_ptr<NeighbourIndex> index = make_index();
    std::vector<Item> indexed;  // index id -> slice
    std::vector<const Feature*> indexed_features;
    std::size_t v0 = 0;
    while (v0 < volumes.size()) {
        // A block: whole volumes, as many as fit k_block slices (at least one).
        std::size_t v1 = v0, n = 0;
        while (v1 < volumes.size() && (v1 == v0 || n + volumes[v1].size() <= k_block)) n += volumes[v1++].size();
        std::vector<const Feature*> queries;
        std::vector<Item> items;
        for (std::size_t v = v0; v < v1; ++v)
            for (std::size_t k = 0; k < volumes[v].size(); ++k) {
                queries.push_back(volumes[v][k]);
                items.push_back({v, k});
            }
        v0 = v1;
        if (queries.empty()) continue;
        std::vector<std::vector<std::uint32_t>> from_index(queries.size()), from_block(queries.size());
        if (index->size() > 0) from_index = index->candidates(queries, pool);
        if (items.back().volume != items.front().volume) {
            std::unique_ptr<NeighbourIndex> local = make_index();
            local->add(queries);
            from_block = local->candidates(queries, pool);
        }
        // The similar candidates of each slice, scored by the metric itself (in parallel).
        std::vector<std::vector<Similar>> similar(queries.size());
        pool.parallel_for(queries.size(), [&](std::size_t i) {
            for (std::uint32_t id : from_index[i]) {
                const double s = metric.compare(*queries[i], *indexed_features[id]);
                if (is_similar(sense, s, threshold)) similar[i].push_back({id, false, s});
            }
            for (std::uint32_t j : from_block[i]) {
                if (items[j].volume >= items[i].volume) continue;
                const double s = metric.compare(*queries[i], *queries[j]);
                if (is_similar(sense, s, threshold)) similar[i].push_back({j, true, s});
            }
        });
        // In pass order: removed by the most similar surviving slice of an earlier volume.
        // Candidates come earliest first (index ids, then the block), so a tie keeps the
        // earliest.
        std::vector<char> survives(queries.size(), 0);
        std::vector<const Feature*> added;
        for (std::size_t i = 0; i < queries.size(); ++i) {
            const Similar* best = nullptr;
            for (const Similar& s : similar[i]) {
                if (s.in_block && !survives[s.id]) continue;
                if (!best || more_similar(sense, s.score, best->score)) best = &s;
            }
            if (best) {
                const Item& m = best->in_block ? items[best->id] : indexed[best->id];
                out[items[i].volume][items[i].kept] = CrossMatch{m.volume, m.kept, best->score};
            } else {
                survives[i] = 1;
                added.push_back(queries[i]);
                indexed.push_back(items[i]);
                indexed_features.push_back(queries[i]);
            }
        }
        index->add(added);
    }
    return out;
}

std::vector<DuplicateVolume> duplicate_volumes(const CrossDecisions& decisions, double min_fraction) {
    std::vector<DuplicateVolume> out;
    for (std::size_t v = 0; v < decisions.size(); ++v) {
        if (decisions[v].empty()) continue;
        std::map<std::size_t, std::size_t> by_volume;
        for (const auto& d : decisions[v])
            if (d) ++by_volume[d->volume];
        std::size_t of = 0, most = 0;
        for (const auto& [other, count] : by_volume)
            if (count > most) {
                of = other;
                most = count;
            }
        const double fraction = static_cast<double>(most) / static_cast<double>(decisions[v].size());
        if (most > 0 && fraction >= min_fraction) out.push_back({v, of, fraction});
    }
    return out;
}

}  // namespace lessmore
