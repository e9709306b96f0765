#pragma once
// Finding, among many prepared slices, the ones that may be similar to a query: what the
// cross-volume pass (include/lessmore/cross_volume.hpp) asks of a metric. An index returns
// candidates, a superset of the similar items; the caller scores them with the metric, so
// an index changes how fast a result is found, never the result.
#include <lessmore/metric.hpp>
#include <lessmore/thread_pool.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace lessmore {

class NeighbourIndex {
public:
    virtual ~NeighbourIndex() = default;
    // Appends items; item ids continue from size().
    virtual void add(const std::vector<const Feature*>& items) = 0;
    virtual std::size_t size() const = 0;
    // For each query, the ids of every item that may be similar to it (ascending; every
    // item within the threshold is in it), searched in parallel on `pool`.
    virtual std::vector<std::vector<std::uint32_t>> candidates(const std::vector<const Feature*>& queries,
                                                               ThreadPool& pool) const = 0;
};

// Every item is a candidate: the reference the indexes are tested against, and the
// index of metrics without a faster one.
class BruteForceIndex final : public NeighbourIndex {
public:
    void add(const std::vector<const Feature*>& items) override { m_size += items.size(); }
    std::size_t size() const override { return m_size; }
    std::vector<std::vector<std::uint32_t>> candidates(const std::vector<const Feature*>& queries,
                                                       ThreadPool& pool) const override;

private:
    std::size_t m_size = 0;
};

}  // namespace lessmore
