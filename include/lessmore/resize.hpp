#pragma once
// Resizing 8-bit slices.
#include <lessmore/image.hpp>

namespace lessmore {

// Pillow's Image.resize(size, Image.LANCZOS) for mode "L", bit for bit
// (Pillow 9.x Resample.c: fixed-point 22-bit coefficients, horizontal pass
// first on the rows the vertical pass reads, 8-bit intermediate).
Image8 resize_lanczos_pillow(const Image8& in, int out_width, int out_height);

}  // namespace lessmore
