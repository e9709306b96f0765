#include "io/voxel_storage.hpp"

#include <lessmore/error.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace lessmore {
namespace {

struct TypeEntry {
    DiskType type;
    const char* name;
    std::size_t size;
};

constexpr std::array<TypeEntry, 10> k_types = {{{DiskType::UInt8, "uint8", 1},    {DiskType::Int8, "int8", 1},
                                                {DiskType::UInt16, "uint16", 2},  {DiskType::Int16, "int16", 2},
                                                {DiskType::UInt32, "uint32", 4},  {DiskType::Int32, "int32", 4},
                                                {DiskType::UInt64, "uint64", 8},  {DiskType::Int64, "int64", 8},
                                                {DiskType::Float32, "float32", 4}, {DiskType::Float64, "float64", 8}}};

const TypeEntry& entry(DiskType t) {
    for (const TypeEntry& e : k_types)
        if (e.type == t) return e;
    return k_types[0];
}

template <typename From, typename To>
void narrow_in_place(Bytes& buf, std::size_t n) {
    // Safe front to back: the write position never passes the read position.
    static_assert(sizeof(To) <= sizeof(From));
    for (std::size_t i = 0; i < n; ++i) {
        From v;
        std::memcpy(&v, buf.data() + i * sizeof(From), sizeof(From));
        const To t = static_cast<To>(v);
        std::memcpy(buf.data() + i * sizeof(To), &t, sizeof(To));
    }
    buf.resize(n * sizeof(To));  // capacity kept: shrinking would copy the volume once more
}

template <typename T>
bool fits_int16(const Bytes& buf, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, buf.data() + i * sizeof(T), sizeof(T));
        if constexpr (std::is_signed_v<T>) {
            if (v < INT16_MIN || v > INT16_MAX) return false;
        } else {
            if (v > static_cast<T>(INT16_MAX)) return false;
        }
    }
    return true;
}

template <typename T>
void widen_to_int16(Bytes& buf, std::size_t n) {
    Bytes out(n * sizeof(std::int16_t));
    for (std::size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, buf.data() + i * sizeof(T), sizeof(T));
        const auto w = static_cast<std::int16_t>(v);
        std::memcpy(out.data() + i * sizeof(std::int16_t), &w, sizeof(w));
    }
    buf.swap(out);
}

// Integers become int16 when every value fits (CT in HU), else float32.
template <typename T>
VoxelType integer_to_storage(Bytes& buf, std::size_t n) {
    if (fits_int16<T>(buf, n)) {
        if constexpr (sizeof(T) >= 2) {
            narrow_in_place<T, std::int16_t>(buf, n);
        } else {
            widen_to_int16<T>(buf, n);
        }
        return VoxelType::Int16;
    }
    if constexpr (sizeof(T) >= sizeof(float)) {
        narrow_in_place<T, float>(buf, n);  // float32 is exact up to 2^24
        return VoxelType::Float32;
    } else {
        throw std::logic_error("narrow integers always fit int16");
    }
}

}  // namespace

std::size_t disk_type_size(DiskType t) { return entry(t).size; }
const char* disk_type_name(DiskType t) { return entry(t).name; }

std::optional<DiskType> disk_type_from_name(const std::string& name) {
    for (const TypeEntry& e : k_types)
        if (name == e.name) return e.type;
    return std::nullopt;
}

VoxelType to_storage(DiskType type, Bytes& buf, std::size_t n) {
    switch (type) {
    case DiskType::UInt8: return VoxelType::UInt8;
    case DiskType::Int8: return integer_to_storage<std::int8_t>(buf, n);
    case DiskType::Int16: return VoxelType::Int16;
    case DiskType::UInt16:
        if (fits_int16<std::uint16_t>(buf, n)) return VoxelType::Int16;  // same bytes
        return VoxelType::UInt16;
    case DiskType::Int32: return integer_to_storage<std::int32_t>(buf, n);
    case DiskType::UInt32: return integer_to_storage<std::uint32_t>(buf, n);
    case DiskType::Int64: return integer_to_storage<std::int64_t>(buf, n);
    case DiskType::UInt64: return integer_to_storage<std::uint64_t>(buf, n);
    case DiskType::Float32: return VoxelType::Float32;
    case DiskType::Float64: narrow_in_place<double, float>(buf, n); return VoxelType::Float32;
    }
    return VoxelType::Float32;
}

}  // namespace lessmore
