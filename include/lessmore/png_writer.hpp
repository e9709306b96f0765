#pragma once
// Kept slices as 8-bit grey PNG.
#include <lessmore/image.hpp>

#include <string>

namespace lessmore {

// An 8-bit grey PNG (libpng: compression level 1, the "sub" filter).
std::string encode_png(const Image8& image);

}  // namespace lessmore
