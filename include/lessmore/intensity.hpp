#pragma once
// How a slice becomes the 8-bit image the metrics see.
#include <lessmore/image.hpp>
#include <lessmore/volume.hpp>

#include <string>

namespace lessmore {

struct IntensityMapping {
    enum class Kind { MinMax, Window, None };
    Kind kind = Kind::MinMax;
    double center = 0.0;  // Window only
    double width = 0.0;   // Window only

    // Parses "minmax", "window:C,W" or "none"; throws UsageError naming the text.
    static IntensityMapping parse(const std::string& text);
    std::string to_string() const;
};

// Maps one slice to 8 bits.
// MinMax: v = (x - min) / (max - min) * 255 in double, rounded half to even
//         (the authors' OpenCV conversion); a constant slice gives all zeros;
//         non-finite voxels are ignored for min/max and map to 0.
// Window: v = (clip(x, C - W/2, C + W/2) - (C - W/2)) / W * 255, same rounding.
// None:   8-bit input copied as is; anything else throws UsageError.
Image8 to_8bit(const SliceView& slice, const IntensityMapping& mapping);
void to_8bit(const SliceView& slice, const IntensityMapping& mapping, Image8& out);

}  // namespace lessmore
