// reduce's decisions on one volume in memory (include/lessmore/reduce_volume.hpp): the
// VolumeReducer reduce uses, with --format none, so the two cannot differ (with --unit
// slab|patch it hands the volume to the UnitReducer, as for a volume read from a file).
#include <lessmore/reduce_volume.hpp>

#include <lessmore/error.hpp>
#include <lessmore/thread_pool.hpp>

#include "pipeline/features.hpp"
#include "pipeline/metric_loader.hpp"
#include "pipeline/unit_reducer.hpp"
#include "pipeline/volume_reducer.hpp"

namespace lessmore {
namespace {

// The config as validate() checks it for one in-memory volume: what only a run over files
// uses (inputs, OUT, output format, the cross-volume pass) is set to what passes.
ReduceConfig in_memory(const ReduceConfig& config, const Volume& volume) {
    ReduceConfig c = config;
    c.inputs = {volume.info().id};
    c.output = "<memory>";
    c.format = OutputFormat::None;
    c.flat = false;
    c.force = false;
    c.resume = false;
    c.shard.reset();
    c.scope = Scope::Volume;
    c.scope_threshold.reset();
    c.patient_depth = 1;
    if (c.intensity.kind == IntensityMapping::Kind::None && volume.info().type != VoxelType::UInt8) {
        // The message reduce gives for the same volume in a file (src/pipeline/reduce.cpp, check_8bit).
        throw UsageError(std::string("--intensity none: needs 8-bit input, but ") + volume.info().id + " is " +
                         voxel_type_name(volume.info().type) + " (use minmax or window:C,W)");
    }
    return c;
}

}  // namespace

VolumeDecisions reduce_volume(const ReduceConfig& config, const Volume& volume, ProgressSink& progress,
                              const CancelToken& cancel) {
    const ReduceConfig c = in_memory(config, volume);
    const std::unique_ptr<Metric> metric = validate(c);
    ThreadPool pool(c.threads);
    const VolumeReducer reducer(c, metric.get(), {});
    VolumeDecisions out;
    VolumeRecord record;
    try {
        record = reducer.run(volume, pool, progress, cancel);
    } catch (const VolumeSkipped& e) {  // no whole unit: `reduce` lists it in `skipped` and goes on
        out.unit = c.unit.to_string();
        out.skipped = e.what();
        return out;
    }
    out.kept = record.kept;
    out.pairs = record.pairs_computed;
    out.slices.reserve(record.slices.size());
    for (const SliceRecord& s : record.slices) out.slices.push_back({s.kept, s.match, s.score, s.description});
    out.unit = record.unit;
    out.units.reserve(record.units.size());
    for (const UnitRecord& u : record.units) out.units.push_back({u.index, u.origin, u.size, u.kept, u.match, u.score});
    out.dropped_units = record.dropped_units;
    return out;
}

std::vector<std::string> describe_slices(const ReduceConfig& config, const Volume& volume, const CancelToken& cancel) {
    const ReduceConfig c = in_memory(config, volume);
    if (c.unit.kind != UnitSpec::Kind::Slice)
        throw UsageError("--unit " + c.unit.to_string() +
                         ": features are per slice (reduce_array gives units' decisions)");
    if (c.metric.method == "everyn") throw UsageError("--method everyn: has no per-slice feature");
    const std::unique_ptr<Metric> metric = load_metric(c.metric);
    if (c.threads < 0) throw UsageError("--threads: must be 0 (all cores) or more");
    ThreadPool pool(c.threads);
    NullProgress quiet;
    const auto features = prepare_features(volume, 0, volume.slice_count(), *metric, c.intensity, pool, quiet, cancel);
    std::vector<std::string> out;
    out.reserve(features.size());
    for (const auto& f : features) out.push_back(metric->describe(*f).value_or(""));
    return out;
}

}  // namespace lessmore
