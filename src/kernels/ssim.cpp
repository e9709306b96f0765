// SSIM as scikit-image 0.19 computes it (docs/methods.md, sections "SSIM" and "SSIM fast evaluation and its accuracy").
//
// Per slice (once): local mean mu = G*x and variance G*x^2 - mu^2, computed in double.
// The variance is kept as float (its cancellation is done); the mean as fixed point with
// 23 fractional bits (resolution 1.2e-7, half a float's near 255), because per pair the
// difference of two means is squared and subtracted from G*d^2.
// Per pair: with d = x - y, 2 cov(x, y) = var(x) + var(y) - var(d) and
// var(d) = G*d^2 - (mu_x - mu_y)^2, so only d^2 is filtered, in double.
#include <lessmore/error.hpp>
#include <lessmore/mutual_information.hpp>
#include <lessmore/ssim.hpp>
#include "kernels/cpu_dispatch.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

namespace lessmore {
namespace {

constexpr int k_taps = 2 * k_ssim_radius + 1;
constexpr double k_c1 = (0.01 * 255) * (0.01 * 255);
constexpr double k_c2 = (0.03 * 255) * (0.03 * 255);

// The 11-tap Gaussian is symmetric (g[k] == g[10 - k] exactly), so each output takes
// 6 multiplies and 10 adds, summed from the centre outwards as scipy.ndimage does.
// Horizontal pass of one row: out[x] = sum_k g[k] * in[x + k].
LESSMORE_CLONES_AVX2
void filter_row(const double* __restrict in, int out_width, const double* g, double* __restrict out) {
    const double g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4], g5 = g[5];
    for (int x = 0; x < out_width; ++x) {
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
    const double* __restrict r0 = rows[0];
    const double* __restrict r1 = rows[1];
    const double* __restrict r2 = rows[2];
    const double* __restrict r3 = rows[3];
    const double* __restrict r4 = rows[4];
    const double* __restrict r5 = rows[5];
    const double* __restrict r6 = rows[6];
    const double* __restrict r7 = rows[7];
    const double* __restrict r8 = rows[8];
    const double* __restrict r9 = rows[9];
    const double* __restrict r10 = rows[10];
    for (int x = 0; x < width; ++x) {
        out[x] = ((((g5 * r5[x] + g4 * (r4[x] + r6[x])) + g3 * (r3[x] + r7[x])) + g2 * (r2[x] + r8[x])) +
                  g1 * (r1[x] + r9[x])) +
                 g0 * (r0[x] + r10[x]);
    }
}

// Output columns per strip: the rings of 11 filtered rows then stay in the L1 cache.
constexpr int k_strip = 128;

// Gaussian-filters N images over their valid region, in vertical strips, row by row,
// through a ring of 11 horizontally filtered rows per image.
// `source(y, x0, count, in)` fills in[i][0..count) with columns [x0, x0 + count) of
// row y of image i; `emit(oy, ox0, count, out)` receives out[i][0..count), the filtered
// output columns [ox0, ox0 + count) of valid row oy.
template <int N, typename Source, typename Emit>
void filter_images(int width, int height, Source&& source, Emit&& emit) {
    const std::vector<double> g = ssim_gaussian_taps();
    const int ow = width - 2 * k_ssim_radius;
    constexpr int halo = 2 * k_ssim_radius;
    std::array<std::vector<double>, N> in, ring, out;
    std::array<double*, N> in_ptr{}, out_ptr{};
    for (int i = 0; i < N; ++i) {
        in[i].resize(k_strip + halo);
        ring[i].resize(static_cast<std::size_t>(k_taps) * k_strip);
        out[i].resize(k_strip);
        in_ptr[i] = in[i].data();
        out_ptr[i] = out[i].data();
    }
    const double* rows[k_taps];
    for (int ox0 = 0; ox0 < ow; ox0 += k_strip) {
        const int count = std::min(k_strip, ow - ox0);
        for (int y = 0; y < height; ++y) {
            source(y, ox0, count + halo, in_ptr);
            const std::size_t slot = static_cast<std::size_t>(y % k_taps) * k_strip;
            for (int i = 0; i < N; ++i) filter_row(in[i].data(), count, g.data(), &ring[i][slot]);
            if (y < k_taps - 1) continue;
            const int oy = y - (k_taps - 1);
            for (int i = 0; i < N; ++i) {
                for (int k = 0; k < k_taps; ++k)
                    rows[k] = &ring[i][static_cast<std::size_t>((oy + k) % k_taps) * k_strip];
                filter_column(rows, count, g.data(), out[i].data());
            }
            emit(oy, ox0, count, out_ptr);
        }
    }
}

constexpr double k_mean_scale = 8388608.0;  // 2^23
constexpr double k_mean_unscale = 1.0 / k_mean_scale;

inline double ssim_at(std::int32_t qx, std::int32_t qy, double vx, double vy, double gd2) {
    const double ux = qx * k_mean_unscale, uy = qy * k_mean_unscale;
    const double dm = static_cast<double>(qx - qy) * k_mean_unscale;  // G*d, exact difference
    const double vd = gd2 - dm * dm;                                  // var(x - y)
    const double b2 = vx + vy + k_c2;
    const double a2 = b2 - vd;  // 2 cov(x, y) + C2
    const double b1 = ux * ux + uy * uy + k_c1;
    const double a1 = b1 - dm * dm;  // 2 ux uy + C1
    return (a1 * a2) / (b1 * b2);
}

// The SSIM map of one output row, summed in 8 lanes so the loop vectorises (a fixed
// order: the result depends only on the inputs).
LESSMORE_CLONES_AVX2
double ssim_row(int n, const std::int32_t* __restrict mx, const std::int32_t* __restrict my, const float* __restrict vx,
                const float* __restrict vy, const double* __restrict gd2) {
    constexpr int k_lanes = 8;
    double acc[k_lanes] = {};
    int i = 0;
    for (; i + k_lanes <= n; i += k_lanes) {
        for (int l = 0; l < k_lanes; ++l) acc[l] += ssim_at(mx[i + l], my[i + l], vx[i + l], vy[i + l], gd2[i + l]);
    }
    double sum = 0.0;
    for (; i < n; ++i) sum += ssim_at(mx[i], my[i], vx[i], vy[i], gd2[i]);
    for (int l = 0; l < k_lanes; ++l) sum += acc[l];
    return sum;
}

// One row of per-slice statistics: fixed-point mean, float variance.
LESSMORE_CLONES_AVX2
void store_stats(int n, const double* __restrict mu, const double* __restrict ex2, std::int32_t* __restrict mean,
                 float* __restrict variance) {
    for (int x = 0; x < n; ++x) {
        mean[x] = static_cast<std::int32_t>(mu[x] * k_mean_scale + 0.5);  // mean >= 0
        variance[x] = static_cast<float>(ex2[x] - mu[x] * mu[x]);
    }
}

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
    s.pixels = image.pixels;
    const int ow = image.width - 2 * k_ssim_radius;
    const int oh = image.height - 2 * k_ssim_radius;
    s.mean.resize(static_cast<std::size_t>(ow) * oh);
    s.variance.resize(static_cast<std::size_t>(ow) * oh);
    filter_images<2>(
        image.width, image.height,
        [&](int y, int x0, int count, const std::array<double*, 2>& in) {
            const std::uint8_t* row = image.row(y) + x0;
            for (int x = 0; x < count; ++x) {
                const double v = row[x];
                in[0][x] = v;
                in[1][x] = v * v;
            }
        },
        [&](int oy, int ox0, int count, const std::array<double*, 2>& out) {
            const std::size_t off = static_cast<std::size_t>(oy) * ow + ox0;
            store_stats(count, out[0], out[1], &s.mean[off], &s.variance[off]);
        });
    return s;
}

double ssim_compare(const SsimStats& a, const SsimStats& b) {
    if (a.width != b.width || a.height != b.height) throw InputError("ssim: slices of different sizes");
    const int ow = a.width - 2 * k_ssim_radius;
    const int oh = a.height - 2 * k_ssim_radius;
    double total = 0.0;
    filter_images<1>(
        a.width, a.height,
        [&](int y, int x0, int count, const std::array<double*, 1>& in) {
            const std::uint8_t* ra = a.pixels.data() + static_cast<std::size_t>(y) * a.width + x0;
            const std::uint8_t* rb = b.pixels.data() + static_cast<std::size_t>(y) * b.width + x0;
            for (int x = 0; x < count; ++x) {
                const int d = static_cast<int>(ra[x]) - static_cast<int>(rb[x]);
                in[0][x] = static_cast<double>(d * d);
            }
        },
        [&](int oy, int ox0, int count, const std::array<double*, 1>& out) {
            const std::size_t off = static_cast<std::size_t>(oy) * ow + ox0;
            total += ssim_row(count, &a.mean[off], &b.mean[off], &a.variance[off], &b.variance[off], out[0]);
        });
    return total / (static_cast<double>(ow) * oh);
}

double ssim(const Image8& a, const Image8& b) { return ssim_compare(ssim_prepare(a), ssim_prepare(b)); }

}  // namespace lessmore
