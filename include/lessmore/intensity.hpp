#pragma once
// How a slice becomes the 8-bit image the metrics see (docs/preprocessing.md, sections
// "Authors' per-slice min-max mapping" and "Intensity modes (--intensity)").
#include <lessmore/image.hpp>
#include <lessmore/volume.hpp>

#include <optional>
#include <string>

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

}  // namespace lessmore
