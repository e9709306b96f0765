#pragma once
// `lessmore sweep`: how many slices each threshold keeps, from one pass of features and
// scores per volume.
#include <lessmore/intensity.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/sources.hpp>

#include <map>
#include <string>
#include <vector>

namespace lessmore {

struct SweepConfig {
    std::vector<std::string> inputs;
    std::string method = "hash";
    MetricOptions metric;
    std::vector<double> thresholds;  // empty: the method's default range
    Strategy strategy = Strategy::Leader;
    std::optional<std::size_t> neighbours;
    SliceOrder order = SliceOrder::Position;
    IntensityMapping intensity;
    int threads = 0;
};

struct SweepRow {
    double threshold = 0;
    std::size_t slices = 0;
    std::size_t kept = 0;
    std::map<std::string, std::size_t> volumes;  // id -> kept
};

struct SweepResult {
    std::string method;
    std::string strategy;
    std::vector<SweepRow> rows;                  // one per threshold, in the order given
    std::map<std::string, std::size_t> slices;   // id -> slices
    std::vector<InputFailure> errors;
};

// "1,2,3" or "A:B:STEP" (B included); throws UsageError naming --thresholds.
std::vector<double> parse_thresholds(const std::string& text);
// The thresholds swept when none are given: every Hamming distance for hash, a range for
// the similarities, 1..20 for everyn (read as N).
std::vector<double> default_thresholds(const std::string& method, int hash_size);

// Kept counts per threshold; each volume's features and scores are computed once and
// shared by all thresholds. Equal to separate `reduce` runs (tested).
SweepResult sweep(const SweepConfig& config, ProgressSink& progress, const CancelToken& cancel);

std::string sweep_json(const SweepResult& result);
std::string sweep_csv(const SweepResult& result);
// Kept fraction against threshold, one line per volume plus the total (OpenCV drawing).
std::string sweep_plot_png(const SweepResult& result);

}  // namespace lessmore
