// The in-memory PNG and JPEG encoders (io/image_codec.cpp) call libpng and libjpeg-turbo
// directly; the bytes must stay those ITK's writers produced before (the slices and report
// images of existing outputs do not change), and the pixels must decode exactly with an
// independent decoder (OpenCV's imgcodecs).
#include "test_support.hpp"

#include "io/image_codec.hpp"

#include <itkJPEGImageIO.h>
#include <png.h>
#include <opencv2/imgcodecs.hpp>

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

// libpng called here with the settings lessmore's PNGs always had (level 1, "sub" filter,
// run-length strategy; ITK's libpng before): the encoder must keep writing these bytes.
std::string libpng_encode(const std::vector<std::uint8_t>& px, int width, int height, int channels) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    std::string out;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return "libpng failed";
    }
    png_set_write_fn(
        png, &out,
        [](png_structp p, png_bytep data, png_size_t n) {
            static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<const char*>(data), n);
        },
        nullptr);
    png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1);
    png_set_compression_strategy(png, 3);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_write_info(png, info);
    for (int y = 0; y < height; ++y)
        png_write_row(png, const_cast<png_bytep>(px.data() + static_cast<std::size_t>(y) * width * channels));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return out;
}

TEST(ImageEncoders, PngBytesEqualLibpng) {
    for (const int channels : {1, 3}) {
        // Sizes around libpng's smaller zlib windows for small images (<= 16 KB of rows).
        for (const auto& [w, h] : {std::pair{1, 1}, std::pair{2, 3}, std::pair{15, 15}, std::pair{37, 21},
                                   std::pair{64, 48}, std::pair{122, 101}, std::pair{127, 128}, std::pair{128, 128},
                                   std::pair{181, 91}, std::pair{512, 512}, std::pair{1100, 700}}) {
            const auto px = pattern(w, h, channels);
            EXPECT_EQ(encode_image(px.data(), w, h, channels, ImageFormat::Png), libpng_encode(px, w, h, channels))
                << channels << " channels, " << w << "x" << h;
        }
    }
    // A real slice: lessmore's 8-bit mapping of CT has long runs of background.
    std::vector<std::uint8_t> ct(512 * 512, 0);
    for (int y = 100; y < 400; ++y)
        for (int x = 80; x < 430; ++x)
            ct[static_cast<std::size_t>(y) * 512 + x] = static_cast<std::uint8_t>((x * y) % 97 + 60);
    EXPECT_EQ(encode_image(ct.data(), 512, 512, 1, ImageFormat::Png), libpng_encode(ct, 512, 512, 1));
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
