#pragma once
// SSIM on 8-bit slices, as scikit-image computes it (docs/methods.md, section 'SSIM').
#include <lessmore/image.hpp>

#include <cstdint>
#include <vector>

namespace lessmore {

// Per-slice SSIM statistics over the valid region (a 5-pixel border left out):
// local mean and population variance under the 11x11 Gaussian window (sigma 1.5),
// computed in double; the variance is stored as float (its cancellation is done).
struct SsimStats {
    int width = 0;  // of the image
    int height = 0;
    std::vector<std::uint8_t> pixels;
    std::vector<std::int32_t> mean;  // (width - 10) x (height - 10), fixed point: mean * 2^23
    std::vector<float> variance;     // (width - 10) x (height - 10)
};

constexpr int k_ssim_radius = 5;  // int(3.5 * 1.5 + 0.5): scikit-image's truncate 3.5

// Throws InputError when the image is smaller than 11x11 (scikit-image refuses it too).
SsimStats ssim_prepare(const Image8& image);

// Mean SSIM (Wang et al. 2004; K1 0.01, K2 0.03, L 255), equal to
// skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=255) to ~1e-8 on CT (1e-7 at worst, on flat
// periodic patterns; docs/methods.md). The covariance comes from
// 2*cov(x, y) = var(x) + var(y) - var(x - y), so the per-pair work filters the
// difference image only, in double.
double ssim_compare(const SsimStats& a, const SsimStats& b);

double ssim(const Image8& a, const Image8& b);

// The 11 Gaussian taps scipy.ndimage uses for sigma 1.5, truncate 3.5.
std::vector<double> ssim_gaussian_taps();

}  // namespace lessmore
