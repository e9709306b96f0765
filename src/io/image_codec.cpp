#include "io/image_codec.hpp"

#include <lessmore/error.hpp>

// libspng and libjpeg-turbo directly, writing the bytes ITK's writers (libpng, libjpeg-turbo)
// wrote before: the lessmore program does not load ITK (io/decoder_exec.cpp).
#include <jpeglib.h>
#include <spng.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace lessmore {
namespace {

// libpng states in the zlib header of a small image's first IDAT chunk the smallest window
// that holds all its filtered rows (`filtered` bytes; the stream is valid with it, no match
// reaching further back), and recomputes the header's check bits and the chunk's CRC.
// libspng states the window it compressed with; this makes its bytes libpng's.
void small_image_window_header(std::string& png, std::size_t filtered) {
    constexpr std::size_t k_idat = 8 + 25;  // signature, IHDR chunk: libspng writes IDAT next
    if (filtered > 16384 || png.size() < k_idat + 14 || png.compare(k_idat + 4, 4, "IDAT") != 0) return;
    auto* p = reinterpret_cast<unsigned char*>(png.data());
    const std::size_t length = (std::size_t{p[k_idat]} << 24) | (std::size_t{p[k_idat + 1]} << 16) |
                               (std::size_t{p[k_idat + 2]} << 8) | p[k_idat + 3];
    if (length < 2 || k_idat + 12 + length > png.size()) return;
    unsigned char* z = p + k_idat + 8;
    unsigned cmf = z[0];
    if ((cmf & 0x0f) != 8 || (cmf & 0xf0) > 0x70) return;
    unsigned cinfo = cmf >> 4;
    std::size_t half = std::size_t{1} << (cinfo + 7);
    if (filtered > half) return;
    do {
        half >>= 1;
        --cinfo;
    } while (cinfo > 0 && filtered <= half);
    cmf = (cmf & 0x0f) | (cinfo << 4);
    unsigned flg = z[1] & 0xe0;
    flg += 0x1f - ((cmf << 8) + flg) % 0x1f;
    z[0] = static_cast<unsigned char>(cmf);
    z[1] = static_cast<unsigned char>(flg);
    const auto crc = crc32(crc32(0, nullptr, 0), p + k_idat + 4, static_cast<uInt>(length + 4));
    unsigned char* c = p + k_idat + 8 + length;
    c[0] = static_cast<unsigned char>(crc >> 24);
    c[1] = static_cast<unsigned char>(crc >> 16);
    c[2] = static_cast<unsigned char>(crc >> 8);
    c[3] = static_cast<unsigned char>(crc);
}

// PNG in memory through libspng: compression level 1, the "sub" filter and run-length
// strategy (OpenCV's default; 3x faster than libpng's adaptive filters at a size within 5%).
// The bytes are those libpng writes with these settings (the encoder before; tested,
// tests/io/test_image_encoders.cpp), in ~1/3.7 of libpng's time (docs/performance.md,
// "Writing PNGs": libspng filters and deflates whole rows without libpng's per-row
// transformations).
std::string encode_png(const std::uint8_t* pixels, int width, int height, int channels) {
    struct Context {
        spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
        ~Context() { spng_ctx_free(ctx); }
    } c;
    if (!c.ctx) throw Error("PNG encoding failed: out of memory");
    spng_ihdr ihdr{};
    ihdr.width = static_cast<std::uint32_t>(width);
    ihdr.height = static_cast<std::uint32_t>(height);
    ihdr.bit_depth = 8;
    ihdr.color_type = channels == 1 ? SPNG_COLOR_TYPE_GRAYSCALE : SPNG_COLOR_TYPE_TRUECOLOR;
    const std::size_t size =
        static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * static_cast<std::size_t>(channels);
    // What libpng does for small images, so the bytes stay libpng's: a smaller zlib window
    // when the filtered rows fit in half of it (+262), and the header's window then
    // shrunk to the smallest that holds them (small_image_window_header); one-pixel-wide
    // rows are not filtered.
    const std::size_t filtered = (static_cast<std::size_t>(width) * static_cast<std::size_t>(channels) + 1) *
                                 static_cast<std::size_t>(height);
    int window_bits = 15;
    if (filtered <= 16384)
        for (std::size_t half = std::size_t{1} << 14; filtered + 262 <= half; half >>= 1) --window_bits;
    int rc = spng_set_option(c.ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (!rc) rc = spng_set_option(c.ctx, SPNG_IMG_WINDOW_BITS, window_bits);
    if (!rc) rc = spng_set_option(c.ctx, SPNG_IMG_COMPRESSION_LEVEL, 1);
    if (!rc) rc = spng_set_option(c.ctx, SPNG_IMG_COMPRESSION_STRATEGY, 3 /* Z_RLE */);
    if (!rc)
        rc = spng_set_option(c.ctx, SPNG_FILTER_CHOICE, width == 1 ? SPNG_DISABLE_FILTERING : SPNG_FILTER_CHOICE_SUB);
    if (!rc) rc = spng_set_ihdr(c.ctx, &ihdr);
    if (!rc) rc = spng_encode_image(c.ctx, pixels, size, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    std::size_t length = 0;
    void* buffer = rc ? nullptr : spng_get_png_buffer(c.ctx, &length, &rc);
    if (!buffer) throw Error(std::string("PNG encoding failed: ") + spng_strerror(rc));
    std::string out(static_cast<const char*>(buffer), length);
    std::free(buffer);
    small_image_window_header(out, filtered);
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
    if (format == ImageFormat::Png) return encode_png(pixels, width, height, channels);
    return encode_jpeg(pixels, width, height, channels, jpeg_quality);
}

}  // namespace lessmore
