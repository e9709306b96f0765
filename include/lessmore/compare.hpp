#pragma once
// `lessmore compare RUN_A RUN_B`: the kept-slice decisions of two finished runs side by
// side — per volume and in total, slices kept by both, by one only, and their overlap
// (the paper's "percentage of equal slices") — for regression checks in CI. Decisions
// only: timings, paths and thread counts never make two runs differ.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

struct CompareConfig {
    std::string a;  // OUT folders of two finished runs
    std::string b;
    std::optional<double> max_changed;  // tolerated fraction of changed slices (default 0)
};

struct VolumeComparison {
    std::string id;
    std::size_t slices = 0;  // the larger of the two runs' slice counts
    std::size_t kept_a = 0;
    std::size_t kept_b = 0;
    std::size_t both = 0;
    std::size_t only_a = 0;
    std::size_t only_b = 0;
    double overlap = 1.0;  // both / max(kept_a, kept_b); 1 when neither keeps any
};

struct CompareResult {
    std::vector<VolumeComparison> volumes;  // volumes of both runs, by id
    std::vector<std::string> only_in_a;     // volume ids
    std::vector<std::string> only_in_b;
    VolumeComparison total;         // id "total"; slices over the union of volumes
    std::size_t changed = 0;        // slices decided differently, plus the slices of volumes in one run only
    double changed_fraction = 0.0;  // changed / total.slices
    bool identical = true;
    bool within_tolerance = true;  // changed_fraction <= max_changed (identical without one)
    // Both runs' --unit ("slice", or e.g. "slab:4:4": then every count above is of units
    // and a volume whose units differ between the runs counts as changed whole).
    std::string unit = "slice";
};

// Reads both runs' manifest.json (streamed, keeping only ids and decisions). Throws
// UsageError naming the folder when it holds no finished lessmore run, or when the two
// were made with different --unit (a slice run and a unit run included).
CompareResult compare_runs(const CompareConfig& config);

// The comparison as `lessmore compare --json` prints it (and lessmore.compare returns it).
std::string compare_json(const CompareResult& result, const CompareConfig& config);

}  // namespace lessmore
