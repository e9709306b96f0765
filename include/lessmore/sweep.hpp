#pragma once
// `lessmore sweep`: how many slices each threshold keeps, from one pass of features and
// scores per volume.
#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/unit.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lessmore {

struct SweepConfig {
    std::vector<std::string> inputs;
    MetricOptions metric;            // metric.method: "everyn" or a metric make_metric() knows
    std::vector<double> thresholds;  // empty: the method's default range
    Strategy strategy = Strategy::Leader;
    std::optional<std::size_t> neighbours;
    SliceOrder order = SliceOrder::Position;
    bool include_localizers = false;
    IntensityMapping intensity;
    // --unit slab|patch: count kept units instead of slices (docs/usage.md, section "sweep").
    UnitSpec unit;
    std::uint64_t max_memory = 0;  // as reduce --max-memory
    int threads = 0;
    // The program started as decoder worker (include/lessmore/decoder_pool.hpp): this one,
    // or for a library inside another program (Python), a helper that serves as one.
    std::string decoder_program = "/proc/self/exe";
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
    std::vector<SweepRow> rows;                 // one per threshold, in the order given
    std::map<std::string, std::size_t> slices;  // id -> slices (units with --unit)
    std::vector<InputFailure> errors;
    std::string unit = "slice";         // --unit as UnitSpec::to_string() gives it
    std::vector<InputFailure> skipped;  // --unit: volumes smaller than one unit, left out
};

// first, first + step, ... up to last (included), each rounded to 1e-9 so that
// 0.9 + 3 * 0.01 is 0.93; at most 10000 values.
std::vector<double> threshold_range(double first, double last, double step);
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
