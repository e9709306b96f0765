#include <lessmore/neighbour_index.hpp>

#include <numeric>

namespace lessmore {

std::vector<std::vector<std::uint32_t>> BruteForceIndex::candidates(const std::vector<const Feature*>& queries,
                                                                    ThreadPool& /*pool*/) const {
    std::vector<std::uint32_t> all(m_size);
    std::iota(all.begin(), all.end(), 0u);
    return std::vector<std::vector<std::uint32_t>>(queries.size(), all);
}

}  // namespace lessmore
