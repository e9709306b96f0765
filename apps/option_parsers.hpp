#pragma once
// Option text to typed values: the only place lessmore parses what users type. Each
// parser throws UsageError naming its option and the text at fault.
#include <lessmore/intensity.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lessmore::cli {

// --shard "I/N" -> (I, N) with 1 <= I <= N <= 100000.
std::pair<int, int> parse_shard(const std::string& text);

// --max-memory "500M", "8G", "1.5GiB", "1024" (bytes) -> bytes.
std::uint64_t parse_memory(const std::string& text);

// --range "A:B" (either side may be empty: ":B", "A:") -> slice indices.
std::pair<std::optional<std::size_t>, std::optional<std::size_t>> parse_range(const std::string& text);

// --thresholds "1,2,3" or "A:B:STEP" (B included).
std::vector<double> parse_thresholds(const std::string& text);

// --intensity "minmax", "window:C,W" (W > 0) or "none".
IntensityMapping parse_intensity(const std::string& text);

}  // namespace lessmore::cli
