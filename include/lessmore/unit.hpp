#pragma once
// Training units: slices, slabs of consecutive slices and patches on a regular voxel
// grid, as pure geometry (docs/methods.md, section "3-D units"). Nothing here reads or
// resamples voxels; a unit is always a sub-block of the source's voxel grid, in the
// source's axis order (z = slice index, y = row, x = column).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

struct UnitSpec {
    enum class Kind { Slice, Slab, Patch };
    Kind kind = Kind::Slice;
    // Voxels per unit and the step between unit origins, (z, y, x). A slab's in-plane
    // size is 0 ("the whole slice") until resolve_unit_spec fills it from the volume.
    std::array<int, 3> size{1, 0, 0};
    std::array<int, 3> stride{1, 0, 0};
    // slab:Nmm[:Smm]: the slab's thickness (and step) in millimetres, turned into slices
    // by resolve_unit_spec; empty for sizes given in slices.
    std::optional<double> size_mm;
    std::optional<double> stride_mm;

    // The canonical text: "slice", "slab:K:S", "slab:Nmm:Smm", "patch:Z,Y,X:SZ,SY,SX".
    std::string to_string() const;
};

// Parses the text of `--unit`: "slice", "slab:K[:S]" (S defaults to K), "slab:Nmm[:S]"
// ("S" in slices or as "Smm"; defaults to the slab's own thickness), or
// "patch:Z,Y,X[:SZ,SY,SX]" (the stride defaults to the size). Sizes and strides are
// positive whole numbers (up to 65536) or positive millimetres; anything else, a stride of
// 0 included, throws UsageError naming --unit and the text.
UnitSpec parse_unit_spec(const std::string& text);

// Slices for `mm` millimetres at `spacing` mm between slices: the nearest whole number of
// slices, halves rounded up, at least 1 (10 mm at 0.67 mm -> 15 slices, at 0.625 -> 16).
// Throws InputError when the spacing is not a positive finite number.
int slices_for_mm(double mm, double spacing);

// The spec made concrete for one volume of `shape` (z, y, x) voxels with `slice_spacing`
// mm between slices: millimetres become slices (slices_for_mm), a slice or slab gets the
// volume's in-plane size. The result's size_mm/stride_mm are kept for the record.
UnitSpec resolve_unit_spec(const UnitSpec& spec, const std::array<int, 3>& shape, double slice_spacing);

// A unit: its first voxel and its size, (z, y, x).
struct UnitBox {
    std::array<int, 3> origin{0, 0, 0};
    std::array<int, 3> size{0, 0, 0};
    std::int64_t voxels() const { return std::int64_t{size[0]} * size[1] * size[2]; }
    bool operator==(const UnitBox& o) const { return origin == o.origin && size == o.size; }
};

struct UnitGrid {
    std::vector<UnitBox> units;    // full units, z-major (then y, then x) origin order
    std::vector<UnitBox> dropped;  // partial ones, clipped to the volume, same order
};

// Unit origins are 0, S, 2S, ... below the volume's extent on each axis; a unit is kept
// when it lies entirely inside the volume and dropped (never padded or shortened)
// otherwise. `spec` must be resolved. A volume smaller than the unit gives no units and
// its partial one(s) in `dropped`.
UnitGrid enumerate_units(const UnitSpec& spec, const std::array<int, 3>& shape);

// How many units enumerate_units would list (full, dropped), without listing them, so a
// caller can refuse a grid too large to hold.
std::array<std::int64_t, 2> count_units(const UnitSpec& spec, const std::array<int, 3>& shape);

}  // namespace lessmore
