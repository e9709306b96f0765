#pragma once
// Image8: the 8-bit grey slice every metric sees (row-major, no padding).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lessmore {

struct Image8 {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;  // width * height, row-major

    Image8() = default;
    Image8(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h, 0) {}

    std::uint8_t* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * width; }
    const std::uint8_t* row(int y) const { return pixels.data() + static_cast<std::size_t>(y) * width; }
    std::uint8_t at(int x, int y) const { return row(y)[x]; }
};

// Unit8: a 3-D 8-bit block (a slab or patch), z-major: voxel (z, y, x) at
// (z * height + y) * width + x.
struct Unit8 {
    int depth = 0;
    int height = 0;
    int width = 0;
    std::vector<std::uint8_t> voxels;  // depth * height * width

    Unit8() = default;
    Unit8(int d, int h, int w) : depth(d), height(h), width(w), voxels(static_cast<std::size_t>(d) * h * w, 0) {}

    std::size_t size() const { return voxels.size(); }
    std::uint8_t at(int z, int y, int x) const {
        return voxels[(static_cast<std::size_t>(z) * height + y) * width + x];
    }
};

}  // namespace lessmore
