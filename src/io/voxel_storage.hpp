#pragma once
// How voxel values read from a file are kept: the on-disk element type, and the narrowest
// of lessmore's voxel types that holds every value exactly.
#include <lessmore/volume.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace lessmore {

enum class DiskType { UInt8, Int8, UInt16, Int16, UInt32, Int32, UInt64, Int64, Float32, Float64 };

std::size_t disk_type_size(DiskType t);
const char* disk_type_name(DiskType t);  // numpy-style: "uint8", "int16", ...
std::optional<DiskType> disk_type_from_name(const std::string& name);

// Converts n values of type `type` in buf (host byte order) in place: integers become
// int16 when every value fits (CT in HU), uint8 stays uint8, uint16 stays uint16 when it
// does not fit int16, other integers become float32 (exact up to 2^24), floats float32.
VoxelType to_storage(DiskType type, Bytes& buf, std::size_t n);

}  // namespace lessmore
