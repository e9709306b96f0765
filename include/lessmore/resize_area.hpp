#pragma once
// Area-averaging resize (the speed option --resize, DeepNet's input, thumbnails).
#include <lessmore/image.hpp>

namespace lessmore {

// OpenCV's INTER_AREA resize to width x height.
Image8 resize_area(const Image8& in, int out_width, int out_height);

}  // namespace lessmore
