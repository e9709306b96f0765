#pragma once
// How voxel values read from a file are kept (docs/dicom.md, section "Value model"): the
// on-disk element type, the file's scaling, and the narrowest of lessmore's voxel types
// that holds every value the header allows, exactly — decided from the header alone, so
// `info` (headers only) and `reduce` agree and nothing is ever clipped.
#include <lessmore/volume.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace lessmore {

enum class DiskType { UInt8, Int8, UInt16, Int16, UInt32, Int32, UInt64, Int64, Float32, Float64 };

std::size_t disk_type_size(DiskType t);
const char* disk_type_name(DiskType t);  // numpy-style: "uint8", "int16", ...
std::optional<DiskType> disk_type_from_name(const std::string& name);

// value = raw * slope + inter, in float64, the multiply skipped when slope is 1 and the
// add when inter is 0 (nibabel's rule for NIfTI; identity for formats without scaling).
struct Scaling {
    double slope = 1.0;
    double inter = 0.0;
    bool identity() const { return slope == 1.0 && inter == 0.0; }
};

// Unscaled: uint8, int16, uint16, int32, float32 and float64 are kept as they are, int8
// as int16, uint32 and 64-bit integers as float64. Scaled: integers with whole-number
// slope and intercept as int16 or int32 when the whole range of the disk type maps into
// it, everything else as float64.
VoxelType storage_type(DiskType type, const Scaling& scaling);

// The smallest and largest value storage_type(type, scaling) can be given from `type`
// (the disk type's range through the scaling); none when it is a float type.
std::optional<std::pair<double, double>> storage_range(DiskType type, const Scaling& scaling);

// Converts n raw values (host byte order) in buf to storage_type(type, scaling). Throws
// InputError naming the value when a 64-bit integer is beyond float64's exact range.
void to_storage(DiskType type, const Scaling& scaling, Bytes& buf, std::size_t n);

}  // namespace lessmore
