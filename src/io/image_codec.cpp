#include "io/image_codec.hpp"

#include <lessmore/error.hpp>

// libpng and libjpeg-turbo directly (the Debian libraries ITK's writers use, with the same
// settings, so the bytes are those ITK wrote): the lessmore program does not load ITK
// (io/decoder_exec.cpp). libspng was measured against libpng for the PNGs and dropped
// (docs/performance.md, "Writing PNGs": the same bytes, the same CPU time; zlib's deflate
// is the cost either way).
#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace lessmore {
namespace {

// PNG in memory through libpng: compression level 1, the "sub" filter and run-length
// strategy (what OpenCV does by default; 3x faster than libpng's adaptive filters).
// row(y) gives row y as PNG stores it (16-bit samples big-endian, as the PNG format requires).
template <typename Row>
std::string encode_png(int width, int height, int bit_depth, int channels, Row&& row) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    if (!png) throw Error("PNG encoding failed: out of memory");
    png_infop info = png_create_info_struct(png);
    std::string out;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : nullptr);
        throw Error("PNG encoding failed");
    }
    png_set_write_fn(
        png, &out,
        [](png_structp p, png_bytep data, png_size_t n) {
            static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<const char*>(data), n);
        },
        nullptr);
    png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), bit_depth,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1);
    png_set_compression_strategy(png, 3 /* Z_RLE */);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_write_info(png, info);
    for (int y = 0; y < height; ++y) png_write_row(png, const_cast<png_bytep>(row(y)));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return out;
}

struct JpegEncodeErrors {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
};

extern "C" void jpeg_encode_fail(j_common_ptr cinfo) {
    std::longjmp(reinterpret_cast<JpegEncodeErrors*>(cinfo->err)->jump, 1);
}

// JPEG in memory, as ITK 5.2's JPEGImageIO writes it for these images (tested byte for byte
// against it, tests/io/test_image_codec.cpp): libjpeg's defaults at `quality` with its
// baseline-forcing, progressive scans (ITK's default) and the JFIF density of a 1 mm pixel
// spacing, which ITK records as 10 per unit with the unit left "none" (0).
std::string encode_jpeg(const std::uint8_t* pixels, int width, int height, int channels, int quality) {
    jpeg_compress_struct cinfo{};
    JpegEncodeErrors errors{};
    cinfo.err = jpeg_std_error(&errors.pub);
    errors.pub.error_exit = jpeg_encode_fail;
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    if (setjmp(errors.jump)) {
        jpeg_destroy_compress(&cinfo);
        std::free(buffer);
        throw Error("JPEG encoding failed");
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = static_cast<JDIMENSION>(width);
    cinfo.image_height = static_cast<JDIMENSION>(height);
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_simple_progression(&cinfo);
    cinfo.density_unit = 0;
    cinfo.X_density = 10;
    cinfo.Y_density = 10;
    jpeg_start_compress(&cinfo, TRUE);
    const std::size_t stride = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = const_cast<JSAMPROW>(pixels + cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    std::string out(reinterpret_cast<const char*>(buffer), size);
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    return out;
}

}  // namespace

std::string encode_image(const std::uint8_t* pixels, int width, int height, int channels, ImageFormat format,
                         int jpeg_quality) {
    if (format == ImageFormat::Png) {
        const std::size_t stride = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
        return encode_png(width, height, 8, channels,
                          [&](int y) { return pixels + static_cast<std::size_t>(y) * stride; });
    }
    return encode_jpeg(pixels, width, height, channels, jpeg_quality);
}

std::string encode_png16(const std::uint16_t* pixels, int width, int height) {
    std::vector<std::uint8_t> row(static_cast<std::size_t>(width) * 2);
    return encode_png(width, height, 16, 1, [&](int y) {
        const std::uint16_t* p = pixels + static_cast<std::size_t>(y) * static_cast<std::size_t>(width);
        for (std::size_t x = 0; x < static_cast<std::size_t>(width); ++x) {
            row[2 * x] = static_cast<std::uint8_t>(p[x] >> 8);
            row[2 * x + 1] = static_cast<std::uint8_t>(p[x] & 0xff);
        }
        return row.data();
    });
}

}  // namespace lessmore
