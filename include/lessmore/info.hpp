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
    bool include_localizers = false;  // DICOM scouts (ImageType LOCALIZER); skipped by default
    int threads = 0;
    // The program started as decoder worker (include/lessmore/decoder_pool.hpp): this one,
    // or for a library inside another program (Python), a helper that serves as one.
    std::string decoder_program = "/proc/self/exe";
};

struct InfoResult {
    std::vector<VolumeInfo> volumes;  // sorted by id
    std::vector<InputFailure> errors;
    std::vector<InputFailure> skipped;  // files skipped on purpose, with the reason
};

InfoResult inspect(const InfoConfig& config, ProgressSink& progress, const CancelToken& cancel);

}  // namespace lessmore
