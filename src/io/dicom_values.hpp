#pragma once
// DICOM stored values to the values lessmore keeps (docs/dicom.md, section "Value model"):
// bits beyond BitsStored dropped (signed values sign-extended from BitsStored, after any
// decoder), then for CT the authors' rules (stored -2000 is 0; a slope multiplies in
// float64 and truncates; the intercept is added as a whole number), for other
// modalities the modality LUT (value = stored * slope + intercept in float64, as pydicom
// applies it). The type kept is decided from the header: the range of values the stored
// bits can give, mapped by the rule, in int16, else int32, else float64 — never clipped.
#include "io/dicom_file.hpp"

#include <lessmore/volume.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

namespace lessmore {

struct StoredFormat {
    StoredType type = StoredType::Int16;
    int bits_stored = 16;
    bool big_endian = false;
};

struct ValueRule {
    bool ct = true;  // the authors' CT rules (Modality CT, or none given)
    double slope = 1.0;
    double intercept = 0.0;
};

std::size_t stored_size(StoredType t);

// The smallest and largest value `rule` gives for stored values of `format` (whole
// numbers); none when the values can be fractional (a float64 type).
std::optional<std::pair<double, double>> value_range(const StoredFormat& format, const ValueRule& rule);
// The range holding both (none when either is none).
std::optional<std::pair<double, double>> union_range(const std::optional<std::pair<double, double>>& a,
                                                     const std::optional<std::pair<double, double>>& b);

// The type that holds every value `rule` gives for stored values of `format`; throws
// InputError when CT values would not fit int32 (an absurd slope or intercept).
VoxelType value_type(const StoredFormat& format, const ValueRule& rule);

// n stored values at raw to `type` (from value_type, or wider) at out.
void convert_values(const std::uint8_t* raw, std::size_t n, const StoredFormat& format, const ValueRule& rule,
                    VoxelType type, std::byte* out);

// The wider of two value types (Int16 < Int32 < Float64).
VoxelType wider_type(VoxelType a, VoxelType b);
// Values of one type converted to a wider one (a series keeps the widest of its files').
void widen_values(Bytes& values, VoxelType from, VoxelType to);

// "JPEG 2000 (1.2.840.10008.1.2.4.91)": a transfer syntax for messages; whether GDCM 3.0
// decodes it.
std::string transfer_syntax_text(const std::string& uid);
bool gdcm_decodes(const std::string& uid);

}  // namespace lessmore
