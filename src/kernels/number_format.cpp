#include <lessmore/number_format.hpp>

#include <charconv>
#include <cmath>

namespace lessmore {
namespace {

double parsed(const char* first, const char* last, double fallback) {
    double out = fallback;
    const auto res = std::from_chars(first, last, out);
    return res.ec == std::errc() ? out : fallback;
}

}  // namespace

std::string format_number(double v) {
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    return std::string(buf, res.ptr);
}

// -0 becomes 0 (a flipped axis must not print as "-0.0").
double float32_decimal(double v) {
    if (!std::isfinite(v)) return v;
    if (v == 0.0) return 0.0;
    const float f = static_cast<float>(v);
    if (!std::isfinite(f)) return v;  // beyond float32's range: not a float32 field's value
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, f);  // shortest text that reads back as f
    return parsed(buf, res.ptr, v);
}

double decimal15(double v) {
    if (!std::isfinite(v)) return v;
    if (v == 0.0) return 0.0;
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 15);
    return parsed(buf, res.ptr, v);
}

}  // namespace lessmore
