#pragma once
// Encoders for the files lessmore writes, and the one way it writes them.
#include <lessmore/image.hpp>
#include <lessmore/volume.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace lessmore {

// NumPy .npy format 1.0: little-endian, C order, shape (height, width), the slice's
// own dtype (int16 for CT, uint8, uint16 or float32).
std::string encode_npy(const SliceView& slice);

// A 2-D float64 array (rows x cols, C order) in .npy format 1.0.
std::string encode_npy_f64(const double* data, std::size_t rows, std::size_t cols);

// An 8-bit grey PNG (libpng: compression level 1, the "sub" filter).
std::string encode_png(const Image8& image);

// Writes bytes to a temporary file beside `path` and renames it over `path`, so a
// reader never sees a half-written file. `sync` also fsyncs (for the manifest).
// Throws Error naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, bool sync = false);

}  // namespace lessmore
