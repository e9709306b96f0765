#pragma once
// reduce's per-volume decisions on a volume already in memory (the Python package's
// reduce_array and feature functions, docs/python.md): the same metric, intensity mapping,
// strategy and pruning as `lessmore reduce`, with nothing read or written; with --unit
// slab|patch the same 3-D units (docs/methods.md, section "3-D units").
#include <lessmore/cancel.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/unit.hpp>
#include <lessmore/volume.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

struct SliceDecision {
    bool kept = true;
    std::optional<std::size_t> match;        // the kept slice a removed slice stands for
    std::optional<double> score;             // the score of that match
    std::optional<std::string> description;  // the metric's per-slice text (HASH: the hex digest)
};

// One unit of a --unit slab|patch reduction: a unit row of the manifest (docs/output.md,
// section "Unit rows") without what a run over files adds (files, volume fields).
struct UnitDecision {
    std::size_t index = 0;               // in grid order (z-major, then y, then x)
    std::array<int, 3> origin{0, 0, 0};  // first voxel (z, y, x)
    std::array<int, 3> size{0, 0, 0};    // voxels (z, y, x)
    bool kept = true;
    std::optional<std::size_t> match;  // the kept unit a removed unit stands for
    std::optional<double> score;
};

struct VolumeDecisions {
    std::vector<SliceDecision> slices;  // empty with --unit slab|patch
    std::size_t kept = 0;               // slices, or units with --unit slab|patch
    std::size_t pairs = 0;              // slice (or unit) pairs compared
    // --unit slab|patch: the unit resolved for the volume (UnitSpec::to_string(), as the
    // manifest's volume `unit`), its units and the partial ones dropped at its edges.
    std::string unit;
    std::vector<UnitDecision> units;
    std::vector<UnitBox> dropped_units;
    // --unit slab|patch: why the volume holds no whole unit (what `reduce` lists in
    // `skipped`); then there are no units and nothing was compared.
    std::optional<std::string> skipped;
};

// What `reduce` decides for `volume` under `config` (its inputs, output, output format and
// scope are not used: one volume, nothing written). Throws UsageError naming the option at
// fault (validate(ReduceConfig)), InputError when the volume cannot be reduced. A volume
// with no whole unit is not an error (VolumeDecisions::skipped), as for `reduce`.
VolumeDecisions reduce_volume(const ReduceConfig& config, const Volume& volume, ProgressSink& progress,
                              const CancelToken& cancel);

// Each slice's feature as the manifest records it (HASH: the dhash's hex digest), mapped to
// 8 bits by config.intensity and prepared by config.metric (every method but everyn); slices
// only (UsageError naming --unit otherwise).
std::vector<std::string> describe_slices(const ReduceConfig& config, const Volume& volume, const CancelToken& cancel);

}  // namespace lessmore
