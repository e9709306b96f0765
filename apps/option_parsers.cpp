#include "option_parsers.hpp"

#include <lessmore/error.hpp>
#include <lessmore/sweep.hpp>

#include <cctype>
#include <cmath>
#include <sstream>

namespace lessmore::cli {
namespace {

// The number at the start of `text` (as std::stod reads it) and how many characters it
// took (0: none).
std::pair<double, std::size_t> leading_number(const std::string& text) {
    std::size_t used = 0;
    try {
        const double v = std::stod(text, &used);
        return {v, used};
    } catch (const std::logic_error&) {  // invalid_argument, out_of_range
        return {0.0, 0};
    }
}

// `text` as one finite number and nothing else.
std::optional<double> finite_number(const std::string& text) {
    const auto [v, used] = leading_number(text);
    if (used == 0 || used != text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::optional<std::size_t> parse_index(const std::string& text, const std::string& whole) {
    if (text.empty()) return std::nullopt;
    std::size_t used = 0;
    unsigned long long v = 0;
    try {
        v = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text[0] == '-' || text[0] == '+' || std::isspace(static_cast<unsigned char>(text[0]))) {
        throw UsageError("--range: '" + whole + "' is not A:B with slice indices (e.g. 0:100)");
    }
    return static_cast<std::size_t>(v);
}

}  // namespace

std::pair<int, int> parse_shard(const std::string& text) {
    const auto slash = text.find('/');
    try {
        if (slash != std::string::npos) {
            std::size_t a = 0, b = 0;
            const int i = std::stoi(text.substr(0, slash), &a);
            const int n = std::stoi(text.substr(slash + 1), &b);
            if (a == slash && b == text.size() - slash - 1 && i >= 1 && n >= 1 && i <= n && n <= 100000) return {i, n};
        }
    } catch (const std::exception&) {
    }
    throw UsageError("--shard: '" + text + "' is not I/N with 1 <= I <= N (e.g. 3/10)");
}

std::uint64_t parse_memory(const std::string& text) {
    const auto [v, used] = leading_number(text);
    std::string unit = text.substr(used);
    for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!unit.empty() && unit.back() == 'B') unit.pop_back();
    if (unit.size() > 1 && unit.back() == 'I') unit.pop_back();  // "GiB"
    const double scale = unit.empty() ? 1.0 : unit == "K" ? 1024.0 : unit == "M" ? 1048576.0
                         : unit == "G" ? 1073741824.0 : unit == "T" ? 1099511627776.0 : -1.0;
    if (used == 0 || scale < 0 || !(v > 0) || !(v * scale < 1.8e19)) {
        throw UsageError("--max-memory: '" + text + "' is not a size (e.g. 4G, 500M)");
    }
    return static_cast<std::uint64_t>(v * scale);
}

std::pair<std::optional<std::size_t>, std::optional<std::size_t>> parse_range(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) throw UsageError("--range: '" + text + "' is not A:B (e.g. 0:100)");
    return {parse_index(text.substr(0, colon), text), parse_index(text.substr(colon + 1), text)};
}

std::vector<double> parse_thresholds(const std::string& text) {
    auto number = [&](const std::string& part) {
        const auto v = finite_number(part);
        if (!v) throw UsageError("--thresholds: '" + text + "' is not a list (0.9,0.95) or a range A:B:STEP (0:12:1)");
        return *v;
    };
    std::vector<double> out;
    if (text.find(':') != std::string::npos) {
        std::vector<double> parts;
        std::stringstream ss(text);
        for (std::string part; std::getline(ss, part, ':');) parts.push_back(number(part));
        if (parts.size() != 3 || !(parts[2] > 0) || parts[1] < parts[0]) {
            throw UsageError("--thresholds: '" + text + "' is not A:B:STEP with A <= B and STEP > 0");
        }
        if (std::floor((parts[1] - parts[0]) / parts[2] + 1e-9) > 10000) {
            throw UsageError("--thresholds: '" + text + "' gives more than 10000 thresholds");
        }
        out = threshold_range(parts[0], parts[1], parts[2]);
    } else {
        std::stringstream ss(text);
        for (std::string part; std::getline(ss, part, ',');) out.push_back(number(part));
    }
    if (out.empty()) throw UsageError("--thresholds: empty");
    return out;
}

IntensityMapping parse_intensity(const std::string& text) {
    if (const auto m = IntensityMapping::from_string(text)) return *m;
    if (text.rfind("window:", 0) == 0) {
        const std::string rest = text.substr(7);
        const auto comma = rest.find(',');
        const auto width = comma == std::string::npos ? std::nullopt : finite_number(rest.substr(comma + 1));
        if (comma != std::string::npos && finite_number(rest.substr(0, comma)) && width) {
            throw UsageError("--intensity: window width must be positive in '" + text + "'");
        }
        throw UsageError("--intensity: '" + text + "' is not window:CENTER,WIDTH (e.g. window:40,400)");
    }
    throw UsageError("--intensity: unknown mapping '" + text + "' (use minmax, window:C,W or none)");
}

}  // namespace lessmore::cli
