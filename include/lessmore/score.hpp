#pragma once
// `lessmore score`: the full pairwise score matrix of one volume.
#include <lessmore/cancel.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/unit.hpp>
#include <lessmore/volume.hpp>

#include <optional>
#include <string>

namespace lessmore {

struct ScoreConfig {
    std::string input;
    std::string volume;  // id to pick when the input holds several volumes
    std::string output;  // .npy or .csv
    MetricOptions metric;
    IntensityMapping intensity;
    SliceOrder order = SliceOrder::Position;
    bool include_localizers = false;
    std::optional<std::size_t> first;  // slices [first, last) in slice order; unset: 0
    std::optional<std::size_t> last;   // unset: the slice count
    UnitSpec unit;                     // slab or patch: the matrix is over the volume's units
    int threads = 0;
    bool force = false;
};

struct ScoreResult {
    VolumeInfo info;        // the volume (no voxels)
    std::size_t first = 0;  // first slice of the matrix
    bool units = false;     // rows are units (--unit slab|patch), numbered 0.. in grid order
    ScoreMatrix matrix;     // float64, symmetric, diagonal = self-similarity
    double seconds = 0.0;
};

// Reads the volume, scores every pair and writes the matrix to config.output (atomically).
// Throws UsageError (bad options, several volumes without --volume, range outside the
// volume, existing output without --force) before writing, InputError when the volume
// cannot be read.
ScoreResult score(const ScoreConfig& config, ProgressSink& progress, const CancelToken& cancel);

// The matrix as CSV: a header "slice,<i>,..." (a unit matrix: "unit,<i>,...") then one row
// per slice (unit), first column its index.
std::string score_csv(const ScoreResult& result);

}  // namespace lessmore
