// Unit geometry: --unit text to UnitSpec, millimetres to slices, and the grid of units
// over a volume (docs/methods.md, section "3-D units").
#include <lessmore/error.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/unit.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

namespace lessmore {
namespace {

constexpr int k_max_extent = 65536;    // larger than any CT axis; keeps products in int64
constexpr double k_max_mm = 100000.0;  // 100 m

const char* const k_forms = "slice, slab:K[:S], slab:Nmm[:S] or patch:Z,Y,X[:SZ,SY,SX]";

[[noreturn]] void refuse(const std::string& text, const std::string& why) {
    throw UsageError("--unit: " + why + " (got \"" + text + "\"; expected " + k_forms + ")");
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const auto at = text.find(sep, start);
        parts.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
        if (at == std::string::npos) return parts;
        start = at + 1;
    }
}

bool all_digits(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// A whole number of voxels or slices: digits only (no sign, no spaces), 1 .. 65536.
int count_value(const std::string& text, const std::string& part, const char* what) {
    if (!all_digits(part)) refuse(text, std::string(what) + " \"" + part + "\" is not a whole number");
    if (part.size() > 6 || std::stoi(part) > k_max_extent)
        refuse(text, std::string(what) + " " + part + " is larger than " + std::to_string(k_max_extent));
    const int v = std::stoi(part);
    if (v == 0) refuse(text, std::string(what) + " must be at least 1");
    return v;
}

// Millimetres: "<digits>[.<digits>]mm", positive, at most 100 m.
double mm_value(const std::string& text, const std::string& part, const char* what) {
    const std::string number = part.substr(0, part.size() - 2);
    const auto dot = number.find('.');
    const bool ok = dot == std::string::npos ? all_digits(number)
                                             : all_digits(number.substr(0, dot)) && all_digits(number.substr(dot + 1));
    if (!ok) refuse(text, std::string(what) + " \"" + part + "\" is not a number of millimetres");
    const double v = std::strtod(number.c_str(), nullptr);
    if (!(v > 0.0)) refuse(text, std::string(what) + " must be more than 0 mm");
    if (v > k_max_mm) refuse(text, std::string(what) + " " + part + " is larger than 100000mm");
    return v;
}

bool is_mm(const std::string& part) { return part.size() > 2 && part.compare(part.size() - 2, 2, "mm") == 0; }

std::array<int, 3> triple(const std::string& text, const std::string& part, const char* what) {
    const auto items = split(part, ',');
    if (items.size() != 3) refuse(text, std::string(what) + " needs three numbers Z,Y,X");
    return {count_value(text, items[0], what), count_value(text, items[1], what), count_value(text, items[2], what)};
}

UnitSpec parse_slab(const std::string& text, const std::vector<std::string>& parts) {
    UnitSpec spec;
    spec.kind = UnitSpec::Kind::Slab;
    if (is_mm(parts[0])) {
        spec.size_mm = mm_value(text, parts[0], "slab thickness");
    } else {
        spec.size[0] = count_value(text, parts[0], "slab size");
    }
    spec.stride[0] = spec.size[0];
    if (parts.size() == 2) {
        if (is_mm(parts[1])) {
            spec.stride_mm = mm_value(text, parts[1], "stride");
        } else {
            spec.stride[0] = count_value(text, parts[1], "stride");
        }
    } else if (spec.size_mm) {
        spec.stride_mm = spec.size_mm;  // default: the slab's own thickness
    }
    return spec;
}

// Origins m * stride below extent: how many there are, and how many of them start a unit
// that fits (origin + size <= extent).
std::array<std::int64_t, 2> axis_counts(int extent, int size, int stride) {
    if (extent <= 0) return {0, 0};
    const std::int64_t origins = (std::int64_t{extent} - 1) / stride + 1;
    const std::int64_t full = extent < size ? 0 : (std::int64_t{extent} - size) / stride + 1;
    return {origins, full};
}

void check_resolved(const UnitSpec& spec) {
    for (int a = 0; a < 3; ++a)
        if (spec.size[a] < 1 || spec.stride[a] < 1)
            throw Error("unit " + spec.to_string() + " is not resolved for a volume (internal error)");
}

}  // namespace

std::string UnitSpec::to_string() const {
    switch (kind) {
    case Kind::Slice:
        return "slice";
    case Kind::Slab: {
        const std::string k = size_mm ? format_number(*size_mm) + "mm" : std::to_string(size[0]);
        const std::string s = stride_mm ? format_number(*stride_mm) + "mm" : std::to_string(stride[0]);
        return "slab:" + k + ":" + s;
    }
    case Kind::Patch:
        return "patch:" + std::to_string(size[0]) + "," + std::to_string(size[1]) + "," + std::to_string(size[2]) +
               ":" + std::to_string(stride[0]) + "," + std::to_string(stride[1]) + "," + std::to_string(stride[2]);
    }
    return "?";
}

UnitSpec parse_unit_spec(const std::string& text) {
    if (text == "slice") return UnitSpec{};
    const auto colon = text.find(':');
    const std::string kind = text.substr(0, colon);
    if (colon == std::string::npos || (kind != "slab" && kind != "patch")) refuse(text, "unknown unit");
    const auto parts = split(text.substr(colon + 1), ':');
    if (parts.size() > 2) refuse(text, "too many ':'");
    if (kind == "slab") return parse_slab(text, parts);
    UnitSpec spec;
    spec.kind = UnitSpec::Kind::Patch;
    spec.size = triple(text, parts[0], "patch size");
    spec.stride = parts.size() == 2 ? triple(text, parts[1], "stride") : spec.size;
    return spec;
}

int slices_for_mm(double mm, double spacing) {
    if (!std::isfinite(spacing) || !(spacing > 0.0)) {
        throw InputError("slice spacing " + format_number(spacing) + " mm: a unit in mm needs a positive spacing");
    }
    // floor(x + 0.5): halves go up; the bound keeps the int conversion defined.
    const double k = std::floor(mm / spacing + 0.5);
    if (k > k_max_extent) return k_max_extent + 1;  // larger than any volume: no full unit
    return k < 1.0 ? 1 : static_cast<int>(k);
}

UnitSpec resolve_unit_spec(const UnitSpec& spec, const std::array<int, 3>& shape, double slice_spacing) {
    UnitSpec r = spec;
    if (spec.kind == UnitSpec::Kind::Patch) return r;
    if (spec.size_mm) r.size[0] = slices_for_mm(*spec.size_mm, slice_spacing);
    if (spec.stride_mm) r.stride[0] = slices_for_mm(*spec.stride_mm, slice_spacing);
    r.size[1] = r.stride[1] = shape[1];
    r.size[2] = r.stride[2] = shape[2];
    return r;
}

std::array<std::int64_t, 2> count_units(const UnitSpec& spec, const std::array<int, 3>& shape) {
    check_resolved(spec);
    std::int64_t origins = 1, full = 1;
    for (int a = 0; a < 3; ++a) {
        const auto c = axis_counts(shape[a], spec.size[a], spec.stride[a]);
        origins *= c[0];
        full *= c[1];
    }
    return {full, origins - full};
}

UnitGrid enumerate_units(const UnitSpec& spec, const std::array<int, 3>& shape) {
    check_resolved(spec);
    UnitGrid grid;
    std::array<std::int64_t, 3> origins{};
    for (int a = 0; a < 3; ++a) origins[a] = axis_counts(shape[a], spec.size[a], spec.stride[a])[0];
    for (std::int64_t i = 0; i < origins[0]; ++i)
        for (std::int64_t j = 0; j < origins[1]; ++j)
            for (std::int64_t k = 0; k < origins[2]; ++k) {
                UnitBox box;
                box.origin = {static_cast<int>(i * spec.stride[0]), static_cast<int>(j * spec.stride[1]),
                              static_cast<int>(k * spec.stride[2])};
                bool full = true;
                for (int a = 0; a < 3; ++a) {
                    const int left = shape[a] - box.origin[a];
                    full = full && left >= spec.size[a];
                    box.size[a] = left < spec.size[a] ? left : spec.size[a];
                }
                (full ? grid.units : grid.dropped).push_back(box);
            }
    return grid;
}

}  // namespace lessmore
