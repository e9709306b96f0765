#include <lessmore/number_format.hpp>

#include <charconv>

namespace lessmore {

std::string format_number(double v) {
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    return std::string(buf, res.ptr);
}

}  // namespace lessmore
