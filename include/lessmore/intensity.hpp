#pragma once
// How a slice becomes the 8-bit image the metrics see (docs/preprocessing.md, sections
// "Authors' per-slice min-max mapping" and "Intensity modes (--intensity)").
#include <lessmore/image.hpp>
#include <lessmore/volume.hpp>

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

}  // namespace lessmore
