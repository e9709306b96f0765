#include "io/volume_id.hpp"

#include <lessmore/sha256.hpp>

#include <cstdint>

namespace lessmore {
namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8.
std::size_t utf8_length(const std::string& s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
    if (n == 2 && c < 0xC2) return 0;  // overlong
    return n;
}

std::string percent(unsigned char c) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    return {'%', k_hex[c >> 4], k_hex[c & 15]};
}

bool plain(const std::string& s) {
    if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

std::string id_component(const std::string& name) {
    if (name.empty()) return "%00";
    if (name == "." || name == "..") return std::string(name.size(), '.').replace(0, 1, "%2E");
    std::string out;
    for (std::size_t i = 0; i < name.size();) {
        const auto c = static_cast<unsigned char>(name[i]);
        const std::size_t n = utf8_length(name, i);
        if (n == 0 || c < 0x20 || c == 0x7F || c == '%' || c == '#' || c == '+' || c == '/' || c == '\\') {
            out += percent(c);
            ++i;
            continue;
        }
        out.append(name, i, n);
        i += n;
    }
    return out;
}

std::string series_label(const std::string& number, bool number_unique, const std::string& uid) {
    if (number_unique && plain(number)) return number;
    if (plain(uid)) return uid;
    return "series-" + sha256_hex(uid.data(), uid.size()).substr(0, 12);
}

}  // namespace lessmore
