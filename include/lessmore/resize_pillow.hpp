#pragma once
// Pillow's LANCZOS resize of 8-bit slices, bit for bit.
#include <lessmore/image.hpp>

#include <cstdint>
#include <vector>

namespace lessmore {

// Pillow's Image.resize(size, Image.LANCZOS) for mode "L", bit for bit
// (Pillow 9.x Resample.c: fixed-point 22-bit coefficients, horizontal pass
// first on the rows the vertical pass reads, 8-bit intermediate).
// The coefficients depend only on the sizes, so a resizer is built once and
// reused for every slice of that size.
class PillowLanczosResizer {
public:
    PillowLanczosResizer(int in_width, int in_height, int out_width, int out_height);

    // `in` must be in_width x in_height.
    Image8 resize(const Image8& in) const;

    int in_width() const { return m_in_width; }
    int in_height() const { return m_in_height; }

    // One axis: for each output pixel, the first input pixel and the fixed-point taps.
    struct Axis {
        int ksize = 0;
        std::vector<int> first;
        std::vector<int> count;
        std::vector<std::int32_t> weights;  // out * ksize
        std::vector<std::int16_t> high;     // weights >> 11
        std::vector<std::int16_t> low;      // weights & 0x7ff
        // The same taps over windows of one fixed length, a multiple of k_block (0 when
        // the input is shorter): window xx starts at padded_first[xx] <= first[xx] and
        // holds zero weights outside [first, first + count), so the dot products run
        // without a remainder loop and give the same sums.
        static constexpr int k_block = 32;
        int padded = 0;
        std::vector<int> padded_first;
        std::vector<std::int16_t> padded_high;  // out * padded
        std::vector<std::int16_t> padded_low;   // out * padded
    };

private:
    int m_in_width, m_in_height, m_out_width, m_out_height;
    Axis m_horizontal, m_vertical;
};

// Convenience: builds a resizer for this one call.
Image8 resize_lanczos_pillow(const Image8& in, int out_width, int out_height);

}  // namespace lessmore
