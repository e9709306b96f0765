// 2-D JPEG slices decoded with Debian's libjpeg-turbo directly, its corrupt-data warnings
// turned into errors. libjpeg reports data that ends early ("premature end of data
// segment"), a missing end-of-image marker and damaged entropy-coded data only as
// warnings, making up the missing pixels; ITK's JPEGImageIO (used before) drops them.
// Chosen over walking the markers ourselves (io/jpeg_codestream.cpp does that for DICOM,
// whose lossless and 12-bit processes Debian's 8-bit libjpeg-turbo cannot decode): the
// decoder that makes the pixels is the one that judges the data, for baseline and
// progressive files alike. It is also faster than ITK's reader, which opens and parses the
// file three times (docs/dicom.md, section "Image folders").
#include <lessmore/error.hpp>

#include "io/image_codec.hpp"

#include <csetjmp>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <jerror.h>  // after jpeglib.h: the JWRN_ codes
#include <jpeglib.h>

namespace lessmore {
namespace {

struct JpegErrors {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

extern "C" void jpeg_fail(j_common_ptr cinfo) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, errors->message);
    std::longjmp(errors->jump, 1);
}

// Warnings (level -1) fail the file, except those about metadata, not pixels.
extern "C" void jpeg_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    const int code = cinfo->err->msg_code;
    if (code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC) return;
    jpeg_fail(cinfo);
}

struct JpegImage {
    int width = 0;
    int height = 0;
    int channels = 0;
    Bytes pixels;
};

// Decodes `data` into `out`; false with errors.message set when libjpeg fails or warns.
// Only C frames lie between setjmp and a longjmp here, so no destructor is skipped.
bool run_decoder(jpeg_decompress_struct& cinfo, JpegErrors& errors, const std::string& data, JpegImage& out) {
    if (setjmp(errors.jump)) return false;
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(data.data()), static_cast<unsigned long>(data.size()));
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        std::snprintf(errors.message, sizeof errors.message, "CMYK JPEG is not supported (use grey)");
        return false;
    }
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    const std::size_t n = std::size_t{cinfo.output_width} * cinfo.output_height;
    if (n == 0 || n > (std::size_t{1} << 30)) {
        std::snprintf(errors.message, sizeof errors.message, "implausible image size");
        return false;
    }
    out.width = static_cast<int>(cinfo.output_width);
    out.height = static_cast<int>(cinfo.output_height);
    out.channels = cinfo.output_components;
    const std::size_t stride = std::size_t{cinfo.output_width} * static_cast<std::size_t>(cinfo.output_components);
    out.pixels.resize(stride * cinfo.output_height);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = reinterpret_cast<JSAMPROW>(out.pixels.data() + std::size_t{cinfo.output_scanline} * stride);
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);  // reads up to EOI: a missing one is a warning, so an error
    return true;
}

}  // namespace

DecodedImage decode_jpeg_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("cannot open the JPEG file");
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw InputError("cannot read the JPEG file");
    jpeg_decompress_struct cinfo{};
    JpegErrors errors{};
    cinfo.err = jpeg_std_error(&errors.pub);
    errors.pub.error_exit = jpeg_fail;
    errors.pub.emit_message = jpeg_message;
    JpegImage image;
    const bool ok = run_decoder(cinfo, errors, data, image);
    jpeg_destroy_decompress(&cinfo);
    if (!ok) throw InputError(std::string("corrupt or unsupported JPEG: ") + errors.message);
    DecodedImage d;
    d.width = image.width;
    d.height = image.height;
    d.type = VoxelType::UInt8;
    if (image.channels == 1) {
        d.pixels = std::move(image.pixels);
        return d;
    }
    // RGB: Pillow's convert("L"), as for other colour slices (io/image_codec.cpp).
    const std::size_t n = static_cast<std::size_t>(d.width) * static_cast<std::size_t>(d.height);
    d.pixels.resize(n);
    const auto* src = reinterpret_cast<const std::uint8_t*>(image.pixels.data());
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* p = src + 3 * i;
        d.pixels[i] = static_cast<std::byte>((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 0x8000u) >> 16);
    }
    return d;
}

}  // namespace lessmore
