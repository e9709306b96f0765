// Normalized mutual information as scikit-image 0.19 computes it (docs/methods.md, sections "NMI (mutual information)"
// and "NMI histogram binning").
//
// Per slice (once): every pixel's bin (one byte when there are at most 256 bins) and the
// marginal entropy. Per pair: the joint histogram and its entropy. Entropies are taken
// from counts as H = ln N - (1/N) sum n ln n, with n ln n from a table for small counts
// (docs/methods.md, "NMI fast evaluation").
#include <lessmore/error.hpp>
#include <lessmore/mutual_information.hpp>
#include <lessmore/thread_pool.hpp>
#include "kernels/cpu_dispatch.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace lessmore {
namespace {

constexpr int k_small_bins = 256;  // bins that fit a byte
constexpr std::uint32_t k_table = 4096;

// n ln n for n < 4096, computed once (a constant table, read-only after its thread-safe
// initialisation): most occupied cells of a joint histogram hold fewer than 4096 pixels.
const std::array<double, k_table>& n_log_n_table() {
    static const std::array<double, k_table> table = [] {
        std::array<double, k_table> t{};
        for (std::uint32_t n = 1; n < k_table; ++n) t[n] = static_cast<double>(n) * std::log(static_cast<double>(n));
        return t;
    }();
    return table;
}

inline double n_log_n(std::uint32_t n, const std::array<double, k_table>& table) {
    return n < k_table ? table[n] : static_cast<double>(n) * std::log(static_cast<double>(n));
}

// H = -sum (n/N) ln(n/N) = ln N - (1/N) sum n ln n over counts[0 .. cells), summed in
// cell order (zero counts contribute nothing). `extra`, when not null, is added to
// counts cell by cell first (a second histogram).
double entropy(const std::uint32_t* counts, const std::uint32_t* extra, std::size_t cells, std::size_t total) {
    const auto& table = n_log_n_table();  // table[0] is 0: an empty cell adds nothing
    double sum = 0.0;
    bool one_cell = false;
    for (std::size_t i = 0; i < cells; ++i) {
        const std::uint32_t n = counts[i] + (extra ? extra[i] : 0u);
        sum += n < k_table ? table[n] : n_log_n(n, table);
        one_cell |= n == total;
    }
    // All pixels in one cell: exactly 0, as -1 ln 1 is (ln N - N ln N / N may round
    // otherwise), so that two constant slices give 0/0 = NaN as in scikit-image.
    if (one_cell) return 0.0;
    const double t = static_cast<double>(total);
    return std::log(t) - sum / t;
}

// The joint cells a[i] * bins + b[i] of n pixels (bins <= 256: a cell fits 16 bits).
LESSMORE_CLONES_AVX2
void joint_cells(const std::uint8_t* __restrict a, const std::uint8_t* __restrict b, std::size_t n, std::uint32_t bins,
                 std::uint16_t* __restrict cells) {
    const auto m = static_cast<std::uint16_t>(bins);
    for (std::size_t i = 0; i < n; ++i) cells[i] = static_cast<std::uint16_t>(a[i] * m + b[i]);
}

// Joint counts of byte bins: cell a * bins + b. The cells of a chunk are computed in
// vectors first. Blocks of 8 pixels in one cell (the background of CT) are counted at
// once, as runs; other pixels alternate between two histograms so that increments of
// one cell do not wait on each other.
void joint_counts(const std::uint8_t* a, const std::uint8_t* b, std::size_t n, std::uint32_t bins, std::uint32_t* h0,
                  std::uint32_t* h1, std::uint32_t* h2, std::uint32_t* h3) {
    constexpr std::size_t k_chunk = 2048;
    constexpr std::uint64_t k_ones = 0x0001000100010001ull;
    std::array<std::uint16_t, k_chunk> cells;
    std::uint32_t run_cell = 0, run = 0;
    for (std::size_t c0 = 0; c0 < n; c0 += k_chunk) {
        const std::size_t count = std::min(k_chunk, n - c0);
        joint_cells(a + c0, b + c0, count, bins, cells.data());
        const std::uint16_t* c = cells.data();
        std::size_t i = 0;
        for (; i + 8 <= count; i += 8) {
            std::uint64_t w0, w1;
            std::memcpy(&w0, c + i, 8);
            std::memcpy(&w1, c + i + 4, 8);
            const std::uint32_t first = c[i];
            if (w0 == w1 && w0 == first * k_ones) {
                if (first != run_cell) {
                    h0[run_cell] += run;
                    run_cell = first;
                    run = 0;
                }
                run += 8;
                continue;
            }
            for (std::size_t k = i; k < i + 8; k += 4) {
                ++h0[c[k]];
                ++h1[c[k + 1]];
                ++h2[c[k + 2]];
                ++h3[c[k + 3]];
            }
        }
        for (; i < count; ++i) ++h0[c[i]];
    }
    h0[run_cell] += run;
}

LESSMORE_CLONES_AVX2
void add_counts(std::uint32_t* __restrict to, const std::uint32_t* __restrict from, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) to[i] += from[i];
}

// The same for two-byte bins (more than 256 bins).
void joint_counts(const std::uint16_t* a, const std::uint16_t* b, std::size_t n, std::uint32_t bins, std::uint32_t* h0,
                  std::uint32_t* h1) {
    std::size_t i = 0;
    for (; i + 1 < n; i += 2) {
        ++h0[a[i] * bins + b[i]];
        ++h1[a[i + 1] * bins + b[i + 1]];
    }
    if (i < n) ++h0[a[i] * bins + b[i]];
}

}  // namespace

MiStats mi_prepare(const Image8& image, int bins) {
    if (bins < 2 || bins > 65535) throw InputError("mi: bins must be from 2 to 65535");
    MiStats s;
    s.bins = bins;
    if (image.pixels.empty()) throw InputError("mi: empty slice");
    // The grey levels' histogram (four tables, so that runs of one level do not wait on
    // each other): the image's range and, through the bins' look-up table, its marginal
    // histogram come from it.
    const std::size_t n = image.pixels.size();
    std::array<std::array<std::uint32_t, 256>, 4> levels{};
    const std::uint8_t* px = image.pixels.data();
    std::size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        ++levels[0][px[k]];
        ++levels[1][px[k + 1]];
        ++levels[2][px[k + 2]];
        ++levels[3][px[k + 3]];
    }
    for (; k < n; ++k) ++levels[0][px[k]];
    std::array<std::uint32_t, 256> level_count{};
    int lo = 256, hi = -1;
    for (int v = 0; v < 256; ++v) {
        const auto u = static_cast<std::size_t>(v);
        level_count[u] = levels[0][u] + levels[1][u] + levels[2][u] + levels[3][u];
        if (level_count[u] != 0) {
            lo = std::min(lo, v);
            hi = v;
        }
    }
    // numpy.histogramdd: edges = linspace(min, max, bins + 1) over the image's own range
    // (a constant image uses [v - 0.5, v + 0.5]); bin = searchsorted(edges, v, 'right') - 1,
    // and v equal to the last edge goes into the last bin. linspace's edge i is
    // i * ((stop - start) / bins) + start, the last one exactly stop.
    double start = lo, stop = hi;
    if (start == stop) {
        start -= 0.5;
        stop += 0.5;
    }
    const double step = (stop - start) / bins;
    std::vector<double> edges(static_cast<std::size_t>(bins) + 1);
    for (int i = 0; i < bins; ++i) {
        const double scaled = static_cast<double>(i) * step;  // two roundings, as numpy
        edges[static_cast<std::size_t>(i)] = scaled + start;
    }
    edges[static_cast<std::size_t>(bins)] = stop;
    std::uint16_t lut[256];
    for (int v = 0; v < 256; ++v) {
        const auto count = std::upper_bound(edges.begin(), edges.end(), static_cast<double>(v)) - edges.begin();
        long b = static_cast<long>(count) - 1;
        if (static_cast<double>(v) == edges.back()) b = bins - 1;
        lut[v] = static_cast<std::uint16_t>(std::clamp<long>(b, 0, bins - 1));  // values outside never occur
    }
    s.pixels = n;
    std::vector<std::uint32_t> hist(static_cast<std::size_t>(bins), 0);
    for (std::size_t v = 0; v < 256; ++v) hist[lut[v]] += level_count[v];
    if (bins <= k_small_bins) {
        std::uint8_t lut8[256];
        for (int v = 0; v < 256; ++v) lut8[v] = static_cast<std::uint8_t>(lut[v]);
        s.bin8.resize(n);
        for (std::size_t p = 0; p < n; ++p) s.bin8[p] = lut8[px[p]];
    } else {
        s.bin16.resize(n);
        for (std::size_t p = 0; p < n; ++p) s.bin16[p] = lut[px[p]];
    }
    s.entropy = entropy(hist.data(), nullptr, hist.size(), n);
    return s;
}

double mi_compare(const MiStats& a, const MiStats& b, ThreadPool* pool) {
    if (a.pixels != b.pixels || a.bins != b.bins) throw InputError("mi: slices of different sizes");
    // A slice against itself: the joint histogram is the marginal one on the diagonal, so
    // its entropy is H(X) bit for bit (the same counts summed in the same order) and the
    // score (H + H) / H is exactly 2, or 0/0 = NaN for a constant slice.
    if (&a == &b) return a.entropy > 0.0 ? 2.0 : std::nan("");
    const auto bins = static_cast<std::uint32_t>(a.bins);
    const std::size_t cells = static_cast<std::size_t>(bins) * bins;
    const bool small = a.bins <= k_small_bins;
    // Counts are integers, so splitting the pixels into parts (one per thread) and adding
    // the parts' histograms gives the same histogram, whatever the number of parts.
    const std::size_t parts = pool != nullptr && pool->size() > 1 ? static_cast<std::size_t>(pool->size()) : 1;
    const std::size_t per_part = small ? 4 : 2;  // histograms per part
    std::vector<std::uint32_t> joint(parts * per_part * cells, 0);
    auto count = [&](std::size_t part) {
        const std::size_t begin = a.pixels * part / parts, end = a.pixels * (part + 1) / parts;
        std::uint32_t* h = &joint[part * per_part * cells];
        if (small) {
            joint_counts(&a.bin8[begin], &b.bin8[begin], end - begin, bins, h, h + cells, h + 2 * cells, h + 3 * cells);
        } else {
            joint_counts(&a.bin16[begin], &b.bin16[begin], end - begin, bins, h, h + cells);
        }
    };
    if (parts > 1) {
        pool->parallel_for(parts, count);
    } else {
        count(0);
    }
    std::uint32_t* h0 = joint.data();
    for (std::size_t q = 1; q < parts * per_part; ++q) add_counts(h0, &joint[q * cells], cells);
    const double joint_entropy = entropy(h0, nullptr, cells, a.pixels);
    return (a.entropy + b.entropy) / joint_entropy;
}

double normalized_mutual_information(const Image8& a, const Image8& b, int bins) {
    return mi_compare(mi_prepare(a, bins), mi_prepare(b, bins));
}

}  // namespace lessmore
