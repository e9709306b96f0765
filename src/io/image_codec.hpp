#pragma once
// 2-D image files through ITK's PNG and TIFF readers, libjpeg-turbo for JPEG (jpeg_file.cpp),
// and ITK's writers. (OpenCV's
// imgcodecs would pull in GDAL and ~140 libraries: 60 ms of start-up per run.)
#include <lessmore/volume.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace lessmore {

enum class ImageFormat { Png, Jpeg };

// Encodes 8-bit pixels (1 channel grey or 3 channels RGB, row-major) as PNG or JPEG.
std::string encode_image(const std::uint8_t* pixels, int width, int height, int channels, ImageFormat format,
                         int jpeg_quality = 85);

// One grey 16-bit PNG of width x height samples (row-major, host order in memory; written
// big-endian, as the format stores them), with the same compression settings.
std::string encode_png16(const std::uint16_t* pixels, int width, int height);

struct DecodedImage {
    int width = 0;
    int height = 0;
    VoxelType type = VoxelType::UInt8;
    Bytes pixels;  // grey, row-major
};

// Reads a PNG, JPEG or TIFF file as grey (colour converted with Pillow's "L" formula,
// L = (19595 R + 38470 G + 7471 B + 32768) >> 16). Throws InputError naming the problem.
DecodedImage decode_image_file(const std::filesystem::path& path);

// A JPEG file through libjpeg-turbo, any corrupt-data warning an error (io/jpeg_file.cpp).
DecodedImage decode_jpeg_file(const std::filesystem::path& path);

}  // namespace lessmore
