#pragma once
// Similarity of 3-D units (slabs and patches) on their 8-bit arrays (docs/methods.md,
// section "3-D units"): SSIM and NMI as scikit-image computes them for 3-D input, and the
// position-by-position comparison of a slab's slice hashes.
#include <lessmore/dhash.hpp>
#include <lessmore/image.hpp>
#include <lessmore/mutual_information.hpp>

#include <cstdint>
#include <vector>

namespace lessmore {

constexpr int k_ssim3d_window = 7;  // scikit-image's win_size for uniform windows

// Per-unit 3-D SSIM data: the voxels and, over the valid region (a 3-voxel border left
// out on every side), the exact integer sums of x and x^2 over each 7x7x7 window.
struct Ssim3dStats {
    int depth = 0;
    int height = 0;
    int width = 0;
    std::vector<std::uint8_t> voxels;  // as Unit8
    std::vector<std::int32_t> sum;     // [(depth-6)][(height-6)][(width-6)]
    std::vector<std::int32_t> sum_sq;
};

// Throws InputError when any side of the unit is shorter than the 7-voxel window
// (scikit-image refuses it too: "win_size exceeds image extent").
Ssim3dStats ssim3d_prepare(const Unit8& unit);

// Mean SSIM of two units of one shape, equal to
// skimage.metrics.structural_similarity(a, b, win_size=7, gaussian_weights=False,
// use_sample_covariance=True, data_range=255) on the 3-D uint8 arrays (its defaults for
// 3-D grey input) to <= 1e-8 (docs/methods.md). Throws InputError when the shapes differ.
double ssim3d_compare(const Ssim3dStats& a, const Ssim3dStats& b);

double ssim3d(const Unit8& a, const Unit8& b);

// NMI of a unit: the unit's voxels as one flat sample (what numpy's histogramdd sees for
// a 3-D array), binned over the unit's own [min, max].
MiStats mi3d_prepare(const Unit8& unit, int bins = 100);

// skimage.metrics.normalized_mutual_information(a, b, bins=bins) on the 3-D arrays.
// Throws InputError when the shapes differ.
double mi3d_compare(const MiStats& a, const MiStats& b);

double normalized_mutual_information_3d(const Unit8& a, const Unit8& b, int bins = 100);

// Slab HASH: the Hamming distances of the slabs' slice hashes position by position
// (slice k of one slab with slice k of the other), aggregated. Both throw InputError
// when the slabs' slice counts or hash sizes differ, or when they are empty.
// max: the slabs are similar at threshold t iff every position is within t.
// mean: the average distance over the positions.
int slab_hash_max_distance(const std::vector<DHash>& a, const std::vector<DHash>& b);
double slab_hash_mean_distance(const std::vector<DHash>& a, const std::vector<DHash>& b);

}  // namespace lessmore
