#pragma once
// One DICOM file: header fields and Hounsfield-unit pixels, parsed once.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <lessmore/decoder_pool.hpp>
#include <lessmore/volume.hpp>

namespace lessmore {

struct DicomFile {
    std::string name;
    bool skip = false;       // a DICOM file that is not an image (DICOMDIR, SR, RT structures)
    std::string skip_reason;
    std::string error;       // one line; empty when the file is fine
    bool header_ok = false;  // series fields below are valid even if the pixels failed
    std::string series_uid;
    std::string series_number;
    std::optional<std::array<double, 3>> position;
    std::optional<std::array<double, 6>> orientation;
    std::optional<long> instance;
    int rows = 0;
    int columns = 0;
    int frames = 1;
    std::array<double, 2> pixel_spacing{1.0, 1.0};  // row spacing, column spacing
    double thickness = 0.0;
    Bytes hu;  // int16, rows * columns (empty with headers_only)
};

// How pixel values are stored in the file.
enum class StoredType { UInt8, Int8, UInt16, Int16, UInt32, Int32 };

// Stored values to Hounsfield units as the authors' scripts did (io/dicom_file.cpp).
bool convert_stored(StoredType type, const std::uint8_t* raw, std::size_t n, bool big_endian, double slope,
                    double intercept, std::int16_t* out);

// Never throws; problems land in .error (or .skip for non-image DICOM).
DicomFile read_dicom_file(const std::filesystem::path& path, const std::string& name, DecoderPool& decoders,
                          bool headers_only);

}  // namespace lessmore
