// SSIM as scikit-image 0.19 computes it (docs/methods.md, sections "SSIM" and "SSIM fast evaluation and its accuracy").
//
// Per slice (once): local mean mu = G*x and variance G*x^2 - mu^2, computed in double.
// The variance is kept as float (its cancellation is done); the mean as fixed point with
// 23 fractional bits (resolution 1.2e-7, half a float's near 255), because per pair the
// difference of two means is squared and subtracted from G*d^2.
// Per pair: with d = x - y, 2 cov(x, y) = var(x) + var(y) - var(d) and
// var(d) = G*d^2 - (mu_x - mu_y)^2, so only d^2 is filtered, in double.
//
// Both passes run in vertical strips of 128 output columns, top to bottom, through a ring
// of the last 12 horizontally filtered rows (the vertical pass makes two output rows at a
// time). A pair's map is summed per strip, and the strips' sums are added in order, so the
// strips may run on different threads. Pairs that share slices are scored band by band (16
// output rows of a strip for every pair, then the next 16), so a slice's statistics come
// from memory once per band for all its pairs, not once per pair (ssim_compare_pairs).
// Loops are compiled for AVX2 and the baseline (LESSMORE_CLONES_AVX2). The per-pair ones
// (d^2's horizontal pass; the vertical pass fused with the map and its sums) are written
// once in GCC's generic vectors and also built for AVX-512, chosen at run time (Kernels):
// 2-10% less CPU per pair on the project's Zen 4, where a plain AVX-512 clone of the old
// loops was 10% slower (docs/performance.md, "SSIM and MI"). Every variant performs the
// same IEEE operations in the same order, so the scores are the same bits on any CPU.
#include <lessmore/error.hpp>
#include <lessmore/ssim.hpp>
#include <lessmore/thread_pool.hpp>
#include "kernels/cpu_dispatch.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace lessmore {
namespace {

constexpr int k_taps = 2 * k_ssim_radius + 1;
constexpr int k_halo = 2 * k_ssim_radius;
constexpr double k_c1 = (0.01 * 255) * (0.01 * 255);
constexpr double k_c2 = (0.03 * 255) * (0.03 * 255);
constexpr double k_mean_scale = 8388608.0;  // 2^23
constexpr double k_mean_unscale = 1.0 / k_mean_scale;

// Output columns per strip: a ring of filtered rows (12 KB) stays in the L1 cache.
constexpr int k_strip = 128;
// Output rows per band: a slice's band of statistics and pixels is 18 KB, so those of a
// block of 8 slices and the rings of its 16 pairs stay in a 1 MB L2 cache.
constexpr int k_band = 16;
// A strip's input columns: its output columns and the 10-column halo, padded to a
// multiple of 16. Row loops run over a strip's columns rounded up to a multiple of 16 (on
// zeros there, never summed): with no remainder iterations, which for rows this short
// would be most of the cost.
constexpr std::size_t k_strip_pixels = 144;
static_assert(k_strip_pixels >= k_strip + k_halo && k_strip_pixels % 16 == 0, "a padded strip row");

constexpr int round16(int n) { return (n + 15) / 16 * 16; }

// The 11-tap Gaussian is symmetric (g[k] == g[10 - k] exactly), so each output takes
// 6 multiplies and 10 adds, summed from the centre outwards as scipy.ndimage does.
// Horizontal pass of one row: out[x] = sum_k g[k] * in[x + k].
LESSMORE_CLONES_AVX2
void filter_row(const double* __restrict in, int width, const double* g, double* __restrict out) {
    const double g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4], g5 = g[5];
    for (int x = 0; x < width; ++x) {
        const double* s = in + x;
        out[x] = ((((g5 * s[5] + g4 * (s[4] + s[6])) + g3 * (s[3] + s[7])) + g2 * (s[2] + s[8])) + g1 * (s[1] + s[9])) +
                 g0 * (s[0] + s[10]);
    }
}

// Vertical pass: out[x] = sum_k g[k] * rows[k][x].
LESSMORE_CLONES_AVX2
void filter_column(const double* const* rows, int width, const double* g, double* __restrict out) {
    const double g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4], g5 = g[5];
    // restrict: the ring rows and the output never overlap, so the loop can vectorise.
    const double* __restrict r0 = rows[0], * __restrict r1 = rows[1], * __restrict r2 = rows[2], * __restrict r3 = rows[3], * __restrict r4 = rows[4], * __restrict r5 = rows[5], * __restrict r6 = rows[6], * __restrict r7 = rows[7], * __restrict r8 = rows[8], * __restrict r9 = rows[9], * __restrict r10 = rows[10];
    for (int x = 0; x < width; ++x) {
        out[x] = ((((g5 * r5[x] + g4 * (r4[x] + r6[x])) + g3 * (r3[x] + r7[x])) + g2 * (r2[x] + r8[x])) +
                  g1 * (r1[x] + r9[x])) +
                 g0 * (r0[x] + r10[x]);
    }
}

// d^2 of one strip row of two slices, as doubles: out[x] = (a[x] - b[x])^2.
LESSMORE_CLONES_AVX2
void squared_difference(const std::uint8_t* __restrict a, const std::uint8_t* __restrict b, int n,
                        double* __restrict out) {
    for (int x = 0; x < n; ++x) {
        const int d = static_cast<int>(a[x]) - static_cast<int>(b[x]);
        out[x] = static_cast<double>(d * d);
    }
}

// One SSIM map value (docs/methods.md, "SSIM fast evaluation and its accuracy") from the
// stored statistics (fixed-point means, float variances) and G*d^2.
// (The variances are taken as double: their sum must not round in float.)
inline double ssim_at(std::int32_t qx, std::int32_t qy, double vx, double vy, double gd2) {
    const double ux = qx * k_mean_unscale, uy = qy * k_mean_unscale;  // exact: integers times 2^-23
    const double dm = ux - uy;        // G*d, exact too: (qx - qy) * 2^-23 with |qx - qy| < 2^31
    const double vd = gd2 - dm * dm;  // var(x - y)
    const double b2 = vx + vy + k_c2;
    const double a2 = b2 - vd;  // 2 cov(x, y) + C2
    const double b1 = ux * ux + uy * uy + k_c1;
    const double a1 = b1 - dm * dm;  // 2 ux uy + C1
    return (a1 * a2) / (b1 * b2);
}

// The SSIM map of one output row, summed in 8 lanes so the loop vectorises; then the
// columns past the last multiple of 8, then the lanes in order: a fixed order, so the
// result depends only on the inputs. `at(k)` is the map value of column k.
template <typename At>
inline double sum_row(int n, At at) {
    constexpr int k_lanes = 8;
    double acc[k_lanes] = {};
    int i = 0;
    for (; i + k_lanes <= n; i += k_lanes) {
        for (int l = 0; l < k_lanes; ++l) acc[l] += at(i + l);
    }
    double sum = 0.0;
    for (; i < n; ++i) sum += at(i);
    for (int l = 0; l < k_lanes; ++l) sum += acc[l];
    return sum;
}

// One output row's map.
LESSMORE_CLONES_AVX2
double ssim_row(int n, const std::int32_t* __restrict mx, const std::int32_t* __restrict my, const float* __restrict vx,
                const float* __restrict vy, const double* __restrict gd2) {
    return sum_row(n, [&](int k) { return ssim_at(mx[k], my[k], vx[k], vy[k], gd2[k]); });
}

// One strip row of per-slice statistics: fixed-point mean, float variance.
LESSMORE_CLONES_AVX2
void store_stats(int width, const double* __restrict mu, const double* __restrict ex2, std::int32_t* __restrict mean,
                 float* __restrict variance) {
    for (int x = 0; x < width; ++x) {
        mean[x] = static_cast<std::int32_t>(mu[x] * k_mean_scale + 0.5);  // mean >= 0
        variance[x] = static_cast<float>(ex2[x] - mu[x] * mu[x]);
    }
}

// A strip row's pixel values and their squares, as doubles.
LESSMORE_CLONES_AVX2
void values_and_squares(const std::uint8_t* __restrict row, int n, double* __restrict v, double* __restrict v2) {
    for (int x = 0; x < n; ++x) {
        const double p = row[x];
        v[x] = p;
        v2[x] = p * p;
    }
}

// Four or eight doubles as one value: GCC's generic vectors, which every target compiles
// (AVX-512: V8 in one register; AVX2: V4 in one; the baseline: in SSE2 halves; elsewhere,
// as the target can), lane by lane with the same IEEE operations as the scalar code, so
// every variant gives the same bits. V4u and V8u read from any address (8-byte aligned,
// may alias, as the compiler's own unaligned vector types).
using V4 = double __attribute__((vector_size(32)));
using V4u = double __attribute__((vector_size(32), aligned(8), may_alias));
using V8 = double __attribute__((vector_size(64)));
using V8u = double __attribute__((vector_size(64), aligned(8), may_alias));

template <typename V>
constexpr int k_width = sizeof(V) / sizeof(double);
template <typename V>
struct UnalignedOf;  // (a std::conditional_t would drop the types' attributes)
template <>
struct UnalignedOf<V4> {
    using type = V4u;
};
template <>
struct UnalignedOf<V8> {
    using type = V8u;
};
template <typename V>
using Unaligned = typename UnalignedOf<V>::type;

// (Vectors by reference throughout: a baseline function has no AVX registers to pass or
// return them in. always_inline: compiled into each variant of its callers.)
#define LESSMORE_INLINE __attribute__((always_inline)) inline

template <typename V>
LESSMORE_INLINE const Unaligned<V>& at(const double* p) {
    return *reinterpret_cast<const Unaligned<V>*>(p);
}

// Stored values from p as doubles. (Built lane by lane, which the compiler turns into one
// conversion; its __builtin_convertvector converts in halves.)
template <typename V, typename T, std::size_t... L>
LESSMORE_INLINE void widen(const T* p, V& out, std::index_sequence<L...>) {
    out = V{static_cast<double>(p[L])...};
}
template <typename V, typename T>
LESSMORE_INLINE void widen(const T* p, V& out) {
    widen(p, out, std::make_index_sequence<k_width<V>>{});
}

// The per-slice statistics of one output row of a pair.
struct StatsRow {
    const std::int32_t* mx;
    const std::int32_t* my;
    const float* vx;
    const float* vy;
};

// Columns x .. x + lanes of the two output rows of the window `rows`, as filter_column2.
template <typename V>
LESSMORE_INLINE void column2_at(const double* const* rows, int x, const double* g, V& o0, V& o1) {
    const double g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4], g5 = g[5];
    const V r0 = at<V>(rows[0] + x), r1 = at<V>(rows[1] + x), r2 = at<V>(rows[2] + x), r3 = at<V>(rows[3] + x);
    const V r4 = at<V>(rows[4] + x), r5 = at<V>(rows[5] + x), r6 = at<V>(rows[6] + x), r7 = at<V>(rows[7] + x);
    const V r8 = at<V>(rows[8] + x), r9 = at<V>(rows[9] + x), r10 = at<V>(rows[10] + x), r11 = at<V>(rows[11] + x);
    o0 = ((((g5 * r5 + g4 * (r4 + r6)) + g3 * (r3 + r7)) + g2 * (r2 + r8)) + g1 * (r1 + r9)) + g0 * (r0 + r10);
    o1 = ((((g5 * r6 + g4 * (r5 + r7)) + g3 * (r4 + r8)) + g2 * (r3 + r9)) + g1 * (r2 + r10)) + g0 * (r1 + r11);
}

// The vertical pass of two consecutive output rows, which share 10 of their 11 input rows
// (12 row loads for two outputs instead of 22): output q from rows[q .. q + 10], each
// exactly as filter_column computes it (width a multiple of 8).
template <typename V>
LESSMORE_INLINE void filter_column2_impl(const double* const* rows, int width, const double* g, double* const* out) {
    for (int x = 0; x < width; x += k_width<V>) {
        V o0, o1;
        column2_at(rows, x, g, o0, o1);
        std::memcpy(out[0] + x, &o0, sizeof o0);
        std::memcpy(out[1] + x, &o1, sizeof o1);
    }
}

LESSMORE_CLONES_AVX2
void filter_column2(const double* const* rows, int width, const double* g, double* const* out) {
    filter_column2_impl<V4>(rows, width, g, out);
}

// acc += the map values of the columns from x, as ssim_at computes each.
template <typename V>
LESSMORE_INLINE void add_ssim(const StatsRow& s, int x, const V& gd2, V& acc) {
    V ux, uy, vx, vy;
    widen(s.mx + x, ux);
    widen(s.my + x, uy);
    widen(s.vx + x, vx);
    widen(s.vy + x, vy);
    ux *= k_mean_unscale;
    uy *= k_mean_unscale;
    const V dm = ux - uy;
    const V vd = gd2 - dm * dm;
    const V b2 = (vx + vy) + k_c2;
    const V a2 = b2 - vd;
    const V b1 = (ux * ux + uy * uy) + k_c1;
    const V a1 = b1 - dm * dm;
    acc += (a1 * a2) / (b1 * b2);
}

// The vertical pass of two consecutive output rows and their map sums, in one pass over
// the columns: sums[r] is ssim_row over filter_column2's output row r, bit for bit (the
// same IEEE operations per value, no fused multiply-adds, and each row summed as sum_row
// does: 8 lanes over the columns, then the columns past the last multiple of 8, then the
// lanes in order). One loop rather than two, so G*d^2 never goes to memory.
template <typename V>
LESSMORE_INLINE void column2_ssim_impl(const double* const* rows, int n, const double* g, const StatsRow* s,
                                       double* sums) {
    constexpr int k_lanes = 8, k_step = k_width<V>, k_parts = k_lanes / k_step;
    V acc[2][k_parts] = {};
    int i = 0;
    for (; i + k_lanes <= n; i += k_lanes) {
        for (int h = 0; h < k_parts; ++h) {
            V o0, o1;
            column2_at(rows, i + h * k_step, g, o0, o1);
            add_ssim(s[0], i + h * k_step, o0, acc[0][h]);
            add_ssim(s[1], i + h * k_step, o1, acc[1][h]);
        }
    }
    double tail[2][k_lanes];  // G*d^2 of the columns past the last multiple of 8 (fewer than 8)
    for (int x = i; x < n; x += k_step) {
        V o0, o1;
        column2_at(rows, x, g, o0, o1);
        std::memcpy(&tail[0][x - i], &o0, sizeof o0);
        std::memcpy(&tail[1][x - i], &o1, sizeof o1);
    }
    for (int r = 0; r < 2; ++r) {
        const StatsRow& t = s[r];
        double sum = 0.0;
        for (int x = i; x < n; ++x) sum += ssim_at(t.mx[x], t.my[x], t.vx[x], t.vy[x], tail[r][x - i]);
        for (int h = 0; h < k_parts; ++h) {
            for (int l = 0; l < k_step; ++l) sum += acc[r][h][l];
        }
        sums[r] = sum;
    }
}

// The horizontal pass of one row in vectors, as filter_row (width a multiple of 8).
template <typename V>
LESSMORE_INLINE void filter_row_impl(const double* in, int width, const double* g, double* out) {
    const double g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4], g5 = g[5];
    for (int x = 0; x < width; x += k_width<V>) {
        const double* p = in + x;
        const V v = ((((g5 * at<V>(p + 5) + g4 * (at<V>(p + 4) + at<V>(p + 6))) + g3 * (at<V>(p + 3) + at<V>(p + 7))) +
                      g2 * (at<V>(p + 2) + at<V>(p + 8))) +
                     g1 * (at<V>(p + 1) + at<V>(p + 9))) +
                    g0 * (at<V>(p + 0) + at<V>(p + 10));
        std::memcpy(out + x, &v, sizeof v);
    }
}

LESSMORE_CLONES_AVX2
void column2_ssim(const double* const* rows, int n, const double* g, const StatsRow* s, double* sums) {
    column2_ssim_impl<V4>(rows, n, g, s, sums);
}

#if LESSMORE_X86_DISPATCH
// The same with AVX-512 where the CPU has it (Kernels): eight lanes per instruction. (On
// Zen 4, whose units are 256 bits wide, the gain is presumably that the out-of-order
// window then holds twice the columns of these long dependency chains; docs/performance.md,
// "SSIM and MI".)
__attribute__((target("avx512f"))) void column2_ssim_avx512(const double* const* rows, int n, const double* g,
                                                            const StatsRow* s, double* sums) {
    column2_ssim_impl<V8>(rows, n, g, s, sums);
}

__attribute__((target("avx512f"))) void filter_column2_avx512(const double* const* rows, int width, const double* g,
                                                              double* const* out) {
    filter_column2_impl<V8>(rows, width, g, out);
}

__attribute__((target("avx512f"))) void filter_row_avx512(const double* __restrict in, int width, const double* g,
                                                          double* __restrict out) {
    filter_row_impl<V8>(in, width, g, out);
}
#endif

// The filter and map loops for this CPU: AVX-512, else those of LESSMORE_CLONES_AVX2. The same
// bits either way (tests/kernels/test_similarity_paths.cpp compares them with the
// baseline build's).
struct Kernels {
    void (*column2_ssim)(const double* const*, int, const double*, const StatsRow*, double*) = ::lessmore::column2_ssim;
    void (*filter_row)(const double*, int, const double*, double*) = ::lessmore::filter_row;
    void (*filter_column2)(const double* const*, int, const double*, double* const*) = ::lessmore::filter_column2;
    Kernels() {
#if LESSMORE_X86_DISPATCH
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) {
            column2_ssim = column2_ssim_avx512;
            filter_row = filter_row_avx512;
            filter_column2 = filter_column2_avx512;
        }
#endif
    }
};

// The vertical pass of `rows` (1 or 2) consecutive output rows.
void filter_columns(const Kernels& k, int rows, const double* const* window, int width, const double* g,
                    double* const* out) {
    if (rows == 2) {
        k.filter_column2(window, width, g, out);
    } else {
        filter_column(window, width, g, out[0]);
    }
}

// How many output rows to finish once input row y is in the ring, with next_out the next
// unfinished one and `end` the end of the band: two at a time once all their input rows
// are in, a band's odd last one alone; 0 while waiting.
int rows_ready(int y, int next_out, int end) {
    const int ready = y - k_halo + 1 - next_out, left = end - next_out;
    const int rows = left >= 2 ? 2 : left;
    return rows > 0 && ready >= rows ? rows : 0;
}

std::size_t pixels_offset(int height, int strip, int y) {
    return (static_cast<std::size_t>(strip) * static_cast<std::size_t>(height) + static_cast<std::size_t>(y)) *
           k_strip_pixels;
}

std::size_t stats_offset(int out_height, int strip, int oy) {
    return (static_cast<std::size_t>(strip) * static_cast<std::size_t>(out_height) + static_cast<std::size_t>(oy)) *
           k_strip;
}

// A ring of the last 12 horizontally filtered rows of a strip.
// (A view of memory someone else owns: a scratch block holds many.)
struct Ring {
    static constexpr int k_rows = k_taps + 1;
    static constexpr std::size_t k_values = static_cast<std::size_t>(k_rows) * k_strip;
    double* rows = nullptr;
    double* slot(int y) const { return rows + static_cast<std::size_t>(y % k_rows) * k_strip; }
    // Input rows oy .. oy + count - 1, top first.
    void window(int oy, int count, const double** out) const {
        for (int k = 0; k < count; ++k) out[k] = slot(oy + k);
    }
};

std::array<double, k_taps> taps11() {
    const std::vector<double> g = ssim_gaussian_taps();
    std::array<double, k_taps> out{};
    std::copy(g.begin(), g.end(), out.begin());
    return out;
}

void check_same_size(const SsimStats& a, const SsimStats& b) {
    if (a.width != b.width || a.height != b.height) throw InputError("ssim: slices of different sizes");
}

// Scores pairs of slices strip by strip, band by band (see the file's comment). The
// statistics and pixels are stored strip by strip (ssim_prepare), so a slice's band is
// one contiguous run of memory. Each strip's map sums are kept apart and added in strip
// order at the end, so a pair's score is the same whether its strips run on one thread or
// many.
class PairScorer {
public:
    PairScorer(const std::vector<const SsimStats*>& slices,
               const std::vector<std::pair<std::size_t, std::size_t>>& pairs)
        : m_slices(slices), m_pairs(pairs) {
        const SsimStats& first = *slices.at(pairs.at(0).first);
        m_width = first.width;
        m_height = first.height;
        for (const auto& [i, j] : pairs) {
            check_same_size(first, *slices.at(i));
            check_same_size(first, *slices.at(j));
        }
    }

    // The scores of all pairs into out[0 .. pairs), the strips spread over `pool` if given.
    void run(double* out, ThreadPool* pool) const {
        const int ow = m_width - k_halo, oh = m_height - k_halo;
        const auto strips = static_cast<std::size_t>((ow + k_strip - 1) / k_strip);
        const std::size_t n_pairs = m_pairs.size();
        std::vector<double> sums(strips * n_pairs, 0.0);
        if (pool != nullptr && strips > 1) {
            pool->parallel_for(strips, [&](std::size_t strip) {
                Work w(n_pairs);
                strip_sums(w, static_cast<int>(strip), &sums[strip * n_pairs]);
            });
        } else {
            Work w(n_pairs);
            for (std::size_t strip = 0; strip < strips; ++strip)
                strip_sums(w, static_cast<int>(strip), &sums[strip * n_pairs]);
        }
        const double n = static_cast<double>(ow) * static_cast<double>(oh);
        for (std::size_t p = 0; p < n_pairs; ++p) {
            double total = 0.0;
            for (std::size_t strip = 0; strip < strips; ++strip) total += sums[strip * n_pairs + p];
            out[p] = total / n;
        }
    }

private:
    // One pair's progress through a strip.
    struct PairState {
        Ring ring;
        int next_in = 0;   // the next input row to filter horizontally
        int next_out = 0;  // the next output row to finish
    };
    // The working memory of strips' passes (one per thread), in one uninitialised block:
    // every value in it is written before it is read.
    struct Work {
        std::unique_ptr<double[]> memory;
        std::vector<PairState> state;
        double* in = nullptr;  // k_strip_pixels
        double* gd2[2] = {};   // k_strip each
        explicit Work(std::size_t pairs) : state(pairs) {
            memory.reset(new double[pairs * Ring::k_values + k_strip_pixels + 2 * k_strip]);
            double* next = memory.get();
            for (PairState& p : state) {
                p.ring.rows = next;
                next += Ring::k_values;
            }
            in = next;
            gd2[0] = in + k_strip_pixels;
            gd2[1] = gd2[0] + k_strip;
        }
    };

    std::size_t pixel_row(int strip, int y) const { return pixels_offset(m_height, strip, y); }
    std::size_t stats_row(int strip, int oy) const { return stats_offset(m_height - k_halo, strip, oy); }

    // Every pair's map sum over one strip, in row order, into sums[p].
    void strip_sums(Work& w, int strip, double* sums) const {
        const int ow = m_width - k_halo, oh = m_height - k_halo;
        const int count = std::min(k_strip, ow - strip * k_strip);
        for (PairState& s : w.state) s.next_in = s.next_out = 0;
        for (int oy0 = 0; oy0 < oh; oy0 += k_band) {
            const int oy1 = std::min(oh, oy0 + k_band);
            for (std::size_t p = 0; p < m_pairs.size(); ++p) sums[p] += pair_band(w, p, strip, count, oy1);
        }
    }

    // Pair p through the strip's output rows up to oy1: the input rows they need, and the
    // sum of their map rows (in row order).
    double pair_band(Work& w, std::size_t p, int strip, int count, int oy1) const {
        const SsimStats& a = *m_slices[m_pairs[p].first];
        const SsimStats& b = *m_slices[m_pairs[p].second];
        PairState& s = w.state[p];
        const double* window[Ring::k_rows];
        double sum = 0.0;
        for (; s.next_in < oy1 + k_halo; ++s.next_in) {
            const int y = s.next_in;
            const std::size_t row = pixel_row(strip, y);
            squared_difference(&a.pixels[row], &b.pixels[row], round16(count + k_halo), w.in);
            m_kernels.filter_row(w.in, round16(count), m_taps.data(), s.ring.slot(y));
            const int rows = rows_ready(y, s.next_out, oy1);
            if (rows == 0) continue;
            s.ring.window(s.next_out, k_taps + rows - 1, window);
            if (rows == 2) {
                StatsRow st[2];
                for (int r = 0; r < 2; ++r) {
                    const std::size_t off = stats_row(strip, s.next_out + r);
                    st[r] = {&a.mean[off], &b.mean[off], &a.variance[off], &b.variance[off]};
                }
                double row_sums[2];
                m_kernels.column2_ssim(window, count, m_taps.data(), st, row_sums);
                sum += row_sums[0];
                sum += row_sums[1];
                s.next_out += 2;
                continue;
            }
            filter_columns(m_kernels, rows, window, round16(count), m_taps.data(), w.gd2);
            for (int r = 0; r < rows; ++r, ++s.next_out) {
                const std::size_t off = stats_row(strip, s.next_out);
                sum += ssim_row(count, &a.mean[off], &b.mean[off], &a.variance[off], &b.variance[off], w.gd2[r]);
            }
        }
        return sum;
    }

    const std::vector<const SsimStats*>& m_slices;
    const std::vector<std::pair<std::size_t, std::size_t>>& m_pairs;
    int m_width = 0, m_height = 0;
    std::array<double, k_taps> m_taps = taps11();
    Kernels m_kernels;
};

}  // namespace

std::vector<double> ssim_gaussian_taps() {
    // scipy.ndimage._gaussian_kernel1d: exp(-0.5 / sigma^2 * x^2), normalised by numpy's
    // sum (8 partial sums, then the rest in order).
    const double sigma2 = 1.5 * 1.5;
    std::vector<double> g(k_taps);
    for (int i = 0; i < k_taps; ++i) {
        const double x = i - k_ssim_radius;
        g[static_cast<std::size_t>(i)] = std::exp(-0.5 / sigma2 * (x * x));
    }
    double sum = ((g[0] + g[1]) + (g[2] + g[3])) + ((g[4] + g[5]) + (g[6] + g[7]));
    for (int i = 8; i < k_taps; ++i) sum += g[static_cast<std::size_t>(i)];
    for (double& v : g) v /= sum;
    return g;
}

SsimStats ssim_prepare(const Image8& image) {
    if (image.width < k_taps || image.height < k_taps) {
        throw InputError("slice is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                         "; ssim needs at least 11x11 (the Gaussian window)");
    }
    SsimStats s;
    s.width = image.width;
    s.height = image.height;
    const int ow = image.width - k_halo;
    const int oh = image.height - k_halo;
    const int strips = (ow + k_strip - 1) / k_strip;
    // Strip by strip, so that a band of a strip is one contiguous run of memory: the pixels
    // with their halo ([strip][row][144], zeros past the image) and the statistics
    // ([strip][output row][128]; past the valid region they are never read, nor written).
    s.pixels.assign(static_cast<std::size_t>(strips) * static_cast<std::size_t>(image.height) * k_strip_pixels, 0);
    for (int strip = 0; strip < strips; ++strip) {
        const std::size_t x0 = static_cast<std::size_t>(strip) * k_strip;
        const std::size_t n = std::min(k_strip_pixels, static_cast<std::size_t>(image.width) - x0);
        for (int y = 0; y < image.height; ++y) {
            std::copy_n(image.row(y) + x0, n, &s.pixels[pixels_offset(image.height, strip, y)]);
        }
    }
    s.mean.resize(static_cast<std::size_t>(strips) * static_cast<std::size_t>(oh) * k_strip);
    s.variance.resize(static_cast<std::size_t>(strips) * static_cast<std::size_t>(oh) * k_strip);
    const auto taps = taps11();
    const Kernels kernels;
    std::array<double, k_strip_pixels> in_x{}, in_x2{};
    std::array<std::array<double, k_strip>, 2> mu{}, ex2{};
    double* mu_rows[2] = {mu[0].data(), mu[1].data()};
    double* ex2_rows[2] = {ex2[0].data(), ex2[1].data()};
    std::vector<double> ring_memory(2 * Ring::k_values);
    const Ring ring_x{ring_memory.data()}, ring_x2{ring_memory.data() + Ring::k_values};
    const double* window[Ring::k_rows];
    for (int strip = 0; strip < strips; ++strip) {
        const int width = round16(std::min(k_strip, ow - strip * k_strip));
        int next_out = 0;
        for (int y = 0; y < image.height; ++y) {
            values_and_squares(&s.pixels[pixels_offset(image.height, strip, y)], round16(width + k_halo), in_x.data(),
                               in_x2.data());
            kernels.filter_row(in_x.data(), width, taps.data(), ring_x.slot(y));
            kernels.filter_row(in_x2.data(), width, taps.data(), ring_x2.slot(y));
            const int rows = rows_ready(y, next_out, oh);
            if (rows == 0) continue;
            for (auto [ring, out] : {std::pair{&ring_x, mu_rows}, std::pair{&ring_x2, ex2_rows}}) {
                ring->window(next_out, k_taps + rows - 1, window);
                filter_columns(kernels, rows, window, width, taps.data(), out);
            }
            for (int r = 0; r < rows; ++r, ++next_out) {
                const std::size_t off = stats_offset(oh, strip, next_out);
                store_stats(width, mu_rows[r], ex2_rows[r], &s.mean[off], &s.variance[off]);
            }
        }
    }
    return s;
}

double ssim_compare(const SsimStats& a, const SsimStats& b) {
    double out = 0.0;
    ssim_compare_pairs({&a, &b}, {{0, 1}}, &out);
    return out;
}

void ssim_compare_pairs(const std::vector<const SsimStats*>& slices,
                        const std::vector<std::pair<std::size_t, std::size_t>>& pairs, double* out, ThreadPool* pool) {
    // A slice against itself: d = 0, so G*d^2 = 0 and mu_x - mu_y = 0 exactly, every map
    // value is (B1 * B2) / (B1 * B2) = 1 exactly (B1 >= C1 > 0, B2 > 0) and so is their mean.
    std::vector<std::pair<std::size_t, std::size_t>> work;
    std::vector<std::size_t> where;
    for (std::size_t p = 0; p < pairs.size(); ++p) {
        const SsimStats* a = slices.at(pairs[p].first);
        const SsimStats* b = slices.at(pairs[p].second);
        check_same_size(*a, *b);
        if (a == b) {
            out[p] = 1.0;
        } else {
            work.push_back(pairs[p]);
            where.push_back(p);
        }
    }
    if (work.empty()) return;
    std::vector<double> scores(work.size());
    PairScorer(slices, work).run(scores.data(), pool);
    for (std::size_t k = 0; k < work.size(); ++k) out[where[k]] = scores[k];
}

double ssim(const Image8& a, const Image8& b) { return ssim_compare(ssim_prepare(a), ssim_prepare(b)); }

}  // namespace lessmore
