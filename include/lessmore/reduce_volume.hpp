#pragma once
// reduce's per-volume decisions on a volume already in memory (the Python package's
// reduce_array and feature functions, docs/python.md): the same metric, intensity mapping,
// strategy and pruning as `lessmore reduce`, with nothing read or written.
#include <lessmore/cancel.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/volume.hpp>

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

struct VolumeDecisions {
    std::vector<SliceDecision> slices;
    std::size_t kept = 0;
    std::size_t pairs = 0;  // slice pairs compared
};

// What `reduce` decides for `volume` under `config` (its inputs, output, output format and
// scope are not used: one volume, nothing written). Throws UsageError naming the option at
// fault (validate(ReduceConfig)), InputError when the volume cannot be reduced.
VolumeDecisions reduce_volume(const ReduceConfig& config, const Volume& volume, ProgressSink& progress,
                              const CancelToken& cancel);

// Each slice's feature as the manifest records it (HASH: the dhash's hex digest), mapped to
// 8 bits by config.intensity and prepared by config.metric (every method but everyn).
std::vector<std::string> describe_slices(const ReduceConfig& config, const Volume& volume, const CancelToken& cancel);

}  // namespace lessmore
