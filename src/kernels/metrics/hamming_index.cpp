#include "kernels/metrics/hamming_index.hpp"

#include <lessmore/thread_pool.hpp>

#include "kernels/cpu_dispatch.hpp"

#if LESSMORE_X86_DISPATCH
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

// Hand-written rather than FAISS's IndexBinaryMultiHash: that one keeps its buckets and
// each query's shortlist in std::unordered_map/set and took 417 s for the 1,000,000-slice
// benchmark of bench/bench_scope.sh, where this takes seconds (docs/performance.md, "Across volumes").
namespace lessmore {
namespace {

constexpr int k_substring_bits = 16;  // buckets per table: 2^16
constexpr int k_max_tables = 16;
constexpr std::size_t k_max_probes = 8192;  // beyond this many bucket visits per query, scan

std::size_t choose(int n, int k) {
    double c = 1;
    for (int i = 0; i < k; ++i) c = c * (n - i) / (i + 1);
    return static_cast<std::size_t>(c);
}

// The scan every search comes down to: the positions (or ids[position]) of the words within
// `radius` of q, appended to found.
using Scan = void (*)(const std::uint64_t* codes, const std::uint32_t* ids, std::size_t n, std::uint64_t q, int radius,
                      std::vector<std::uint32_t>& found);

// One code at a time, with the popcount instruction where the CPU has it (chosen at load
// time).
LESSMORE_CLONES_POPCNT void scan_scalar(const std::uint64_t* codes, const std::uint32_t* ids, std::size_t n,
                                        std::uint64_t q, int radius, std::vector<std::uint32_t>& found) {
    for (std::size_t i = 0; i < n; ++i)
        if (__builtin_popcountll(codes[i] ^ q) <= radius) found.push_back(ids ? ids[i] : static_cast<std::uint32_t>(i));
}

#if LESSMORE_X86_DISPATCH
// Eight codes per instruction where the CPU counts bits in vectors (AVX-512 VPOPCNTDQ).
__attribute__((target("avx512f,avx512vpopcntdq"))) void scan_avx512(const std::uint64_t* codes,
                                                                    const std::uint32_t* ids, std::size_t n,
                                                                    std::uint64_t q, int radius,
                                                                    std::vector<std::uint32_t>& found) {
    const __m512i vq = _mm512_set1_epi64(static_cast<long long>(q));
    const __m512i vr = _mm512_set1_epi64(radius);
    for (std::size_t i = 0; i < n; i += 8) {
        const auto lanes = static_cast<__mmask8>(n - i >= 8 ? 0xff : (1u << (n - i)) - 1);
        const __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi64(lanes, codes + i), vq);
        unsigned hit = _mm512_mask_cmple_epu64_mask(lanes, _mm512_popcnt_epi64(x), vr);
        while (hit) {
            const auto j = static_cast<std::size_t>(__builtin_ctz(hit));
            hit &= hit - 1;
            found.push_back(ids ? ids[i + j] : static_cast<std::uint32_t>(i + j));
        }
    }
}

#endif

Scan choose_scan(HammingScan scan) {
    if (scan == HammingScan::Scalar) return scan_scalar;
#if LESSMORE_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")) return scan_avx512;
#endif
    return scan_scalar;
}

int bit(const std::uint64_t* w, int index) { return static_cast<int>((w[index / 64] >> (63 - index % 64)) & 1u); }

// Every mask of `len` bits with at most `flips` bits set, fewest first.
std::vector<std::uint32_t> flip_masks(int len, int flips) {
    std::vector<std::uint32_t> out;
    for (std::uint32_t m = 0; m < (std::uint32_t{1} << len); ++m)
        if (__builtin_popcount(m) <= flips) out.push_back(m);
    std::stable_sort(out.begin(), out.end(),
                     [](std::uint32_t a, std::uint32_t b) { return __builtin_popcount(a) < __builtin_popcount(b); });
    return out;
}

// A layout of the tables: `tables` substrings of `len` bits each, and per table how many
// of the flip masks (fewest flips first) a query visits.
struct Plan {
    int tables = 0;
    int len = 0;
    int max_flips = 0;
    std::vector<std::size_t> probes;
    std::size_t total = 0;
};

Plan make_plan(int bits, int radius, int tables) {
    Plan p;
    p.tables = tables;
    p.len = std::min(k_substring_bits, bits / tables);
    const int a = radius / tables, b = radius % tables;
    p.max_flips = a;
    for (int t = 0; t < tables; ++t) {
        std::size_t n = 0;
        for (int f = 0; f <= std::min(t <= b ? a : a - 1, p.len); ++f) n += choose(p.len, f);
        p.probes.push_back(n);
        p.total += n;
    }
    return p;
}

// The layout cheapest for n codes, or none when scanning all n is cheaper or every layout
// visits more than k_max_probes buckets per query. A visited bucket (fetched from memory)
// costs about as much as twenty codes scanned, and a bucket holds about n / 2^len codes: small radii want few long
// substrings (HASH-6: four of 16 bits), larger ones more, shorter ones (HASH-12 over ~50,000 survivors: six of 10
// bits).
std::optional<Plan> best_plan(int bits, int radius, std::size_t n) {
    std::optional<Plan> best;
    double best_cost = 0;
    for (int tables = 1; tables <= std::min({k_max_tables, bits, radius + 1}); ++tables) {
        Plan p = make_plan(bits, radius, tables);
        if (p.len < 1 || p.total > k_max_probes) continue;
        const double cost = static_cast<double>(p.total) * (1.0 + 0.05 * std::ldexp(static_cast<double>(n), -p.len));
        if (!best || cost < best_cost) {
            best_cost = cost;
            best = std::move(p);
        }
    }
    if (best && best_cost > 0.05 * static_cast<double>(n)) return std::nullopt;
    return best;
}

// By the pigeonhole principle, a code within `radius` of the query over m disjoint
// substrings of its bits is within radius / m of it in at least one of them: each table
// maps one substring's value to the codes having it, and a query visits, in each table,
// the buckets within radius / m flips of its own value. Each visited code's full distance
// is then checked, so the candidates are exactly the codes within the radius. With
// radius = a * m + b (b < m), the first b + 1 tables are searched to a flips and the others
// to a - 1: a code missed by all of them would differ by at least
// (b + 1)(a + 1) + (m - b - 1) a = radius + 1 bits (docs/methods.md, section "Scope").
// Substring t takes every m-th bit from bit t (with m * len < bits some bits are in no
// substring; the principle holds for any subset): a dhash's bits are rows of the image,
// and interleaving spreads the rows that vary little across a dataset (air above the body)
// over all tables rather than leaving one table with few distinct values and huge buckets.
// The layout is chosen for the index's size when it is first built and reviewed each time
// the size doubles.
class MultiIndexHamming final : public NeighbourIndex {
public:
    // The pass builds a small index for every block of 1,024 queries: below scan_below
    // codes a scan is faster than building tables.
    MultiIndexHamming(int bits, int radius, std::function<const std::uint64_t*(const Feature&)> words,
                      std::size_t scan_below, HammingScan scan)
        : m_scan(choose_scan(scan)),
          m_bits(bits),
          m_words((static_cast<std::size_t>(bits) + 63) / 64),
          m_radius(radius),
          m_scan_below(scan_below),
          m_code(std::move(words)) {}

    void add(const std::vector<const Feature*>& items) override {
        const std::size_t before = size();
        for (const Feature* item : items) {
            const std::uint64_t* w = m_code(*item);
            m_codes.insert(m_codes.end(), w, w + m_words);
        }
        if (m_radius < 0) return;  // nothing is within: scans find nothing
        if (m_tables.empty() ? size() >= m_scan_below : size() >= 2 * m_planned_at) {
            m_planned_at = size();
            std::optional<Plan> plan = best_plan(m_bits, m_radius, size());
            if (!plan) {
                m_tables.clear();  // scan
                return;
            }
            if (m_tables.empty() || plan->tables != m_plan.tables) {
                build(std::move(*plan));
                return;
            }
        }
        if (!m_tables.empty())
            for (std::size_t id = before; id < size(); ++id) insert(static_cast<std::uint32_t>(id));
    }

    std::size_t size() const override { return m_codes.size() / m_words; }

    std::vector<std::vector<std::uint32_t>> candidates(const std::vector<const Feature*>& queries,
                                                       ThreadPool& pool) const override {
        std::vector<std::vector<std::uint32_t>> out(queries.size());
        pool.parallel_for(queries.size(), [&](std::size_t i) { out[i] = search(m_code(*queries[i])); });
        return out;
    }

private:
    // A bucket holds its codes' first words next to each other, so most visited codes are
    // rejected in a vector scan without touching the code store.
    struct Bucket {
        std::vector<std::uint64_t> first;
        std::vector<std::uint32_t> ids;
    };

    void build(Plan plan) {
        m_plan = std::move(plan);
        m_masks = flip_masks(m_plan.len, m_plan.max_flips);
        m_positions.assign(static_cast<std::size_t>(m_plan.tables), {});
        for (int t = 0; t < m_plan.tables; ++t)
            for (int k = 0; k < m_plan.len; ++k)
                m_positions[static_cast<std::size_t>(t)].push_back(t + m_plan.tables * k);
        m_tables.assign(m_positions.size(), std::vector<Bucket>(std::size_t{1} << m_plan.len));
        for (std::size_t id = 0; id < size(); ++id) insert(static_cast<std::uint32_t>(id));
    }

    void insert(std::uint32_t id) {
        const std::uint64_t* w = m_codes.data() + static_cast<std::size_t>(id) * m_words;
        for (std::size_t t = 0; t < m_tables.size(); ++t) {
            Bucket& b = m_tables[t][key(w, t)];
            b.first.push_back(w[0]);
            b.ids.push_back(id);
        }
    }

    std::uint32_t key(const std::uint64_t* w, std::size_t table) const {
        std::uint32_t k = 0;
        for (int p : m_positions[table]) k = (k << 1) | static_cast<std::uint32_t>(bit(w, p));
        return k;
    }

    // The popcount instruction where the CPU has it (chosen at load time) for the many small
    // buckets, where a call to the vector scan would cost more than the scan.
    LESSMORE_CLONES_POPCNT
    std::vector<std::uint32_t> search(const std::uint64_t* q) const {
        std::vector<std::uint32_t> found;
        if (m_tables.empty() && m_words == 1) {
            m_scan(m_codes.data(), nullptr, size(), q[0], m_radius, found);
            return found;
        }
        if (m_tables.empty()) {  // longer codes: the first word's distance first
            for (std::uint32_t id = 0; id < size(); ++id) {
                const std::uint64_t* c = m_codes.data() + static_cast<std::size_t>(id) * m_words;
                if (__builtin_popcountll(q[0] ^ c[0]) <= m_radius) found.push_back(id);
            }
        } else {
            // The buckets first, prefetched, then their codes, then the scans: a query visits
            // dozens of buckets spread over megabytes, and waiting for each in turn was most
            // of the time.
            std::vector<const Bucket*> buckets;
            buckets.reserve(m_masks.size() * m_tables.size());
            for (std::size_t t = 0; t < m_tables.size(); ++t) {
                const std::uint32_t k = key(q, t);
                for (std::size_t p = 0; p < m_plan.probes[t]; ++p) {
                    buckets.push_back(&m_tables[t][k ^ m_masks[p]]);
                    __builtin_prefetch(buckets.back());
                }
            }
            for (const Bucket* b : buckets)
                if (!b->first.empty()) __builtin_prefetch(b->first.data());
            for (const Bucket* b : buckets) {
                if (b->first.size() >= 8) {
                    m_scan(b->first.data(), b->ids.data(), b->first.size(), q[0], m_radius, found);
                    continue;
                }
                for (std::size_t i = 0; i < b->first.size(); ++i)
                    if (__builtin_popcountll(q[0] ^ b->first[i]) <= m_radius) found.push_back(b->ids[i]);
            }
            // A code near the query in several substrings was found once per such table.
            std::sort(found.begin(), found.end());
            found.erase(std::unique(found.begin(), found.end()), found.end());
        }
        if (m_words > 1) {
            found.erase(std::remove_if(found.begin(), found.end(),
                                       [&](std::uint32_t id) {
                                           const std::uint64_t* c =
                                               m_codes.data() + static_cast<std::size_t>(id) * m_words;
                                           int d = 0;
                                           for (std::size_t i = 0; i < m_words && d <= m_radius; ++i)
                                               d += __builtin_popcountll(q[i] ^ c[i]);
                                           return d > m_radius;
                                       }),
                        found.end());
        }
        return found;
    }

    Scan m_scan;
    int m_bits;
    std::size_t m_words;
    int m_radius;
    std::size_t m_scan_below;
    std::function<const std::uint64_t*(const Feature&)> m_code;
    Plan m_plan;
    std::size_t m_planned_at = 0;  // size() when the layout was last chosen
    std::vector<std::uint32_t> m_masks;
    std::vector<std::vector<int>> m_positions;  // per table: the code's bits it keys on
    std::vector<std::vector<Bucket>> m_tables;  // empty: scan
    std::vector<std::uint64_t> m_codes;
};

}  // namespace

std::unique_ptr<NeighbourIndex> make_hamming_index(int bits, int radius,
                                                   std::function<const std::uint64_t*(const Feature&)> words,
                                                   std::size_t scan_below, HammingScan scan) {
    return std::make_unique<MultiIndexHamming>(bits, radius, std::move(words), scan_below, scan);
}

}  // namespace lessmore
