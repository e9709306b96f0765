// `lessmore info`: the volumes of the inputs, from their headers.
#include <lessmore/info.hpp>
#include <lessmore/thread_pool.hpp>

#include "pipeline/volume_walk.hpp"

#include <algorithm>
#include <mutex>

namespace lessmore {

InfoResult inspect(const InfoConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    const WalkPlan plan = plan_walk({config.inputs, std::nullopt}, progress);
    ThreadPool pool(config.threads);
    LoadOptions load;
    load.order = config.order;
    load.include_localizers = config.include_localizers;
    load.decoder_program = config.decoder_program;
    InfoResult result;
    result.errors = plan.errors;
    result.skipped = plan.skipped;
    std::mutex mutex;
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t, Volume& v) {
        std::lock_guard<std::mutex> lock(mutex);
        result.volumes.push_back(v.info());
    };
    visitor.source_done = [&](std::size_t, SourceOutcome outcome) {
        std::lock_guard<std::mutex> lock(mutex);
        result.errors.insert(result.errors.end(), outcome.failures.begin(), outcome.failures.end());
        result.skipped.insert(result.skipped.end(), outcome.skipped.begin(), outcome.skipped.end());
    };
    VolumeWalk(load, 0, pool, progress, cancel).run(all_sources(plan), visitor, true);
    std::sort(result.volumes.begin(), result.volumes.end(),
              [](const VolumeInfo& a, const VolumeInfo& b) { return a.id < b.id; });
    // Sources finish in any order.
    for (auto* list : {&result.errors, &result.skipped}) {
        std::sort(list->begin(), list->end(), [](const InputFailure& a, const InputFailure& b) {
            return a.path != b.path ? a.path < b.path : a.message < b.message;
        });
    }
    return result;
}

}  // namespace lessmore
