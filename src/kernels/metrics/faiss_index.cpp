#include "kernels/metrics/faiss_index.hpp"

#include <lessmore/error.hpp>

#include <faiss/IndexFlat.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace lessmore {
namespace {

// Candidate lists from a FAISS range search result, ascending.
std::vector<std::vector<std::uint32_t>> lists_of(const faiss::RangeSearchResult& r, std::size_t n) {
    std::vector<std::vector<std::uint32_t>> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = r.lims[i]; k < r.lims[i + 1]; ++k)
            out[i].push_back(static_cast<std::uint32_t>(r.labels[k]));
        std::sort(out[i].begin(), out[i].end());
    }
    return out;
}

// FAISS reports misuse as exceptions; they are bugs here, not input errors.
template <typename F>
auto guarded(const char* what, F&& f) {
    try {
        return f();
    } catch (const faiss::FaissException& e) {
        throw Error(std::string("nearest-neighbour index (") + what + "): " + e.what());
    }
}

class CosineIndex final : public NeighbourIndex {
public:
    CosineIndex(std::size_t dims, double threshold, int threads, std::function<const double*(const Feature&)> unit)
        : m_dims(dims), m_threads(threads), m_unit(std::move(unit)), m_index(static_cast<faiss::Index::idx_t>(dims)) {
        // float32 dot products of unit vectors err by at most about dims * 2^-24 (1.2e-4
        // for 2048 values); the margin is ten times that, the metric decides exactly.
        const double margin = 10.0 * static_cast<double>(std::max<std::size_t>(dims, 64)) * std::ldexp(1.0, -24);
        m_radius = static_cast<float>(threshold - margin);
    }

    void add(const std::vector<const Feature*>& items) override {
        if (items.empty()) return;
        const std::vector<float> x = encode(items);
        omp_set_num_threads(m_threads);
        guarded("add", [&] {
            m_index.add(static_cast<faiss::Index::idx_t>(items.size()), x.data());
            return 0;
        });
    }

    std::size_t size() const override { return static_cast<std::size_t>(m_index.ntotal); }

    // FAISS parallelises the search itself (OpenMP, `threads` threads).
    std::vector<std::vector<std::uint32_t>> candidates(const std::vector<const Feature*>& queries,
                                                       ThreadPool& /*pool*/) const override {
        if (queries.empty() || m_index.ntotal == 0) return std::vector<std::vector<std::uint32_t>>(queries.size());
        const std::vector<float> x = encode(queries);
        faiss::RangeSearchResult result(static_cast<faiss::Index::idx_t>(queries.size()));
        omp_set_num_threads(m_threads);
        guarded("search", [&] {  // inner products above the radius
            m_index.range_search(static_cast<faiss::Index::idx_t>(queries.size()), x.data(), m_radius, &result);
            return 0;
        });
        return lists_of(result, queries.size());
    }

private:
    std::vector<float> encode(const std::vector<const Feature*>& items) const {
        std::vector<float> x(items.size() * m_dims);
        for (std::size_t i = 0; i < items.size(); ++i) {
            const double* u = m_unit(*items[i]);
            for (std::size_t k = 0; k < m_dims; ++k) x[i * m_dims + k] = static_cast<float>(u[k]);
        }
        return x;
    }

    std::size_t m_dims;
    int m_threads;
    std::function<const double*(const Feature&)> m_unit;
    faiss::IndexFlatIP m_index;
    float m_radius = 0.0f;
};

}  // namespace

std::unique_ptr<NeighbourIndex> make_cosine_index(std::size_t dims, double threshold, int threads,
                                                  std::function<const double*(const Feature&)> unit) {
    return std::make_unique<CosineIndex>(dims, threshold, std::max(1, threads), std::move(unit));
}

}  // namespace lessmore
