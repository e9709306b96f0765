// SSIM as scikit-image 0.19 computes it (REFERENCE.md section 4).
#include <lessmore/error.hpp>
#include <lessmore/similarity.hpp>

#include <cmath>
#include <string>

namespace lessmore {
namespace {

constexpr int k_taps = 2 * k_ssim_radius + 1;
constexpr double k_c1 = (0.01 * 255) * (0.01 * 255);
constexpr double k_c2 = (0.03 * 255) * (0.03 * 255);

// Horizontal pass of one row: out[x] = sum_k g[k] * in[x + k], x in [0, w - 10).
__attribute__((target_clones("avx2", "default")))
void filter_row(const double* in, int out_width, const double* g, double* out) {
    for (int x = 0; x < out_width; ++x) out[x] = g[0] * in[x];
    for (int k = 1; k < k_taps; ++k) {
        const double gk = g[k];
        const double* src = in + k;
        for (int x = 0; x < out_width; ++x) out[x] += gk * src[x];
    }
}

// Vertical pass: out[x] = sum_k g[k] * rows[k][x].
__attribute__((target_clones("avx2", "default")))
void filter_column(const double* const* rows, int width, const double* g, double* out) {
    for (int x = 0; x < width; ++x) out[x] = g[0] * rows[0][x];
    for (int k = 1; k < k_taps; ++k) {
        const double gk = g[k];
        const double* src = rows[k];
        for (int x = 0; x < width; ++x) out[x] += gk * src[x];
    }
}

// Filters two images row by row with a ring of 11 horizontally filtered rows, so the
// working set stays in cache; `emit(y, f1, f2)` receives each valid output row.
template <typename Source, typename Emit>
void filter_two(int width, int height, Source&& source, Emit&& emit) {
    const std::vector<double> g = ssim_gaussian_taps();
    const int ow = width - 2 * k_ssim_radius;
    const int oh = height - 2 * k_ssim_radius;
    std::vector<double> in1(static_cast<std::size_t>(width)), in2(static_cast<std::size_t>(width));
    std::vector<double> ring1(static_cast<std::size_t>(k_taps) * ow), ring2(static_cast<std::size_t>(k_taps) * ow);
    std::vector<double> out1(static_cast<std::size_t>(ow)), out2(static_cast<std::size_t>(ow));
    const double* rows1[k_taps];
    const double* rows2[k_taps];
    for (int y = 0; y < height; ++y) {
        source(y, in1.data(), in2.data());
        const std::size_t slot = static_cast<std::size_t>(y % k_taps) * ow;
        filter_row(in1.data(), ow, g.data(), &ring1[slot]);
        filter_row(in2.data(), ow, g.data(), &ring2[slot]);
        if (y < k_taps - 1) continue;
        const int oy = y - (k_taps - 1);
        for (int k = 0; k < k_taps; ++k) {
            const std::size_t s = static_cast<std::size_t>((oy + k) % k_taps) * ow;
            rows1[k] = &ring1[s];
            rows2[k] = &ring2[s];
        }
        filter_column(rows1, ow, g.data(), out1.data());
        filter_column(rows2, ow, g.data(), out2.data());
        emit(oy, out1.data(), out2.data());
    }
    (void)oh;
}

// The SSIM map of one output row, summed.
__attribute__((target_clones("avx2", "default")))
double ssim_row(int n, const float* mx, const float* my, const float* vx, const float* vy, const double* gd,
                const double* gd2) {
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
        const double ux = mx[i], uy = my[i];
        const double vd = gd2[i] - gd[i] * gd[i];  // var(x - y)
        const double b2 = static_cast<double>(vx[i]) + static_cast<double>(vy[i]) + k_c2;
        const double a2 = b2 - vd;                  // 2 cov(x, y) + C2
        const double b1 = ux * ux + uy * uy + k_c1;
        const double a1 = b1 - gd[i] * gd[i];       // 2 ux uy + C1, as b1 - (ux - uy)^2
        sum += (a1 * a2) / (b1 * b2);
    }
    return sum;
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
    filter_two(
        image.width, image.height,
        [&](int y, double* x1, double* x2) {
            const std::uint8_t* row = image.row(y);
            for (int x = 0; x < image.width; ++x) {
                const double v = row[x];
                x1[x] = v;
                x2[x] = v * v;
            }
        },
        [&](int oy, const double* mu, const double* ex2) {
            float* m = &s.mean[static_cast<std::size_t>(oy) * ow];
            float* var = &s.variance[static_cast<std::size_t>(oy) * ow];
            for (int x = 0; x < ow; ++x) {
                m[x] = static_cast<float>(mu[x]);
                var[x] = static_cast<float>(ex2[x] - mu[x] * mu[x]);
            }
        });
    return s;
}

double ssim_compare(const SsimStats& a, const SsimStats& b) {
    if (a.width != b.width || a.height != b.height) throw InputError("ssim: slices of different sizes");
    const int ow = a.width - 2 * k_ssim_radius;
    const int oh = a.height - 2 * k_ssim_radius;
    double total = 0.0;
    filter_two(
        a.width, a.height,
        [&](int y, double* d1, double* d2) {
            const std::uint8_t* ra = a.pixels.data() + static_cast<std::size_t>(y) * a.width;
            const std::uint8_t* rb = b.pixels.data() + static_cast<std::size_t>(y) * b.width;
            for (int x = 0; x < a.width; ++x) {
                const double d = static_cast<double>(static_cast<int>(ra[x]) - static_cast<int>(rb[x]));
                d1[x] = d;
                d2[x] = d * d;
            }
        },
        [&](int oy, const double* gd, const double* gd2) {
            const std::size_t off = static_cast<std::size_t>(oy) * ow;
            total += ssim_row(ow, &a.mean[off], &b.mean[off], &a.variance[off], &b.variance[off], gd, gd2);
        });
    return total / (static_cast<double>(ow) * oh);
}

double ssim(const Image8& a, const Image8& b) { return ssim_compare(ssim_prepare(a), ssim_prepare(b)); }

}  // namespace lessmore
