#pragma once
// IEEE 754 binary16 ("half", numpy's float16) to binary32, exactly: every half value is a
// float value, so the conversion has no rounding. Written here rather than taken from
// OpenCV's convertTo (the only packaged converter lessmore links) because reading a
// float16 `--features` file must not load OpenCV into the lessmore program, whose start-up
// leaves it out (docs/performance.md, "Start-up"); GCC's _Float16 is not available under
// clang 14, which builds the fuzz targets. Tested against OpenCV on all 65,536 patterns
// (tests/kernels/test_half_float.cpp).
#include <cstdint>

namespace lessmore {

float half_to_float(std::uint16_t bits);

}  // namespace lessmore
