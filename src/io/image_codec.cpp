#include "io/image_codec.hpp"

#include "io/deflate.hpp"

#include <lessmore/error.hpp>

// JPEG through libjpeg-turbo directly (the Debian library ITK's writer uses, with the same
// settings, so the bytes are those ITK wrote): the lessmore program does not load ITK
// (io/decoder_exec.cpp). PNG framed here around ISA-L's deflate (encode_png below says why).
#include <jpeglib.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace lessmore {
namespace {

// PNG in memory: the "sub" filter (what OpenCV does by default), the filtered rows deflated
// by ISA-L's igzip at level 1 (io/deflate.cpp says why), and the chunks (signature, IHDR,
// IDAT, IEND, each with its CRC) written here: libpng cannot take a stream deflated
// elsewhere, and the chunk framing is a few fixed fields and CRCs.
template <typename Row>
std::string encode_png(int width, int height, int bit_depth, int channels, Row&& row) {
    const std::size_t pixel = static_cast<std::size_t>(channels) * static_cast<std::size_t>(bit_depth / 8);
    const std::size_t stride = static_cast<std::size_t>(width) * pixel;
    // Each row: filter type 1 ("sub"), then each byte minus the byte one pixel to its left.
    std::vector<std::uint8_t> filtered((stride + 1) * static_cast<std::size_t>(height));
    for (int y = 0; y < height; ++y) {
        const std::uint8_t* in = row(y);
        std::uint8_t* out = filtered.data() + static_cast<std::size_t>(y) * (stride + 1);
        out[0] = 1;
        for (std::size_t x = 0; x < stride; ++x)
            out[1 + x] = static_cast<std::uint8_t>(in[x] - (x >= pixel ? in[x - pixel] : 0));
    }
    const std::string idat = deflate_fast(
        {std::string_view(reinterpret_cast<const char*>(filtered.data()), filtered.size())}, DeflateWrapper::Zlib);
    std::string out("\x89PNG\r\n\x1a\n", 8);
    out.reserve(8 + 3 * 12 + 13 + idat.size());  // signature, three chunks' framing, IHDR, IDAT
    const auto u32 = [](std::string& s, std::uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
    };
    const auto chunk = [&](const char* type, const std::uint8_t* data, std::size_t size) {
        u32(out, static_cast<std::uint32_t>(size));
        const std::size_t start = out.size();
        out.append(type, 4);
        out.append(reinterpret_cast<const char*>(data), size);
        u32(out, crc32_of(out.data() + start, size + 4));
    };
    std::string ihdr;
    u32(ihdr, static_cast<std::uint32_t>(width));
    u32(ihdr, static_cast<std::uint32_t>(height));
    ihdr.push_back(static_cast<char>(bit_depth));
    ihdr.push_back(static_cast<char>(channels == 1 ? 0 : 2));  // grey or RGB
    ihdr.append(3, '\0');                                      // deflate, adaptive filtering, no interlace
    chunk("IHDR", reinterpret_cast<const std::uint8_t*>(ihdr.data()), ihdr.size());
    chunk("IDAT", reinterpret_cast<const std::uint8_t*>(idat.data()), idat.size());
    chunk("IEND", nullptr, 0);
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
