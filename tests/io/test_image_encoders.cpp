// The in-memory PNG and JPEG encoders (io/image_codec.cpp): JPEG through libjpeg-turbo,
// whose bytes must stay those ITK's writer produced before; PNG deflated by ISA-L's igzip in
// chunks lessmore writes, which must decode exactly — headers, every pixel, the CRCs — with
// independent decoders (libpng here, OpenCV's imgcodecs; Pillow in the golden scripts).
#include "test_support.hpp"

#include "io/image_codec.hpp"

#include <itkJPEGImageIO.h>
#include <png.h>
#include <opencv2/imgcodecs.hpp>

#include <cstring>
#include <fstream>
#include <sstream>

namespace lessmore {
namespace {

std::vector<std::uint8_t> pattern(int width, int height, int channels) {
    std::vector<std::uint8_t> px(static_cast<std::size_t>(width) * height * channels);
    std::uint32_t s = 12345;
    for (std::size_t i = 0; i < px.size(); ++i) {
        s = s * 1103515245u + 12345u;  // noise on a gradient: every filter and run length occurs
        px[i] = static_cast<std::uint8_t>((i % 251) / 2 + ((s >> 16) & 31));
    }
    return px;
}

// What ITK 5.2's JPEGImageIO writes for the same pixels (the encoder used before).
std::string itk_jpeg(const std::vector<std::uint8_t>& px, int width, int height, int channels, int quality,
                     const test::fs::path& file) {
    auto jpeg = itk::JPEGImageIO::New();
    jpeg->SetQuality(quality);
    itk::ImageIOBase::Pointer io = jpeg.GetPointer();
    io->SetNumberOfDimensions(2);
    io->SetDimensions(0, static_cast<unsigned>(width));
    io->SetDimensions(1, static_cast<unsigned>(height));
    io->SetSpacing(0, 1.0);
    io->SetSpacing(1, 1.0);
    io->SetOrigin(0, 0.0);
    io->SetOrigin(1, 0.0);
    io->SetComponentType(itk::IOComponentEnum::UCHAR);
    io->SetNumberOfComponents(static_cast<unsigned>(channels));
    io->SetPixelType(channels == 1 ? itk::IOPixelEnum::SCALAR : itk::IOPixelEnum::RGB);
    io->SetFileName(file.string());
    itk::ImageIORegion region(2);
    region.SetSize(0, static_cast<itk::SizeValueType>(width));
    region.SetSize(1, static_cast<itk::SizeValueType>(height));
    io->SetIORegion(region);
    io->Write(px.data());
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(ImageEncoders, JpegBytesEqualItksWriter) {
    test::TempDir dir;
    for (const int channels : {1, 3}) {
        for (const auto& [w, h] : {std::pair{37, 21}, std::pair{128, 96}}) {
            const auto px = pattern(w, h, channels);
            for (const int quality : {85, 60}) {
                const std::string ours = encode_image(px.data(), w, h, channels, ImageFormat::Jpeg, quality);
                const std::string itk = itk_jpeg(px, w, h, channels, quality, dir / "itk.jpg");
                EXPECT_EQ(ours, itk) << channels << " channels, " << w << "x" << h << ", quality " << quality;
            }
        }
    }
}

// libpng's own reader on a PNG lessmore wrote: its header (size, depth, colour type, no
// interlace), and every row as stored (16-bit samples big-endian). libpng checks each
// chunk's CRC and the zlib stream's Adler-32 as it reads, so a framing error fails here.
struct Decoded {
    int width = 0, height = 0, depth = 0, color = -1, interlace = -1;
    std::vector<std::uint8_t> rows;
};
Decoded libpng_decode(const std::string& bytes) {
    struct Reader {
        const std::string* data;
        std::size_t at = 0;
    } reader{&bytes};
    Decoded d;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, nullptr);
        d.width = -1;
        return d;
    }
    png_set_read_fn(png, &reader, [](png_structp p, png_bytep out, png_size_t n) {
        auto* r = static_cast<Reader*>(png_get_io_ptr(p));
        if (r->at + n > r->data->size()) png_error(p, "read past the end");
        std::memcpy(out, r->data->data() + r->at, n);
        r->at += n;
    });
    png_read_info(png, info);
    d.width = static_cast<int>(png_get_image_width(png, info));
    d.height = static_cast<int>(png_get_image_height(png, info));
    d.depth = png_get_bit_depth(png, info);
    d.color = png_get_color_type(png, info);
    d.interlace = png_get_interlace_type(png, info);
    const std::size_t stride = png_get_rowbytes(png, info);
    d.rows.resize(stride * static_cast<std::size_t>(d.height));
    for (int y = 0; y < d.height; ++y) png_read_row(png, d.rows.data() + stride * static_cast<std::size_t>(y), nullptr);
    png_read_end(png, nullptr);
    png_destroy_read_struct(&png, &info, nullptr);
    return d;
}

TEST(ImageEncoders, PngDecodesExactlyWithLibpng) {
    for (const int channels : {1, 3}) {
        // Sizes from one pixel up, odd and even, a slice and more.
        for (const auto& [w, h] : {std::pair{1, 1}, std::pair{2, 3}, std::pair{15, 15}, std::pair{37, 21},
                                   std::pair{64, 48}, std::pair{122, 101}, std::pair{127, 128}, std::pair{128, 128},
                                   std::pair{181, 91}, std::pair{512, 512}, std::pair{1100, 700}}) {
            const auto px = pattern(w, h, channels);
            const Decoded d = libpng_decode(encode_image(px.data(), w, h, channels, ImageFormat::Png));
            EXPECT_EQ(d.width, w);
            EXPECT_EQ(d.height, h);
            EXPECT_EQ(d.depth, 8);
            EXPECT_EQ(d.color, channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB);
            EXPECT_EQ(d.interlace, PNG_INTERLACE_NONE);
            EXPECT_TRUE(d.rows == px) << channels << " channels, " << w << "x" << h;
        }
    }
    // 16-bit grey: samples big-endian, the "sub" filter two bytes back.
    const int w = 93, h = 57;
    std::vector<std::uint16_t> px(static_cast<std::size_t>(w) * h);
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint16_t>((i * 2654435761u) >> 7);
    const Decoded d = libpng_decode(encode_png16(px.data(), w, h));
    ASSERT_EQ(d.depth, 16);
    EXPECT_EQ(d.color, PNG_COLOR_TYPE_GRAY);
    ASSERT_EQ(d.rows.size(), px.size() * 2);
    for (std::size_t i = 0; i < px.size(); ++i)
        ASSERT_EQ(d.rows[2 * i] << 8 | d.rows[2 * i + 1], px[i]) << "sample " << i;
    // A damaged byte anywhere in IDAT fails libpng's checks (the CRC is what it reads first).
    const auto grey = pattern(64, 48, 1);
    std::string png = encode_image(grey.data(), 64, 48, 1, ImageFormat::Png);
    png[png.size() / 2] ^= 0x10;
    EXPECT_EQ(libpng_decode(png).width, -1);
}

// The extremes of deflate: pixels that do not compress at all (igzip falls back to stored
// blocks, which must fit the output buffer: a PNG at most a little larger than its rows) and
// pixels that compress to almost nothing.
TEST(ImageEncoders, PngOfIncompressibleOrConstantPixelsDecodesExactly) {
    std::uint64_t s = 88172645463325252ull;
    const auto noise = [&](std::size_t n) {
        std::vector<std::uint8_t> px(n);
        for (auto& p : px) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;  // xorshift64: every byte value, no runs
            p = static_cast<std::uint8_t>(s >> 56);
        }
        return px;
    };
    for (const int channels : {1, 3}) {
        for (const auto& [w, h] : {std::pair{1, 1}, std::pair{255, 257}, std::pair{1100, 700}}) {
            const std::size_t rows = static_cast<std::size_t>(w) * channels * h + h;  // with filter bytes
            for (const bool constant : {false, true}) {
                const auto px = constant ? std::vector<std::uint8_t>(rows - h, 0) : noise(rows - h);
                const std::string png = encode_image(px.data(), w, h, channels, ImageFormat::Png);
                const Decoded d = libpng_decode(png);
                EXPECT_EQ(d.width, w);
                EXPECT_EQ(d.height, h);
                EXPECT_TRUE(d.rows == px)
                    << channels << " channels, " << w << "x" << h << (constant ? ", zeros" : ", noise");
                if (constant) {
                    EXPECT_LT(png.size(), rows / 50 + 100) << w << "x" << h;
                } else {
                    EXPECT_LE(png.size(), rows + 5 * (rows / 65535 + 1) + 100) << w << "x" << h;
                }
            }
        }
    }
    const int w = 700, h = 300;  // 16-bit noise
    const auto bytes = noise(static_cast<std::size_t>(w) * h * 2);
    std::vector<std::uint16_t> px(static_cast<std::size_t>(w) * h);
    std::memcpy(px.data(), bytes.data(), bytes.size());
    const Decoded d = libpng_decode(encode_png16(px.data(), w, h));
    ASSERT_EQ(d.rows.size(), px.size() * 2);
    for (std::size_t i = 0; i < px.size(); ++i)
        ASSERT_EQ(d.rows[2 * i] << 8 | d.rows[2 * i + 1], px[i]) << "sample " << i;
}

TEST(ImageEncoders, PngPixelsExactInOpenCv) {
    for (const int channels : {1, 3}) {
        const int w = 301, h = 77;
        const auto px = pattern(w, h, channels);
        const std::string png = encode_image(px.data(), w, h, channels, ImageFormat::Png);
        const std::vector<std::uint8_t> buf(png.begin(), png.end());
        const cv::Mat m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
        ASSERT_EQ(m.rows, h);
        ASSERT_EQ(m.cols, w);
        ASSERT_EQ(m.channels(), channels);
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w * channels; ++x) {
                // OpenCV returns BGR: channel c of pixel x sits at 2 - c.
                const int c = x % channels, xo = x - c + (channels == 3 ? 2 - c : 0);
                ASSERT_EQ(m.ptr<std::uint8_t>(y)[xo], px[static_cast<std::size_t>(y) * w * channels + x])
                    << "row " << y << " byte " << x;
            }
        }
    }
}

}  // namespace
}  // namespace lessmore
