// 2-D PNG and TIFF files through ITK's readers (io/image_codec.hpp), and the "image" decoder
// task; they run in a decoder worker (io/decoder_worker.cpp), never in the lessmore program.
#include "io/image_codec.hpp"

#include <lessmore/error.hpp>

#include <lessmore/files.hpp>
#include "io/itk_messages.hpp"
#include "io/readers.hpp"

#include <itkImageIOBase.h>
#include <itkPNGImageIO.h>
#include <itkTIFFImageIO.h>

#include <cstring>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

itk::ImageIOBase::Pointer io_for(const std::string& ext) {
    if (ext == ".png") return itk::PNGImageIO::New().GetPointer();
    if (ext == ".tif" || ext == ".tiff") return itk::TIFFImageIO::New().GetPointer();
    return nullptr;
}

}  // namespace

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
