// The worker side of compressed DICOM: GDCM decodes the pixel data (its codecs, and the
// asserts Debian builds it with, can take the process down on a damaged stream, so this
// runs only in a decoder process, io/decoder_pool.cpp). The file's structure was checked
// by lessmore's own parser before the parent asked.
#include <lessmore/error.hpp>

#include "io/dicom_file.hpp"
#include "io/readers.hpp"

#include <gdcmImage.h>
#include <gdcmImageReader.h>

namespace lessmore {

DecodedData dicom_pixels_task(const std::string& path, const std::string&) {
    gdcm::ImageReader reader;
    reader.SetFileName(path.c_str());
    if (!reader.Read()) throw InputError("cannot decode the compressed pixel data (unsupported or corrupt)");
    const gdcm::Image& image = reader.GetImage();
    const gdcm::PixelFormat& pf = image.GetPixelFormat();
    StoredType type{};
    switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8: type = StoredType::UInt8; break;
    case gdcm::PixelFormat::INT8: type = StoredType::Int8; break;
    case gdcm::PixelFormat::UINT16: type = StoredType::UInt16; break;
    case gdcm::PixelFormat::INT16: type = StoredType::Int16; break;
    case gdcm::PixelFormat::UINT32: type = StoredType::UInt32; break;
    case gdcm::PixelFormat::INT32: type = StoredType::Int32; break;
    default: throw InputError(std::string("unsupported decoded pixel format ") + pf.GetScalarTypeAsString());
    }
    const unsigned* dims = image.GetDimensions();
    DecodedData out;
    out.meta = std::to_string(static_cast<int>(type)) + " " + std::to_string(pf.GetSamplesPerPixel()) + " " +
               std::to_string(dims[0]) + " " + std::to_string(dims[1]) + " " +
               std::to_string(image.GetNumberOfDimensions() > 2 ? dims[2] : 1);
    out.bytes.resize(image.GetBufferLength());
    if (!image.GetBuffer(reinterpret_cast<char*>(out.bytes.data()))) {
        throw InputError("cannot decode the compressed pixel data (truncated or corrupt stream)");
    }
    return out;
}

}  // namespace lessmore
