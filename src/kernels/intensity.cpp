#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>

#include <lessmore/number_format.hpp>
#include "kernels/cpu_dispatch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace lessmore {
namespace {

// Round half to even (the default FP rounding mode) and saturate, like OpenCV's
// saturate_cast<uchar>(double) which the authors' PNG conversion used.
inline std::uint8_t to_u8(double v) {
    const double r = std::nearbyint(v);
    if (!(r > 0.0)) return 0;  // also NaN
    if (r >= 255.0) return 255;
    return static_cast<std::uint8_t>(r);
}

struct Range {
    double lo = 0.0;
    double hi = 0.0;
    bool any = false;
};

// The integer min and max: one loop per voxel type, each compiled for AVX2 too (16 int16
// per instruction) and chosen at load time (src/kernels/cpu_dispatch.hpp).
template <typename T>
std::pair<T, T> min_max(const T* p, std::size_t n) {
    T lo = p[0], hi = p[0];
    for (std::size_t i = 1; i < n; ++i) {
        lo = std::min(lo, p[i]);
        hi = std::max(hi, p[i]);
    }
    return {lo, hi};
}
LESSMORE_CLONES_AVX2 std::pair<std::uint8_t, std::uint8_t> integer_range(const std::uint8_t* p, std::size_t n) {
    return min_max(p, n);
}
LESSMORE_CLONES_AVX2 std::pair<std::int16_t, std::int16_t> integer_range(const std::int16_t* p, std::size_t n) {
    return min_max(p, n);
}
LESSMORE_CLONES_AVX2 std::pair<std::uint16_t, std::uint16_t> integer_range(const std::uint16_t* p, std::size_t n) {
    return min_max(p, n);
}
LESSMORE_CLONES_AVX2 std::pair<std::int32_t, std::int32_t> integer_range(const std::int32_t* p, std::size_t n) {
    return min_max(p, n);
}

template <typename T>
Range finite_range(const T* p, std::size_t n) {
    Range r;
    if constexpr (std::is_integral_v<T>) {
        if (n == 0) return r;
        const auto [lo, hi] = integer_range(p, n);
        return {static_cast<double>(lo), static_cast<double>(hi), true};
    } else {
        double lo = std::numeric_limits<double>::infinity();
        double hi = -lo;
        for (std::size_t i = 0; i < n; ++i) {
            const double v = p[i];
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
                r.any = true;
            }
        }
        if (r.any) {
            r.lo = lo;
            r.hi = hi;
        }
        return r;
    }
}

// The mapping of one value; kept in one place so the LUT and the direct path agree.
struct Mapper {
    IntensityMapping::Kind kind;
    double lo;      // MinMax: slice min; Window: C - W/2
    double hi;      // MinMax: slice max; Window: C + W/2
    double span;    // MinMax: max - min; Window: W
    bool constant;  // MinMax with max == min: all zeros

    std::uint8_t operator()(double x) const {
        if (!std::isfinite(x)) return 0;
        if (kind == IntensityMapping::Kind::Window) {
            x = std::clamp(x, lo, hi);
        } else if (constant) {
            return 0;
        }
        return to_u8((x - lo) / span * 255.0);
    }
};

// lut[k] = m(base + k) for k < count: the exact formula once per distinct integer value
// (the same IEEE operations whatever instructions the clone uses; no FMA: -mavx2 has none).
LESSMORE_CLONES_AVX2 void fill_lut(const Mapper& m, std::int64_t base, std::size_t count, std::uint8_t* lut) {
    for (std::size_t k = 0; k < count; ++k) lut[k] = m(static_cast<double>(base + static_cast<std::int64_t>(k)));
}

// out[i] = lut[index(p[i])], eight voxels at a time: the eight table bytes are gathered in
// registers and stored with one 8-byte write (measured 1.7x the one-byte-per-voxel loop on
// 512x512 int16 CT; bench/bench_kernels.cpp, BM_MinMaxTo8Bit512).
template <typename T, typename Index>
void lookup(const T* p, std::size_t n, const std::uint8_t* lut, Index index, std::uint8_t* out) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint8_t eight[8];
        for (std::size_t k = 0; k < 8; ++k) eight[k] = lut[index(p[i + k])];
        std::memcpy(out + i, eight, 8);
    }
    for (; i < n; ++i) out[i] = lut[index(p[i])];
}

template <typename T>
void convert(const T* p, std::size_t n, const IntensityMapping& mapping, std::uint8_t* out) {
    if (n == 0) return;
    const Range r = finite_range(p, n);
    Mapper m{mapping.kind, 0.0, 0.0, 0.0, false};
    if (mapping.kind == IntensityMapping::Kind::Window) {
        m.lo = mapping.center - mapping.width / 2.0;
        m.hi = mapping.center + mapping.width / 2.0;
        m.span = mapping.width;
    } else {
        m.lo = r.lo;
        m.hi = r.hi;
        m.span = r.hi - r.lo;
        m.constant = !r.any || r.hi == r.lo;
    }
    if constexpr (std::is_integral_v<T>) {
        // Integer input has few distinct values: evaluate the exact formula once per value
        // in [min, max] and look the voxels up, so the table is exact by construction.
        const auto base = static_cast<std::int64_t>(r.lo);
        const auto count = static_cast<std::uint64_t>(static_cast<std::int64_t>(r.hi) - base) + 1;
        if constexpr (sizeof(T) <= 2) {
            // 8- and 16-bit voxels index a 2^bits table by their bit pattern: no subtraction
            // per voxel. Only the entries of values in [min, max] are written, and only those
            // are read (every voxel lies in that range), so the rest stays uninitialised.
            using Bits = std::make_unsigned_t<T>;
            const std::unique_ptr<std::uint8_t[]> table(new std::uint8_t[std::size_t{1} << (8 * sizeof(T))]);
            std::vector<std::uint8_t> lut(static_cast<std::size_t>(count));
            fill_lut(m, base, lut.size(), lut.data());
            for (std::size_t k = 0; k < lut.size(); ++k)
                table[static_cast<Bits>(static_cast<T>(base + static_cast<std::int64_t>(k)))] = lut[k];
            lookup(
                p, n, table.get(), [](T v) { return static_cast<Bits>(v); }, out);
            return;
        } else if (count <= (1u << 20)) {
            // (up to a million values; a wider int32 range is mapped value by value)
            std::vector<std::uint8_t> lut(static_cast<std::size_t>(count));
            fill_lut(m, base, lut.size(), lut.data());
            lookup(
                p, n, lut.data(), [base](T v) { return static_cast<std::size_t>(static_cast<std::int64_t>(v) - base); },
                out);
            return;
        }
    }
    for (std::size_t i = 0; i < n; ++i) out[i] = m(static_cast<double>(p[i]));
}

// `text` as one finite number and nothing else.
std::optional<double> finite_number(const std::string& text) {
    if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

}  // namespace

std::optional<IntensityMapping> IntensityMapping::from_string(const std::string& text) {
    IntensityMapping m;
    if (text == "minmax") return m;
    if (text == "none") {
        m.kind = Kind::None;
        return m;
    }
    const std::string prefix = "window:";
    if (text.rfind(prefix, 0) != 0) return std::nullopt;
    const std::string rest = text.substr(prefix.size());
    const auto comma = rest.find(',');
    if (comma == std::string::npos) return std::nullopt;
    const auto center = finite_number(rest.substr(0, comma));
    const auto width = finite_number(rest.substr(comma + 1));
    if (!center || !width || !(*width > 0.0)) return std::nullopt;
    m.kind = Kind::Window;
    m.center = *center;
    m.width = *width;
    return m;
}

std::string IntensityMapping::to_string() const {
    switch (kind) {
    case Kind::MinMax:
        return "minmax";
    case Kind::None:
        return "none";
    case Kind::Window: {
        return "window:" + format_number(center) + "," + format_number(width);
    }
    }
    return "?";
}

void to_8bit(const SliceView& slice, const IntensityMapping& mapping, Image8& out) {
    if (out.width != slice.width || out.height != slice.height) out = Image8(slice.width, slice.height);
    const std::size_t n = slice.pixels();
    std::uint8_t* dst = out.pixels.data();
    if (mapping.kind == IntensityMapping::Kind::None) {
        if (slice.type != VoxelType::UInt8) {
            throw InputError(std::string("--intensity none needs 8-bit input, got ") + voxel_type_name(slice.type));
        }
        std::copy_n(static_cast<const std::uint8_t*>(slice.data), n, dst);
        return;
    }
    switch (slice.type) {
    case VoxelType::UInt8:
        convert(static_cast<const std::uint8_t*>(slice.data), n, mapping, dst);
        break;
    case VoxelType::Int16:
        convert(static_cast<const std::int16_t*>(slice.data), n, mapping, dst);
        break;
    case VoxelType::UInt16:
        convert(static_cast<const std::uint16_t*>(slice.data), n, mapping, dst);
        break;
    case VoxelType::Int32:
        convert(static_cast<const std::int32_t*>(slice.data), n, mapping, dst);
        break;
    case VoxelType::Float32:
        convert(static_cast<const float*>(slice.data), n, mapping, dst);
        break;
    case VoxelType::Float64:
        convert(static_cast<const double*>(slice.data), n, mapping, dst);
        break;
    }
}

Image8 to_8bit(const SliceView& slice, const IntensityMapping& mapping) {
    Image8 out(slice.width, slice.height);
    to_8bit(slice, mapping, out);
    return out;
}

namespace {

template <typename T>
void shifted(const T* p, std::size_t n, std::int64_t offset, std::uint16_t* out) {
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t d = static_cast<std::int64_t>(p[i]) - offset;
        if (d < 0 || d > 65535) {
            throw InputError("value " + std::to_string(static_cast<std::int64_t>(p[i])) +
                             " lies outside the range its header allows (" + std::to_string(offset) + " to " +
                             std::to_string(offset + 65535) + " for a 16-bit PNG)");
        }
        out[i] = static_cast<std::uint16_t>(d);
    }
}

template <typename T>
void unit_window(const T* p, std::size_t n, double lo, double hi, double width, float* out) {
    for (std::size_t i = 0; i < n; ++i) {
        const double x = static_cast<double>(p[i]);
        out[i] = std::isfinite(x) ? static_cast<float>((std::clamp(x, lo, hi) - lo) / width) : 0.0f;
    }
}

template <typename F>
void dispatch(const SliceView& slice, F&& f) {
    switch (slice.type) {
    case VoxelType::UInt8:
        f(static_cast<const std::uint8_t*>(slice.data));
        break;
    case VoxelType::Int16:
        f(static_cast<const std::int16_t*>(slice.data));
        break;
    case VoxelType::UInt16:
        f(static_cast<const std::uint16_t*>(slice.data));
        break;
    case VoxelType::Int32:
        f(static_cast<const std::int32_t*>(slice.data));
        break;
    case VoxelType::Float32:
        f(static_cast<const float*>(slice.data));
        break;
    case VoxelType::Float64:
        f(static_cast<const double*>(slice.data));
        break;
    }
}

}  // namespace

std::string ExportValues::to_string() const {
    switch (kind) {
    case Kind::Intensity:
        return "intensity";
    case Kind::MinMax:
        return "minmax";
    case Kind::Hu:
        return "hu";
    case Kind::Window:
        return window_mapping().to_string();
    }
    return "?";
}

std::optional<ExportValues> ExportValues::from_string(const std::string& text) {
    ExportValues e;
    if (text == "intensity") return e;
    if (text == "minmax" || text == "hu") {
        e.kind = text == "hu" ? Kind::Hu : Kind::MinMax;
        return e;
    }
    // The window's text is --intensity's (one parser for both).
    const auto m = IntensityMapping::from_string(text);
    if (!m || m->kind != IntensityMapping::Kind::Window) return std::nullopt;
    e.kind = Kind::Window;
    e.center = m->center;
    e.width = m->width;
    return e;
}

IntensityMapping ExportValues::window_mapping() const {
    IntensityMapping m;
    m.kind = IntensityMapping::Kind::Window;
    m.center = center;
    m.width = width;
    return m;
}

std::int64_t png16_offset(const VolumeInfo& info) {
    const auto bounds = info.value_bounds();
    if (!bounds) {
        throw InputError(std::string("--export-values hu: a ") + voxel_type_name(info.type) +
                         " volume cannot be written as 16-bit PNG (its values need not be whole numbers; use "
                         "--format npy, or --export-values window:C,W)");
    }
    const auto [lo, hi] = *bounds;
    if (hi - lo > 65535.0) {
        throw InputError("--export-values hu: the header allows values from " + format_number(lo) + " to " +
                         format_number(hi) +
                         ", more than a 16-bit PNG holds (use --format npy, or --export-values window:C,W)");
    }
    return static_cast<std::int64_t>(lo);
}

void to_16bit(const SliceView& slice, std::int64_t offset, std::vector<std::uint16_t>& out) {
    out.resize(slice.pixels());
    dispatch(slice, [&](const auto* p) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(p)>>;
        if constexpr (std::is_integral_v<T>) {
            shifted(p, out.size(), offset, out.data());
        } else {
            throw InputError(std::string("a 16-bit PNG holds whole numbers, not ") + voxel_type_name(slice.type));
        }
    });
}

void to_unit_window(const SliceView& slice, double center, double width, std::vector<float>& out) {
    out.resize(slice.pixels());
    const double lo = center - width / 2.0, hi = center + width / 2.0;
    dispatch(slice, [&](const auto* p) { unit_window(p, out.size(), lo, hi, width, out.data()); });
}

}  // namespace lessmore

namespace lessmore {
namespace {

// The block's voxels of one type gathered into one contiguous buffer, so the block goes
// through the very convert() a slice goes through (one range, one mapper).
template <typename T>
void convert_block(const std::vector<SliceView>& slices, int x0, int y0, int width, int height,
                   const IntensityMapping& mapping, std::uint8_t* out) {
    const std::size_t plane = static_cast<std::size_t>(width) * height;
    std::vector<T> block(plane * slices.size());
    T* dst = block.data();
    for (const SliceView& s : slices)
        for (int y = y0; y < y0 + height; ++y, dst += width) {
            const T* row = static_cast<const T*>(s.data) + static_cast<std::size_t>(y) * s.width + x0;
            std::copy_n(row, width, dst);
        }
    convert(block.data(), block.size(), mapping, out);
}

}  // namespace

Unit8 to_8bit_block(const std::vector<SliceView>& slices, int x0, int y0, int width, int height,
                    const IntensityMapping& mapping) {
    if (slices.empty() || width < 1 || height < 1 || x0 < 0 || y0 < 0) {
        throw InputError("3-D block: empty or negative extent");
    }
    const SliceView& first = slices.front();
    for (const SliceView& s : slices)
        if (s.width != first.width || s.height != first.height || s.type != first.type)
            throw InputError("3-D block: slices differ in size or voxel type");
    if (x0 + width > first.width || y0 + height > first.height) {
        throw InputError("3-D block " + std::to_string(width) + "x" + std::to_string(height) + " at (" +
                         std::to_string(x0) + ", " + std::to_string(y0) + ") lies outside the " +
                         std::to_string(first.width) + "x" + std::to_string(first.height) + " slices");
    }
    if (mapping.kind == IntensityMapping::Kind::None && first.type != VoxelType::UInt8) {
        throw InputError(std::string("--intensity none needs 8-bit input, got ") + voxel_type_name(first.type));
    }
    Unit8 unit(static_cast<int>(slices.size()), height, width);
    std::uint8_t* out = unit.voxels.data();
    if (mapping.kind == IntensityMapping::Kind::None) {
        std::size_t at = 0;  // None: the 8-bit voxels as they are
        for (const SliceView& s : slices)
            for (int y = y0; y < y0 + height; ++y, at += static_cast<std::size_t>(width))
                std::copy_n(static_cast<const std::uint8_t*>(s.data) + static_cast<std::size_t>(y) * s.width + x0,
                            width, out + at);
        return unit;
    }
    switch (first.type) {
    case VoxelType::UInt8:
        convert_block<std::uint8_t>(slices, x0, y0, width, height, mapping, out);
        break;
    case VoxelType::Int16:
        convert_block<std::int16_t>(slices, x0, y0, width, height, mapping, out);
        break;
    case VoxelType::UInt16:
        convert_block<std::uint16_t>(slices, x0, y0, width, height, mapping, out);
        break;
    case VoxelType::Int32:
        convert_block<std::int32_t>(slices, x0, y0, width, height, mapping, out);
        break;
    case VoxelType::Float32:
        convert_block<float>(slices, x0, y0, width, height, mapping, out);
        break;
    case VoxelType::Float64:
        convert_block<double>(slices, x0, y0, width, height, mapping, out);
        break;
    }
    return unit;
}

}  // namespace lessmore
