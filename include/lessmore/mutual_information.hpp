#pragma once
// Normalized mutual information on 8-bit slices, as scikit-image computes it
// (docs/methods.md, section 'Normalized mutual information').
#include <lessmore/image.hpp>
#include <lessmore/thread_pool.hpp>

#include <cstdint>
#include <vector>

namespace lessmore {

// Per-slice NMI data: every pixel's bin over the image's own [min, max] (numpy's
// histogramdd rule) and the marginal entropy.
struct MiStats {
    int bins = 100;
    std::size_t pixels = 0;
    std::vector<std::uint8_t> bin8;    // per pixel, when bins <= 256
    std::vector<std::uint16_t> bin16;  // per pixel, when bins > 256
    double entropy = 0.0;              // natural log
};

MiStats mi_prepare(const Image8& image, int bins);

// Studholme's (H(X) + H(Y)) / H(X, Y), equal to
// skimage.metrics.normalized_mutual_information(a, b, bins=bins). Two constant images
// give 0/0 = NaN, as in scikit-image. With a pool, the pixels are counted in parts on its
// threads; the score is the same.
double mi_compare(const MiStats& a, const MiStats& b, ThreadPool* pool = nullptr);

double normalized_mutual_information(const Image8& a, const Image8& b, int bins = 100);

}  // namespace lessmore
