#pragma once
// Encoders for the slice files lessmore writes.
#include <lessmore/image.hpp>
#include <lessmore/volume.hpp>

#include <string>

namespace lessmore {

// NumPy .npy format 1.0: little-endian, C order, shape (height, width), the slice's
// own dtype (int16 for CT, uint8, uint16 or float32).
std::string encode_npy(const SliceView& slice);

// A 2-D float64 array (rows x cols, C order) in .npy format 1.0.
std::string encode_npy_f64(const double* data, std::size_t rows, std::size_t cols);

// An 8-bit grey PNG (OpenCV's encoder).
std::string encode_png(const Image8& image);

}  // namespace lessmore
