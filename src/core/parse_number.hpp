#pragma once
// Numbers in option values (--thresholds, --intensity, --max-memory), read as std::stod
// reads them.
#include <cmath>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace lessmore {

// The number at the start of `text` and how many characters it took (0: none).
inline std::pair<double, std::size_t> parse_leading_number(const std::string& text) {
    std::size_t used = 0;
    try {
        const double v = std::stod(text, &used);
        return {v, used};
    } catch (const std::logic_error&) {  // invalid_argument, out_of_range
        return {0.0, 0};
    }
}

// `text` as one finite number and nothing else.
inline std::optional<double> parse_finite_number(const std::string& text) {
    const auto [v, used] = parse_leading_number(text);
    if (used == 0 || used != text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

}  // namespace lessmore
