#pragma once
// `lessmore info`: the volumes the inputs hold, from their headers.
#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/load.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/volume.hpp>

#include <string>
#include <vector>

namespace lessmore {

struct InfoConfig {
    std::vector<std::string> inputs;
    SliceOrder order = SliceOrder::Position;
    int threads = 0;
};

struct InfoResult {
    std::vector<VolumeInfo> volumes;  // sorted by id
    std::vector<InputFailure> errors;
};

InfoResult inspect(const InfoConfig& config, ProgressSink& progress, const CancelToken& cancel);

}  // namespace lessmore
