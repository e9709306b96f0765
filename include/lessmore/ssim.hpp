#pragma once
// SSIM on 8-bit slices, as scikit-image computes it (docs/methods.md, section 'SSIM').
#include <lessmore/image.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/volume.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace lessmore {

// Per-slice SSIM statistics over the valid region (a 5-pixel border left out):
// local mean and population variance under the 11x11 Gaussian window (sigma 1.5),
// computed in double; the variance is stored as float (its cancellation is done).
struct SsimStats {
    int width = 0;  // of the image
    int height = 0;
    std::vector<std::uint8_t> pixels;  // in strips of 138 columns, 128 apart ([strip][row][138], padded)
    // Over the (width - 10) x (height - 10) valid region, stored in strips of 128 columns
    // ([strip][row][128], the last strip padded with zeros), the order the kernel reads them.
    // (Uninitialised allocation: ssim_prepare writes every value the kernel reads.)
    std::vector<std::int32_t, UninitialisedAllocator<std::int32_t>> mean;  // fixed point: mean * 2^23
    std::vector<float, UninitialisedAllocator<float>> variance;
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

// ssim_compare(*slices[i], *slices[j]) for every (i, j) of `pairs`, into out[0 ..
// pairs.size()), bit for bit, but faster when the pairs share slices: the pairs pass over
// the slices together, band by band, so each slice's statistics come from memory once per
// call rather than once per pair. Meant for a few slices (up to ~16) and their pairs.
// With a pool, the image's strips (128 columns each) are spread over its threads, so even
// one pair uses them all; the scores are the same with or without.
void ssim_compare_pairs(const std::vector<const SsimStats*>& slices,
                        const std::vector<std::pair<std::size_t, std::size_t>>& pairs, double* out,
                        ThreadPool* pool = nullptr);

double ssim(const Image8& a, const Image8& b);

// The 11 Gaussian taps scipy.ndimage uses for sigma 1.5, truncate 3.5.
std::vector<double> ssim_gaussian_taps();

}  // namespace lessmore
