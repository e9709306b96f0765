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

}  // namespace lessmore
