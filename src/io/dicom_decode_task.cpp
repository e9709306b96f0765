// The worker side of compressed DICOM: GDCM decodes the pixel data (its codecs, and the
// asserts Debian builds it with, can take the process down on a damaged stream, so this
// runs only in a decoder process, io/decoder_pool.cpp). The file's structure, and each
// frame's codestream against the header, were checked by the parent before it asked
// (io/codestream_header.hpp).
//
// The codec is called here rather than through gdcm::Image::GetBuffer: GetBuffer copies
// GetBufferLength() bytes (the header's image size) out of whatever the codec produced, so
// a codestream smaller than the header gives bytes from beyond the codec's output. Called
// directly, the codec's output is returned exactly as long as it is, and the parent refuses
// any length other than the header's (docs/dicom.md, section "Compressed pixel data").
#include <lessmore/error.hpp>

#include "io/dicom_file.hpp"
#include "io/readers.hpp"

#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmJPEG2000Codec.h>
#include <gdcmJPEGCodec.h>
#include <gdcmJPEGLSCodec.h>
#include <gdcmRLECodec.h>

#include <cstring>

namespace lessmore {
namespace {

// The codec set up from the image as gdcm::Bitmap sets it up for GetBuffer.
void set_up(gdcm::ImageCodec& codec, const gdcm::Image& image) {
    codec.SetNumberOfDimensions(image.GetNumberOfDimensions());
    codec.SetDimensions(image.GetDimensions());
    codec.SetPlanarConfiguration(image.GetPlanarConfiguration());
    codec.SetPhotometricInterpretation(image.GetPhotometricInterpretation());
    codec.SetPixelFormat(image.GetPixelFormat());
    codec.SetNeedOverlayCleanup(image.AreOverlaysInPixelData() || image.UnusedBitsPresentInPixelData());
}

// The pixel data decoded by the codec for the image's transfer syntax; false when none
// decodes it or the codec fails.
bool decode(const gdcm::Image& image, gdcm::DataElement& out) {
    const gdcm::TransferSyntax& ts = image.GetTransferSyntax();
    const gdcm::DataElement& in = image.GetDataElement();
    gdcm::JPEGCodec jpeg;
    if (jpeg.CanDecode(ts)) {
        set_up(jpeg, image);
        return jpeg.Decode(in, out);
    }
    gdcm::JPEG2000Codec j2k;
    if (j2k.CanDecode(ts)) {
        set_up(j2k, image);
        return j2k.Decode(in, out);
    }
    gdcm::JPEGLSCodec jpeg_ls;
    if (jpeg_ls.CanDecode(ts)) {
        set_up(jpeg_ls, image);
        jpeg_ls.SetBufferLength(image.GetBufferLength());
        return jpeg_ls.Decode(in, out);
    }
    gdcm::RLECodec rle;
    if (rle.CanDecode(ts)) {
        set_up(rle, image);
        rle.SetLUT(image.GetLUT());
        rle.SetBufferLength(image.GetBufferLength());
        return rle.Decode(in, out);
    }
    throw InputError(std::string("no GDCM codec decodes ") + gdcm::TransferSyntax::GetTSString(ts));
}

}  // namespace

DecodedData dicom_pixels_task(const std::string& path, const std::string&) {
    gdcm::ImageReader reader;
    reader.SetFileName(path.c_str());
    if (!reader.Read()) throw InputError("cannot decode the compressed pixel data (unsupported or corrupt)");
    const gdcm::Image& image = reader.GetImage();
    gdcm::DataElement decoded;
    if (!decode(image, decoded) || decoded.GetByteValue() == nullptr) {
        throw InputError("cannot decode the compressed pixel data (truncated or corrupt stream)");
    }
    const gdcm::PixelFormat& pf = image.GetPixelFormat();
    StoredType type{};
    switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8:
        type = StoredType::UInt8;
        break;
    case gdcm::PixelFormat::INT8:
        type = StoredType::Int8;
        break;
    case gdcm::PixelFormat::UINT16:
        type = StoredType::UInt16;
        break;
    case gdcm::PixelFormat::INT16:
        type = StoredType::Int16;
        break;
    case gdcm::PixelFormat::UINT32:
        type = StoredType::UInt32;
        break;
    case gdcm::PixelFormat::INT32:
        type = StoredType::Int32;
        break;
    default:
        throw InputError(std::string("unsupported decoded pixel format ") + pf.GetScalarTypeAsString());
    }
    const unsigned* dims = image.GetDimensions();
    DecodedData out;
    out.meta = std::to_string(static_cast<int>(type)) + " " + std::to_string(pf.GetSamplesPerPixel()) + " " +
               std::to_string(dims[0]) + " " + std::to_string(dims[1]) + " " +
               std::to_string(image.GetNumberOfDimensions() > 2 ? dims[2] : 1);
    const gdcm::ByteValue* bytes = decoded.GetByteValue();
    out.bytes.resize(bytes->GetLength());
    if (!out.bytes.empty()) std::memcpy(out.bytes.data(), bytes->GetPointer(), out.bytes.size());
    return out;
}

}  // namespace lessmore
