#include "io/dicom_values.hpp"

#include <lessmore/error.hpp>
#include <lessmore/number_format.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

namespace lessmore {
namespace {

bool whole(double v) { return std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 9.0e15; }

// The stored value range BitsStored allows.
std::pair<double, double> stored_range(const StoredFormat& f) {
    const bool is_signed = f.type == StoredType::Int8 || f.type == StoredType::Int16 || f.type == StoredType::Int32;
    const double span = std::ldexp(1.0, f.bits_stored);
    return is_signed ? std::make_pair(-span / 2, span / 2 - 1) : std::make_pair(0.0, span - 1);
}

template <typename T>
T load(const std::uint8_t* p, bool swap) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    if (swap) {
        auto* b = reinterpret_cast<std::uint8_t*>(&v);
        std::reverse(b, b + sizeof(T));
    }
    return v;
}

// Stored value i: bits beyond BitsStored dropped, sign-extended when signed.
template <typename T>
std::int64_t stored_at(const std::uint8_t* raw, std::size_t i, bool swap, int bits) {
    std::int64_t v = static_cast<std::int64_t>(load<T>(raw + i * sizeof(T), swap));
    if (bits < static_cast<int>(8 * sizeof(T))) {
        const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
        v = static_cast<std::int64_t>(static_cast<std::uint64_t>(v) & mask);
        if (std::is_signed_v<T> && (v >> (bits - 1)) & 1) v -= std::int64_t{1} << bits;
    }
    return v;
}

template <typename T, typename Out>
void convert_as(const std::uint8_t* raw, std::size_t n, const StoredFormat& f, const ValueRule& r, Out* out) {
    const int bits = f.bits_stored;
    if (r.ct) {
        const auto icept = static_cast<std::int64_t>(r.intercept);  // np.int16(intercept) truncates
        if (r.slope == 1.0 && !f.big_endian && std::is_integral_v<Out>) {
            // The common case, in plain integer arithmetic (32-bit for 8/16-bit data) so the
            // loop vectorises: bits beyond BitsStored masked off, or shifted out and back
            // for the sign.
            using Wide = std::conditional_t<(sizeof(T) <= 2), std::int32_t, std::int64_t>;
            using UWide = std::make_unsigned_t<Wide>;
            constexpr int width = 8 * sizeof(Wide);
            const int shift = width - bits;
            const UWide mask = bits >= width ? ~UWide{0} : (UWide{1} << bits) - 1;
            const auto ic = static_cast<Wide>(icept);
            for (std::size_t i = 0; i < n; ++i) {
                // Loaded with memcpy: pixel data may start at an odd offset (odd lengths
                // before it are accepted), so raw is not always aligned for T.
                Wide p = static_cast<Wide>(load<T>(raw + i * sizeof(T), false));
                if constexpr (std::is_signed_v<T>) {
                    p = static_cast<Wide>(static_cast<UWide>(p) << shift) >> shift;
                } else {
                    p = static_cast<Wide>(static_cast<UWide>(p) & mask);
                }
                p = p == -2000 ? 0 : p;
                out[i] = static_cast<Out>(p + ic);
            }
            return;
        }
        for (std::size_t i = 0; i < n; ++i) {
            std::int64_t p = stored_at<T>(raw, i, f.big_endian, bits);
            if (p == -2000) p = 0;
            if (r.slope != 1.0) p = static_cast<std::int64_t>(static_cast<double>(p) * r.slope);  // truncates
            out[i] = static_cast<Out>(p + icept);
        }
        return;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(stored_at<T>(raw, i, f.big_endian, bits)) * r.slope + r.intercept;
        out[i] = static_cast<Out>(v);
    }
}

template <typename Out>
void convert_to(const std::uint8_t* raw, std::size_t n, const StoredFormat& f, const ValueRule& r, Out* out) {
    switch (f.type) {
    case StoredType::UInt8:
        convert_as<std::uint8_t>(raw, n, f, r, out);
        break;
    case StoredType::Int8:
        convert_as<std::int8_t>(raw, n, f, r, out);
        break;
    case StoredType::UInt16:
        convert_as<std::uint16_t>(raw, n, f, r, out);
        break;
    case StoredType::Int16:
        convert_as<std::int16_t>(raw, n, f, r, out);
        break;
    case StoredType::UInt32:
        convert_as<std::uint32_t>(raw, n, f, r, out);
        break;
    case StoredType::Int32:
        convert_as<std::int32_t>(raw, n, f, r, out);
        break;
    }
}

struct SyntaxName {
    const char* uid;
    const char* name;
    bool gdcm;  // GDCM 3.0 decodes it
};

constexpr SyntaxName k_syntaxes[] = {
    {"1.2.840.10008.1.2", "Implicit VR Little Endian", true},
    {"1.2.840.10008.1.2.1", "Explicit VR Little Endian", true},
    {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", true},
    {"1.2.840.10008.1.2.2", "Explicit VR Big Endian", true},
    {"1.2.840.10008.1.2.4.50", "JPEG Baseline", true},
    {"1.2.840.10008.1.2.4.51", "JPEG Extended", true},
    {"1.2.840.10008.1.2.4.57", "JPEG Lossless", true},
    {"1.2.840.10008.1.2.4.70", "JPEG Lossless SV1", true},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", true},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless", true},
    {"1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless", true},
    {"1.2.840.10008.1.2.4.91", "JPEG 2000", true},
    {"1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Lossless", false},
    {"1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2", false},
    {"1.2.840.10008.1.2.4.94", "JPIP Referenced", false},
    {"1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", false},
    {"1.2.840.10008.1.2.4.100", "MPEG2 Main Profile", false},
    {"1.2.840.10008.1.2.4.101", "MPEG2 High Profile", false},
    {"1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264", false},
    {"1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD", false},
    {"1.2.840.10008.1.2.4.110", "JPEG XL Lossless", false},
    {"1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression", false},
    {"1.2.840.10008.1.2.4.112", "JPEG XL", false},
    {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Lossless", false},
    {"1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 RPCL Lossless", false},
    {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000", false},
    {"1.2.840.10008.1.2.5", "RLE Lossless", true},
    {"1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", false},
};

}  // namespace

std::size_t stored_size(StoredType t) {
    return t == StoredType::UInt8 || t == StoredType::Int8     ? 1
           : t == StoredType::UInt16 || t == StoredType::Int16 ? 2
                                                               : 4;
}

std::optional<std::pair<double, double>> value_range(const StoredFormat& f, const ValueRule& r) {
    const auto [lo, hi] = stored_range(f);
    double a = 0, b = 0;
    if (r.ct) {
        // -2000 becomes 0, inside the range either way; the rule is monotonic in the stored
        // value (slope truncates toward zero; whole intercept), so the ends map to the ends.
        a = std::trunc(lo * r.slope) + std::trunc(r.intercept);
        b = std::trunc(hi * r.slope) + std::trunc(r.intercept);
    } else {
        if (!whole(r.slope) || !whole(r.intercept)) return std::nullopt;
        a = lo * r.slope + r.intercept;
        b = hi * r.slope + r.intercept;
    }
    return std::make_pair(std::min(a, b), std::max(a, b));
}

VoxelType value_type(const StoredFormat& f, const ValueRule& r) {
    const auto range = value_range(f, r);
    if (!range) return VoxelType::Float64;
    const auto [min, max] = *range;
    if (min >= -32768.0 && max <= 32767.0) return VoxelType::Int16;
    if (min >= -2147483648.0 && max <= 2147483647.0) return VoxelType::Int32;
    if (!r.ct) return VoxelType::Float64;
    throw InputError("RescaleSlope " + format_number(r.slope) + " and RescaleIntercept " + format_number(r.intercept) +
                     " give values from " + format_number(min) + " to " + format_number(max) + ", beyond int32");
}

void convert_values(const std::uint8_t* raw, std::size_t n, const StoredFormat& f, const ValueRule& r, VoxelType type,
                    std::byte* out) {
    switch (type) {
    case VoxelType::Int16:
        convert_to(raw, n, f, r, reinterpret_cast<std::int16_t*>(out));
        break;
    case VoxelType::Int32:
        convert_to(raw, n, f, r, reinterpret_cast<std::int32_t*>(out));
        break;
    case VoxelType::Float64:
        convert_to(raw, n, f, r, reinterpret_cast<double*>(out));
        break;
    default:
        throw std::logic_error("convert_values: DICOM values are int16, int32 or float64");
    }
}

std::string transfer_syntax_text(const std::string& uid) {
    for (const SyntaxName& s : k_syntaxes)
        if (uid == s.uid) return std::string(s.name) + " (" + uid + ")";
    return "an unknown transfer syntax (" + uid + "; a private compression?)";
}

bool gdcm_decodes(const std::string& uid) {
    for (const SyntaxName& s : k_syntaxes)
        if (uid == s.uid) return s.gdcm;
    return false;
}

std::optional<std::pair<double, double>> union_range(const std::optional<std::pair<double, double>>& a,
                                                     const std::optional<std::pair<double, double>>& b) {
    if (!a || !b) return std::nullopt;
    return std::make_pair(std::min(a->first, b->first), std::max(a->second, b->second));
}

VoxelType wider_type(VoxelType a, VoxelType b) {
    auto rank = [](VoxelType t) { return t == VoxelType::Float64 ? 2 : t == VoxelType::Int32 ? 1 : 0; };
    return rank(a) >= rank(b) ? a : b;
}

void widen_values(Bytes& values, VoxelType from, VoxelType to) {
    if (from == to) return;
    const std::size_t n = values.size() / voxel_size(from);
    Bytes out(n * voxel_size(to));
    auto widen = [&](auto in_tag, auto out_tag) {
        using In = decltype(in_tag);
        using Out = decltype(out_tag);
        for (std::size_t i = 0; i < n; ++i) {
            In v;
            std::memcpy(&v, values.data() + i * sizeof(In), sizeof(In));
            const auto w = static_cast<Out>(v);
            std::memcpy(out.data() + i * sizeof(Out), &w, sizeof(Out));
        }
    };
    if (from == VoxelType::Int16 && to == VoxelType::Int32) {
        widen(std::int16_t{}, std::int32_t{});
    } else if (from == VoxelType::Int16 && to == VoxelType::Float64) {
        widen(std::int16_t{}, double{});
    } else if (from == VoxelType::Int32 && to == VoxelType::Float64) {
        widen(std::int32_t{}, double{});
    } else {
        throw std::logic_error("widen_values: not a widening");
    }
    values.swap(out);
}

}  // namespace lessmore
