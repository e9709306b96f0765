#pragma once
// Kept slices and score matrices as NumPy .npy files (format 1.0, hand-written: no
// library in the mandated set writes it).
#include <lessmore/volume.hpp>

#include <cstddef>
#include <string>

namespace lessmore {

// Little-endian, C order, shape (height, width), the slice's own dtype (int16 for CT,
// uint8, uint16 or float32).
std::string encode_npy(const SliceView& slice);

// A 3-D block (depth, rows, cols), C order, in `type` (a unit: z, y, x).
std::string encode_npy_block(const void* data, VoxelType type, std::size_t depth, std::size_t rows, std::size_t cols);

// A 2-D float32 array (rows x cols, C order).
std::string encode_npy_f32(const float* data, std::size_t rows, std::size_t cols);

// A 2-D float64 array (rows x cols, C order).
std::string encode_npy_f64(const double* data, std::size_t rows, std::size_t cols);

}  // namespace lessmore
