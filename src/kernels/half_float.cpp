#include <lessmore/half_float.hpp>

#include <cstring>

namespace lessmore {

float half_to_float(std::uint16_t bits) {
    const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
    const std::uint32_t exponent = (bits >> 10) & 0x1fu;
    std::uint32_t mantissa = bits & 0x3ffu;
    std::uint32_t out = 0;
    if (exponent == 0x1f) {  // inf / NaN: all-ones exponent, the payload kept
        out = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {  // normal: rebias 15 -> 127
        out = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {  // signed zero
        out = sign;
    } else {                    // subnormal: normalise (value = mantissa * 2^-24)
        std::uint32_t e = 113;  // exponent of 2^-14, the first normal binade, in binary32
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --e;
        }
        out = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
    }
    float f = 0;
    std::memcpy(&f, &out, sizeof f);
    return f;
}

}  // namespace lessmore
