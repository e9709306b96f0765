// 3-D SSIM and NMI of units and the slab HASH aggregates (docs/methods.md, section
// "3-D units").
//
// SSIM: scikit-image filters x, y, x^2, y^2 and xy with a 7x7x7 uniform window
// (scipy.ndimage.uniform_filter, in float64) and averages the SSIM map over the region
// 3 voxels in from every side, where each window lies inside the unit (so its 'reflect'
// borders never count). On 8-bit voxels every window sum is an integer below 2^31
// (343 * 255^2 = 22.3 M), so here the sums are exact int32 box sums (separable running
// sums along x, y, then z) and only the SSIM formula is evaluated in double; the result
// differs from scikit-image's float64 filtering by rounding only (docs/methods.md,
// "3-D SSIM parity"). No library computes exact integer box sums of 3-D arrays (OpenCV's
// boxFilter is 2-D), hence this small hand-written filter.
#include <lessmore/error.hpp>
#include <lessmore/unit_similarity.hpp>

#include <cstddef>
#include <string>

namespace lessmore {
namespace {

constexpr int k_win = k_ssim3d_window;
constexpr int k_pad = (k_win - 1) / 2;

std::string shape_text(int d, int h, int w) {
    return std::to_string(d) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

// Sums of `values` ([depth][height][width]) over every 7x7x7 window that lies inside,
// into out ([depth-6][height-6][width-6]): rows first, then columns of each plane, then
// across planes, each a running sum (adding the entering and subtracting the leaving
// value; integers, so exact).
template <typename T>
void box_sums(const T* values, int depth, int height, int width, std::int32_t* out) {
    const int ow = width - k_win + 1, oh = height - k_win + 1, od = depth - k_win + 1;
    const std::size_t oplane = static_cast<std::size_t>(ow) * oh;
    std::vector<std::int32_t> rows(static_cast<std::size_t>(ow) * height);  // one plane, x summed
    std::vector<std::int32_t> planes(oplane * depth);                       // x and y summed
    for (int z = 0; z < depth; ++z) {
        const T* plane = values + static_cast<std::size_t>(z) * height * width;
        for (int y = 0; y < height; ++y) {
            const T* v = plane + static_cast<std::size_t>(y) * width;
            std::int32_t* r = &rows[static_cast<std::size_t>(y) * ow];
            std::int32_t s = 0;
            for (int x = 0; x < k_win; ++x) s += v[x];
            r[0] = s;
            for (int x = 1; x < ow; ++x) {
                s += static_cast<std::int32_t>(v[x + k_win - 1]) - static_cast<std::int32_t>(v[x - 1]);
                r[x] = s;
            }
        }
        std::int32_t* p = &planes[oplane * z];
        for (int x = 0; x < ow; ++x) p[x] = 0;
        for (int y = 0; y < k_win; ++y)
            for (int x = 0; x < ow; ++x) p[x] += rows[static_cast<std::size_t>(y) * ow + x];
        for (int y = 1; y < oh; ++y) {
            const std::int32_t* enter = &rows[static_cast<std::size_t>(y + k_win - 1) * ow];
            const std::int32_t* leave = &rows[static_cast<std::size_t>(y - 1) * ow];
            const std::int32_t* prev = p + static_cast<std::size_t>(y - 1) * ow;
            std::int32_t* cur = p + static_cast<std::size_t>(y) * ow;
            for (int x = 0; x < ow; ++x) cur[x] = prev[x] + enter[x] - leave[x];
        }
    }
    for (std::size_t i = 0; i < oplane; ++i) out[i] = 0;
    for (int z = 0; z < k_win; ++z)
        for (std::size_t i = 0; i < oplane; ++i) out[i] += planes[oplane * z + i];
    for (int z = 1; z < od; ++z) {
        const std::int32_t* enter = &planes[oplane * (z + k_win - 1)];
        const std::int32_t* leave = &planes[oplane * (z - 1)];
        const std::int32_t* prev = out + oplane * (z - 1);
        std::int32_t* cur = out + oplane * z;
        for (std::size_t i = 0; i < oplane; ++i) cur[i] = prev[i] + enter[i] - leave[i];
    }
}

std::size_t valid_count(int depth, int height, int width) {
    return static_cast<std::size_t>(depth - k_win + 1) * (height - k_win + 1) * (width - k_win + 1);
}

// skimage's formula on one voxel of the valid region, from the window sums; the same
// operations in the same order (ux = sum / 343 is one rounding where scipy's three 1-D
// passes have several, the only difference).
inline double ssim_voxel(std::int32_t sx, std::int32_t sy, std::int32_t sxx, std::int32_t syy, std::int32_t sxy) {
    constexpr double np = k_win * k_win * k_win;
    constexpr double cov_norm = np / (np - 1.0);  // use_sample_covariance=True
    constexpr double c1 = (0.01 * 255.0) * (0.01 * 255.0);
    constexpr double c2 = (0.03 * 255.0) * (0.03 * 255.0);
    const double ux = sx / np, uy = sy / np;
    const double uxx = sxx / np, uyy = syy / np, uxy = sxy / np;
    const double vx = cov_norm * (uxx - ux * ux);
    const double vy = cov_norm * (uyy - uy * uy);
    const double vxy = cov_norm * (uxy - ux * uy);
    const double a1 = 2.0 * ux * uy + c1, a2 = 2.0 * vxy + c2;
    const double b1 = ux * ux + uy * uy + c1, b2 = vx + vy + c2;
    return (a1 * a2) / (b1 * b2);
}

Image8 flat_image(const Unit8& unit) {
    Image8 image;
    image.width = unit.width;
    image.height = unit.depth * unit.height;
    image.pixels = unit.voxels;
    return image;
}

void check_hashes(const std::vector<DHash>& a, const std::vector<DHash>& b) {
    if (a.empty() || a.size() != b.size()) {
        throw InputError("slab hash: slabs of " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                         " slices cannot be compared");
    }
    for (std::size_t k = 0; k < a.size(); ++k)
        if (a[k].hash_size != b[k].hash_size || a[k].words.size() != b[k].words.size())
            throw InputError("slab hash: hashes of different sizes at slice " + std::to_string(k));
}

}  // namespace

Ssim3dStats ssim3d_prepare(const Unit8& unit) {
    if (unit.depth < k_win || unit.height < k_win || unit.width < k_win) {
        throw InputError("3-D SSIM: unit " + shape_text(unit.depth, unit.height, unit.width) +
                         " is smaller than the 7x7x7 window (every side needs at least 7 voxels)");
    }
    Ssim3dStats s;
    s.depth = unit.depth;
    s.height = unit.height;
    s.width = unit.width;
    s.voxels = unit.voxels;
    std::vector<std::uint16_t> squares(unit.voxels.size());
    for (std::size_t i = 0; i < squares.size(); ++i)
        squares[i] = static_cast<std::uint16_t>(unit.voxels[i] * unit.voxels[i]);
    const std::size_t n = valid_count(s.depth, s.height, s.width);
    s.sum.resize(n);
    s.sum_sq.resize(n);
    box_sums(s.voxels.data(), s.depth, s.height, s.width, s.sum.data());
    box_sums(squares.data(), s.depth, s.height, s.width, s.sum_sq.data());
    return s;
}

double ssim3d_compare(const Ssim3dStats& a, const Ssim3dStats& b) {
    if (a.depth != b.depth || a.height != b.height || a.width != b.width) {
        throw InputError("3-D SSIM: units of different shapes (" + shape_text(a.depth, a.height, a.width) + " and " +
                         shape_text(b.depth, b.height, b.width) + ")");
    }
    std::vector<std::uint16_t> products(a.voxels.size());
    for (std::size_t i = 0; i < products.size(); ++i)
        products[i] = static_cast<std::uint16_t>(a.voxels[i] * b.voxels[i]);
    const std::size_t n = valid_count(a.depth, a.height, a.width);
    std::vector<std::int32_t> sxy(n);
    box_sums(products.data(), a.depth, a.height, a.width, sxy.data());
    // Summed row by row, then the row sums: rounding stays far below the 1e-8 parity.
    const std::size_t row = static_cast<std::size_t>(a.width - k_win + 1);
    double total = 0.0;
    for (std::size_t r0 = 0; r0 < n; r0 += row) {
        double partial = 0.0;
        for (std::size_t i = r0; i < r0 + row; ++i)
            partial += ssim_voxel(a.sum[i], b.sum[i], a.sum_sq[i], b.sum_sq[i], sxy[i]);
        total += partial;
    }
    return total / static_cast<double>(n);
}

double ssim3d(const Unit8& a, const Unit8& b) { return ssim3d_compare(ssim3d_prepare(a), ssim3d_prepare(b)); }

MiStats mi3d_prepare(const Unit8& unit, int bins) { return mi_prepare(flat_image(unit), bins); }

double mi3d_compare(const MiStats& a, const MiStats& b) { return mi_compare(a, b); }

double normalized_mutual_information_3d(const Unit8& a, const Unit8& b, int bins) {
    if (a.depth != b.depth || a.height != b.height || a.width != b.width) {
        throw InputError("3-D NMI: units of different shapes (" + shape_text(a.depth, a.height, a.width) + " and " +
                         shape_text(b.depth, b.height, b.width) + ")");
    }
    return mi_compare(mi3d_prepare(a, bins), mi3d_prepare(b, bins));
}

int slab_hash_max_distance(const std::vector<DHash>& a, const std::vector<DHash>& b) {
    check_hashes(a, b);
    int worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        const int d = hamming_distance(a[k], b[k]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

double slab_hash_mean_distance(const std::vector<DHash>& a, const std::vector<DHash>& b) {
    check_hashes(a, b);
    long total = 0;  // integers: exact whatever the order
    for (std::size_t k = 0; k < a.size(); ++k) total += hamming_distance(a[k], b[k]);
    return static_cast<double>(total) / static_cast<double>(a.size());
}

}  // namespace lessmore
