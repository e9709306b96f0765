#include "io/image_codec.hpp"

#include <lessmore/error.hpp>

#include <lessmore/files.hpp>
#include "io/itk_messages.hpp"
#include "io/readers.hpp"

#include <itkImageIOBase.h>
#include <itkJPEGImageIO.h>
#include <itkPNGImageIO.h>
#include <itkTIFFImageIO.h>
#include <itk_png.h>  // ITK's PNG module (libpng), used directly to encode in memory

#include <unistd.h>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

itk::ImageIOBase::Pointer io_for(const std::string& ext) {
    if (ext == ".png") return itk::PNGImageIO::New().GetPointer();
    if (ext == ".tif" || ext == ".tiff") return itk::TIFFImageIO::New().GetPointer();
    return nullptr;
}

// PNG in memory through ITK's libpng: compression level 1, the "sub" filter and run-length
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

}  // namespace

std::string encode_image(const std::uint8_t* pixels, int width, int height, int channels, ImageFormat format,
                         int jpeg_quality) {
    if (format == ImageFormat::Png) {
        const std::size_t stride = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
        return encode_png(width, height, 8, channels,
                          [&](int y) { return pixels + static_cast<std::size_t>(y) * stride; });
    }
    // ITK's JPEG writer writes files only: encode into a private temporary, read it back.
    std::string tmp = (fs::temp_directory_path() / "lessmore-image-XXXXXX").string();
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) throw Error("cannot create a temporary image file: " + errno_text(errno));
    ::close(fd);
    struct Remove {
        std::string path;
        ~Remove() { ::unlink(path.c_str()); }
    } cleanup{tmp};
    try {
        auto jpeg = itk::JPEGImageIO::New();
        jpeg->SetQuality(jpeg_quality);
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
        io->SetFileName(tmp);
        itk::ImageIORegion region(2);
        region.SetSize(0, static_cast<itk::SizeValueType>(width));
        region.SetSize(1, static_cast<itk::SizeValueType>(height));
        io->SetIORegion(region);
        io->Write(pixels);
    } catch (const itk::ExceptionObject& e) {
        throw Error(std::string("image encoding failed: ") + itk_message(e.GetDescription()));
    }
    std::ifstream in(tmp, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
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

DecodedImage decode_image_file(const fs::path& path) {
    const std::string ext = extension_of(path);
    if (ext == ".jpg" || ext == ".jpeg") return decode_jpeg_file(path);
    const itk::ImageIOBase::Pointer io = io_for(ext);
    if (!io) throw InputError("not a PNG, JPEG or TIFF file");
    DecodedImage d;
    try {
        if (!io->CanReadFile(path.c_str())) throw InputError("cannot decode image");
        io->SetFileName(path.string());
        io->ReadImageInformation();
        const unsigned dims = io->GetNumberOfDimensions();
        for (unsigned k = 2; k < dims; ++k)
            if (io->GetDimensions(k) > 1) throw InputError("not a 2-D image");
        d.width = static_cast<int>(io->GetDimensions(0));
        d.height = dims > 1 ? static_cast<int>(io->GetDimensions(1)) : 1;
        const auto channels = static_cast<std::size_t>(io->GetNumberOfComponents());
        const auto type = io->GetComponentType();
        const std::size_t n = static_cast<std::size_t>(d.width) * d.height;
        if (n == 0 || n > (std::size_t{1} << 30)) throw InputError("implausible image size");
        if (channels < 1 || channels > 4)
            throw InputError("image with " + std::to_string(channels) + " channels is not supported");
        using C = itk::IOComponentEnum;
        if (type == C::UCHAR) {
            d.type = VoxelType::UInt8;
        } else if (type == C::USHORT) {
            d.type = VoxelType::UInt16;
        } else if (type == C::SHORT) {
            d.type = VoxelType::Int16;
        } else if (type == C::FLOAT) {
            d.type = VoxelType::Float32;
        } else {
            throw InputError("unsupported image depth (use 8- or 16-bit grey images)");
        }
        if (channels >= 3 && type != C::UCHAR)
            throw InputError("16-bit or float colour images are not supported (use grey)");
        const std::size_t elem = voxel_size(d.type);
        Bytes raw(n * channels * elem);
        itk::ImageIORegion region(dims);
        for (unsigned k = 0; k < dims; ++k) region.SetSize(k, io->GetDimensions(k));
        io->SetIORegion(region);
        io->Read(raw.data());
        if (channels == 1) {
            d.pixels = std::move(raw);
        } else if (channels == 2) {  // grey + alpha
            d.pixels.resize(n * elem);
            for (std::size_t i = 0; i < n; ++i) std::memcpy(&d.pixels[i * elem], &raw[i * 2 * elem], elem);
        } else {  // RGB(A), 8-bit: Pillow's convert("L")
            d.pixels.resize(n);
            const auto* src = reinterpret_cast<const std::uint8_t*>(raw.data());
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint8_t* p = src + i * channels;
                d.pixels[i] = static_cast<std::byte>((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 0x8000u) >> 16);
            }
        }
    } catch (const itk::ExceptionObject& e) {
        throw InputError("cannot decode image: " + itk_message(e.GetDescription()));
    }
    return d;
}

DecodedData image_task(const std::string& path, const std::string&) {
    DecodedImage image = decode_image_file(path);
    DecodedData out;
    out.meta = std::to_string(image.width) + " " + std::to_string(image.height) + " " + voxel_type_name(image.type);
    out.bytes = std::move(image.pixels);
    return out;
}

}  // namespace lessmore
