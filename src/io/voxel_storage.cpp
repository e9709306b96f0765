#include "io/voxel_storage.hpp"

#include <lessmore/error.hpp>
#include <lessmore/number_format.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace lessmore {
namespace {

struct TypeEntry {
    DiskType type;
    const char* name;
    std::size_t size;
    double lo, hi;  // the values the type can hold (integers), or ±inf
};

constexpr double k_inf = std::numeric_limits<double>::infinity();

constexpr std::array<TypeEntry, 10> k_types = {{
    {DiskType::UInt8, "uint8", 1, 0.0, 255.0},
    {DiskType::Int8, "int8", 1, -128.0, 127.0},
    {DiskType::UInt16, "uint16", 2, 0.0, 65535.0},
    {DiskType::Int16, "int16", 2, -32768.0, 32767.0},
    {DiskType::UInt32, "uint32", 4, 0.0, 4294967295.0},
    {DiskType::Int32, "int32", 4, -2147483648.0, 2147483647.0},
    {DiskType::UInt64, "uint64", 8, 0.0, 18446744073709551615.0},
    {DiskType::Int64, "int64", 8, -9223372036854775808.0, 9223372036854775807.0},
    {DiskType::Float32, "float32", 4, -k_inf, k_inf},
    {DiskType::Float64, "float64", 8, -k_inf, k_inf},
}};

const TypeEntry& entry(DiskType t) {
    for (const TypeEntry& e : k_types)
        if (e.type == t) return e;
    return k_types[0];
}

bool is_integer(DiskType t) { return t != DiskType::Float32 && t != DiskType::Float64; }

bool whole(double v) { return std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 9007199254740992.0; }

template <typename T>
double raw_at(const Bytes& buf, std::size_t i) {
    T v;
    std::memcpy(&v, buf.data() + i * sizeof(T), sizeof(T));
    return static_cast<double>(v);
}

double raw_value(DiskType type, const Bytes& buf, std::size_t i) {
    switch (type) {
    case DiskType::UInt8:
        return raw_at<std::uint8_t>(buf, i);
    case DiskType::Int8:
        return raw_at<std::int8_t>(buf, i);
    case DiskType::UInt16:
        return raw_at<std::uint16_t>(buf, i);
    case DiskType::Int16:
        return raw_at<std::int16_t>(buf, i);
    case DiskType::UInt32:
        return raw_at<std::uint32_t>(buf, i);
    case DiskType::Int32:
        return raw_at<std::int32_t>(buf, i);
    case DiskType::UInt64:
        return raw_at<std::uint64_t>(buf, i);
    case DiskType::Int64:
        return raw_at<std::int64_t>(buf, i);
    case DiskType::Float32:
        return raw_at<float>(buf, i);
    case DiskType::Float64:
        return raw_at<double>(buf, i);
    }
    return 0.0;
}

// A 64-bit integer that float64 would round.
void check_exact(DiskType type, const Bytes& buf, std::size_t i) {
    if (type == DiskType::UInt64) {
        std::uint64_t v;
        std::memcpy(&v, buf.data() + i * 8, 8);
        if (v > (std::uint64_t{1} << 53))
            throw InputError("value " + std::to_string(v) + " cannot be kept exactly (beyond 2^53)");
    } else if (type == DiskType::Int64) {
        std::int64_t v;
        std::memcpy(&v, buf.data() + i * 8, 8);
        if (v > (std::int64_t{1} << 53) || v < -(std::int64_t{1} << 53)) {
            throw InputError("value " + std::to_string(v) + " cannot be kept exactly (beyond 2^53)");
        }
    }
}

template <typename Out>
void write_all(DiskType type, const Scaling& s, const Bytes& in, Bytes& out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        check_exact(type, in, i);
        double v = raw_value(type, in, i);
        if (s.slope != 1.0) v *= s.slope;
        if (s.inter != 0.0) v += s.inter;
        const auto o = static_cast<Out>(v);
        std::memcpy(out.data() + i * sizeof(Out), &o, sizeof(Out));
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

VoxelType storage_type(DiskType type, const Scaling& s) {
    if (s.identity()) {
        switch (type) {
        case DiskType::UInt8:
            return VoxelType::UInt8;
        case DiskType::Int8:
        case DiskType::Int16:
            return VoxelType::Int16;
        case DiskType::UInt16:
            return VoxelType::UInt16;
        case DiskType::Int32:
            return VoxelType::Int32;
        case DiskType::Float32:
            return VoxelType::Float32;
        default:
            return VoxelType::Float64;
        }
    }
    if (is_integer(type) && whole(s.slope) && whole(s.inter)) {
        const TypeEntry& e = entry(type);
        const double a = e.lo * s.slope + s.inter, b = e.hi * s.slope + s.inter;
        const double lo = std::min(a, b), hi = std::max(a, b);
        if (lo >= -32768.0 && hi <= 32767.0) return VoxelType::Int16;
        if (lo >= -2147483648.0 && hi <= 2147483647.0) return VoxelType::Int32;
    }
    return VoxelType::Float64;
}

std::optional<std::pair<double, double>> storage_range(DiskType type, const Scaling& s) {
    const VoxelType kept = storage_type(type, s);
    if (kept == VoxelType::Float32 || kept == VoxelType::Float64) return std::nullopt;
    // An integer type kept: unscaled, or whole slope and intercept (storage_type above).
    const TypeEntry& e = entry(type);
    const double a = e.lo * s.slope + s.inter, b = e.hi * s.slope + s.inter;
    return std::make_pair(std::min(a, b), std::max(a, b));
}

void to_storage(DiskType type, const Scaling& s, Bytes& buf, std::size_t n) {
    const VoxelType out_type = storage_type(type, s);
    const bool same_bytes = s.identity() && disk_type_size(type) == voxel_size(out_type) &&
                            (type == DiskType::UInt8 || type == DiskType::Int16 || type == DiskType::UInt16 ||
                             type == DiskType::Int32 || type == DiskType::Float32 || type == DiskType::Float64);
    if (same_bytes) return;
    Bytes out(n * voxel_size(out_type));
    switch (out_type) {
    case VoxelType::Int16:
        write_all<std::int16_t>(type, s, buf, out, n);
        break;
    case VoxelType::Int32:
        write_all<std::int32_t>(type, s, buf, out, n);
        break;
    case VoxelType::Float64:
        write_all<double>(type, s, buf, out, n);
        break;
    default:
        throw std::logic_error("to_storage: no conversion to " + std::string(voxel_type_name(out_type)));
    }
    buf.swap(out);
}

}  // namespace lessmore
