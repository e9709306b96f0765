#pragma once
// Kept slices as 8-bit or 16-bit grey PNG.
#include <lessmore/image.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lessmore {

// An 8-bit grey PNG (libpng: compression level 1, the "sub" filter).
std::string encode_png(const Image8& image);

// A 16-bit grey PNG of width x height samples (row-major; samples written big-endian, as
// PNG stores them), same compression.
std::string encode_png16(const std::vector<std::uint16_t>& pixels, int width, int height);

}  // namespace lessmore
