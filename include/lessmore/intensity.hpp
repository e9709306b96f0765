#pragma once
// How a slice becomes the 8-bit image the metrics see (docs/preprocessing.md, sections
// "Authors' per-slice min-max mapping" and "Intensity modes (--intensity)").
#include <lessmore/image.hpp>
#include <lessmore/volume.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

struct IntensityMapping {
    enum class Kind { MinMax, Window, None };
    Kind kind = Kind::MinMax;
    double center = 0.0;  // Window only
    double width = 0.0;   // Window only

    // The text form "minmax", "window:C,W" or "none" (numbers in their shortest exact
    // form), and back; from_string gives nothing for text that is not such a form.
    std::string to_string() const;
    static std::optional<IntensityMapping> from_string(const std::string& text);
};

// Maps one slice to 8 bits.
// MinMax: v = (x - min) / (max - min) * 255 in double, rounded half to even
//         (the authors' OpenCV conversion); a constant slice gives all zeros;
//         non-finite voxels are ignored for min/max and map to 0.
// Window: v = (clip(x, C - W/2, C + W/2) - (C - W/2)) / W * 255, same rounding.
// None:   8-bit input copied as is; anything else throws InputError.
Image8 to_8bit(const SliceView& slice, const IntensityMapping& mapping);
void to_8bit(const SliceView& slice, const IntensityMapping& mapping, Image8& out);

// Maps a 3-D block to 8 bits with ONE mapping over the whole block (docs/methods.md,
// section "3-D units"): the block is the rectangle of `width` x `height` voxels at
// column x0, row y0 of every slice in `slices` (in order; all the same size and type).
// MinMax takes one min and max over every finite voxel of the block, so it is the
// per-slice rule applied to the block as if it were one image; Window and None are the
// same per voxel as for a slice. Throws InputError for a rectangle outside the slices.
Unit8 to_8bit_block(const std::vector<SliceView>& slices, int x0, int y0, int width, int height,
                    const IntensityMapping& mapping);

// What the written slices hold, apart from the image the decision uses (docs/output.md,
// section "Slice values (--export-values)"):
// Intensity: the PNG is the decision's 8-bit image (--intensity), the NPY the values as read;
// MinMax:    the PNG per-slice min-max (the paper's image), the NPY the values as read;
// Window:    the PNG the window in 8 bits, the NPY the window in [0, 1] as float32;
// Hu:        the PNG the values minus the volume's offset in 16 bits, the NPY the values as read.
struct ExportValues {
    enum class Kind { Intensity, MinMax, Window, Hu };
    Kind kind = Kind::Intensity;
    double center = 0.0;  // Window only
    double width = 0.0;   // Window only

    // "intensity", "minmax", "window:C,W" (numbers in their shortest exact form) or "hu",
    // and back; from_string gives nothing for other text.
    std::string to_string() const;
    static std::optional<ExportValues> from_string(const std::string& text);
    // Window as the 8-bit mapping of the same window.
    IntensityMapping window_mapping() const;
};

// The offset of a volume's 16-bit PNGs (value = pixel + offset): the smallest value its
// header allows (VolumeInfo::value_bounds), shared by every slice. Throws InputError with
// the reason for a float volume or a range wider than 16 bits.
std::int64_t png16_offset(const VolumeInfo& info);

// value - offset as 16 bits, row-major. Integer slices only; throws InputError naming the
// value when one lies outside [offset, offset + 65535] (the header's range was wrong).
void to_16bit(const SliceView& slice, std::int64_t offset, std::vector<std::uint16_t>& out);

// The window in [0, 1]: (clip(x, C - W/2, C + W/2) - (C - W/2)) / W computed in double,
// then rounded to the nearest float32 (ties to even); non-finite values give 0, as in the
// 8-bit mapping.
void to_unit_window(const SliceView& slice, double center, double width, std::vector<float>& out);

}  // namespace lessmore
