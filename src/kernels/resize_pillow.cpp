// Pillow's LANCZOS resize for 8-bit grey images, reproduced bit for bit
// (Pillow 9.x src/libImaging/Resample.c; docs/methods.md, section "Pillow LANCZOS resize").
#include <lessmore/resize_pillow.hpp>
#include "kernels/cpu_dispatch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace lessmore {
namespace {

constexpr int k_precision_bits = 32 - 8 - 2;
constexpr double k_lanczos_support = 3.0;

// Same operation order as Pillow, so the doubles (and hence the rounded
// fixed-point weights) are identical.
inline double sinc_filter(double x) {
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return std::sin(x) / x;
}

inline double lanczos_filter(double x) {
    if (-3.0 <= x && x < 3.0) return sinc_filter(x) * sinc_filter(x / 3);
    return 0.0;
}

using Coefficients = PillowLanczosResizer::Axis;

// The fixed-length windows of Axis::padded (see resize_pillow.hpp).
void pad(Coefficients& c, int in_size) {
    int longest = 0;
    for (const int n : c.count) longest = std::max(longest, n);
    const int padded = (longest + Coefficients::k_block - 1) / Coefficients::k_block * Coefficients::k_block;
    if (padded == 0 || padded > in_size) return;
    c.padded = padded;
    const std::size_t out_size = c.first.size();
    c.padded_first.resize(out_size);
    c.padded_high.assign(out_size * static_cast<std::size_t>(padded), 0);
    c.padded_low.assign(out_size * static_cast<std::size_t>(padded), 0);
    for (std::size_t xx = 0; xx < out_size; ++xx) {
        const int start = std::min(c.first[xx], in_size - padded);
        c.padded_first[xx] = start;
        for (int x = 0; x < c.count[xx]; ++x) {
            const std::size_t from = xx * static_cast<std::size_t>(c.ksize) + static_cast<std::size_t>(x);
            const std::size_t to =
                xx * static_cast<std::size_t>(padded) + static_cast<std::size_t>(c.first[xx] - start + x);
            c.padded_high[to] = c.high[from];
            c.padded_low[to] = c.low[from];
        }
    }
}

Coefficients precompute(int in_size, int out_size) {
    const float in0 = 0.0f;
    const auto in1 = static_cast<float>(in_size);
    double scale = static_cast<double>(in1 - in0) / out_size;
    double filterscale = scale;
    if (filterscale < 1.0) filterscale = 1.0;
    const double support = k_lanczos_support * filterscale;

    Coefficients c;
    c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(out_size);
    c.count.resize(out_size);
    c.weights.assign(static_cast<std::size_t>(out_size) * c.ksize, 0);
    std::vector<double> k(c.ksize);
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0;
        const double ss = 1.0 / filterscale;
        int xmin = static_cast<int>(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = static_cast<int>(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; ++x) {
            const double w = lanczos_filter((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; ++x) {
            if (ww != 0.0) k[x] /= ww;
        }
        std::int32_t* out = &c.weights[static_cast<std::size_t>(xx) * c.ksize];
        for (int x = 0; x < xmax; ++x) {
            out[x] = k[x] < 0 ? static_cast<std::int32_t>(-0.5 + k[x] * (1 << k_precision_bits))
                              : static_cast<std::int32_t>(0.5 + k[x] * (1 << k_precision_bits));
        }
        c.first[xx] = xmin;
        c.count[xx] = xmax;
    }
    c.high.resize(c.weights.size());
    c.low.resize(c.weights.size());
    for (std::size_t i = 0; i < c.weights.size(); ++i) {
        c.high[i] = static_cast<std::int16_t>(c.weights[i] >> 11);
        c.low[i] = static_cast<std::int16_t>(c.weights[i] & 0x7FF);
    }
    pad(c, in_size);
    return c;
}

inline std::uint8_t clip8(std::int32_t in) {
    if (in >= (1 << k_precision_bits << 8)) return 255;
    if (in <= 0) return 0;
    return static_cast<std::uint8_t>(in >> k_precision_bits);
}

// Exact integer dot product of 8-bit pixels with 22-bit weights. Each weight is split
// as hi * 2^11 + lo (lo in [0, 2^11)) so both halves fit int16 and the loop becomes
// 16-bit multiply-adds; the sum equals Pillow's 32-bit accumulation (no overflow
// is possible in either for weights normalised to 1).
LESSMORE_CLONES_AVX2
std::int32_t dot_split(const std::uint8_t* src, const std::int16_t* hi, const std::int16_t* lo, int n) {
    std::int32_t shi = 0, slo = 0;
    for (int x = 0; x < n; ++x) {
        const std::int16_t p = src[x];
        shi += p * hi[x];
        slo += p * lo[x];
    }
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(shi) << 11) + slo;
}

void resample_horizontal(const Image8& in, int first_row, int rows, const Coefficients& c, Image8& out) {
    const int out_w = static_cast<int>(c.first.size());
    out = Image8(out_w, rows);
    if (c.padded > 0) {
        for (int yy = 0; yy < rows; ++yy) {
            const std::uint8_t* src = in.row(yy + first_row);
            std::uint8_t* dst = out.row(yy);
            for (int xx = 0; xx < out_w; ++xx) {
                const std::size_t off = static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.padded);
                // A whole number of vector iterations: the remainder loop never runs.
                const std::int32_t ss =
                    (1 << (k_precision_bits - 1)) +
                    dot_split(src + c.padded_first[xx], &c.padded_high[off], &c.padded_low[off], c.padded);
                dst[xx] = clip8(ss);
            }
        }
        return;
    }
    for (int yy = 0; yy < rows; ++yy) {
        const std::uint8_t* src = in.row(yy + first_row);
        std::uint8_t* dst = out.row(yy);
        for (int xx = 0; xx < out_w; ++xx) {
            const std::size_t off = static_cast<std::size_t>(xx) * c.ksize;
            const std::int32_t ss =
                (1 << (k_precision_bits - 1)) + dot_split(src + c.first[xx], &c.high[off], &c.low[off], c.count[xx]);
            dst[xx] = clip8(ss);
        }
    }
}

void resample_vertical(const Image8& in, int row_offset, const Coefficients& c, Image8& out) {
    const int out_h = static_cast<int>(c.first.size());
    const int w = in.width;
    out = Image8(w, out_h);
    std::vector<std::int32_t> acc(w);
    for (int yy = 0; yy < out_h; ++yy) {
        const std::int32_t* k = &c.weights[static_cast<std::size_t>(yy) * c.ksize];
        const int ymin = c.first[yy] - row_offset;
        std::fill(acc.begin(), acc.end(), 1 << (k_precision_bits - 1));
        for (int y = 0; y < c.count[yy]; ++y) {
            const std::uint8_t* src = in.row(ymin + y);
            const std::int32_t wy = k[y];
            for (int xx = 0; xx < w; ++xx) acc[xx] += src[xx] * wy;
        }
        std::uint8_t* dst = out.row(yy);
        for (int xx = 0; xx < w; ++xx) dst[xx] = clip8(acc[xx]);
    }
}

}  // namespace

PillowLanczosResizer::PillowLanczosResizer(int in_width, int in_height, int out_width, int out_height)
    : m_in_width(in_width), m_in_height(in_height), m_out_width(out_width), m_out_height(out_height) {
    if (out_width <= 0 || out_height <= 0 || in_width <= 0 || in_height <= 0) {
        throw std::invalid_argument("PillowLanczosResizer: empty image or size");
    }
    m_horizontal = precompute(in_width, out_width);
    m_vertical = precompute(in_height, out_height);
}

Image8 PillowLanczosResizer::resize(const Image8& in) const {
    if (in.width != m_in_width || in.height != m_in_height) {
        throw std::invalid_argument("PillowLanczosResizer: image size differs from the plan");
    }
    if (m_in_width == m_out_width && m_in_height == m_out_height) return in;  // Pillow returns a copy

    const bool need_horizontal = m_out_width != m_in_width;
    const bool need_vertical = m_out_height != m_in_height;
    // Only the input rows the vertical pass reads go through the horizontal pass.
    const int ybox_first = m_vertical.first.front();
    const int ybox_last = m_vertical.first.back() + m_vertical.count.back();

    Image8 temp;
    const Image8* src = &in;
    int row_offset = 0;
    if (need_horizontal) {
        resample_horizontal(in, ybox_first, ybox_last - ybox_first, m_horizontal, temp);
        src = &temp;
        row_offset = ybox_first;
    }
    if (!need_vertical) return temp;
    Image8 out;
    resample_vertical(*src, row_offset, m_vertical, out);
    return out;
}

Image8 resize_lanczos_pillow(const Image8& in, int out_width, int out_height) {
    if (in.width <= 0 || in.height <= 0) throw std::invalid_argument("resize_lanczos_pillow: empty image");
    return PillowLanczosResizer(in.width, in.height, out_width, out_height).resize(in);
}

}  // namespace lessmore
