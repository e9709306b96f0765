// `lessmore reduce`: validation, the output folder, and the walk over volumes.
#include <lessmore/error.hpp>
#include <lessmore/manifest.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/thread_pool.hpp>

#include "core/volume_reducer.hpp"
#include "io/files.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

namespace fs = std::filesystem;

namespace lessmore {

const char* strategy_name(Strategy s) {
    switch (s) {
    case Strategy::Auto: return "auto";
    case Strategy::Leader: return "leader";
    case Strategy::Pairs: return "pairs";
    }
    return "?";
}

const char* order_name(SliceOrder o) { return o == SliceOrder::Position ? "position" : "name"; }

const char* format_name(OutputFormat f) {
    switch (f) {
    case OutputFormat::Png: return "png";
    case OutputFormat::Npy: return "npy";
    case OutputFormat::Both: return "both";
    case OutputFormat::None: return "none";
    }
    return "?";
}

Strategy ReduceConfig::resolved_strategy() const {
    if (strategy != Strategy::Auto) return strategy;
    return fraction ? Strategy::Pairs : Strategy::Leader;
}

std::unique_ptr<Metric> validate(const ReduceConfig& c) {
    if (c.inputs.empty()) throw UsageError("INPUT: give at least one volume file or folder");
    if (c.output.empty()) throw UsageError("-o/--output: required");
    if (c.fraction && !(*c.fraction > 0.0 && *c.fraction <= 1.0)) {
        throw UsageError("--fraction: must be greater than 0 and at most 1 (got " + format_number(*c.fraction) + ")");
    }
    if (c.threads < 0) throw UsageError("--threads: must be 0 (all cores) or more");
    if (c.flat && c.format == OutputFormat::None) throw UsageError("--flat: nothing is written with --format none");
    if (c.method == "everyn") {
        if (c.threshold) throw UsageError("--threshold: not used by --method everyn (give --every N or --fraction F)");
        if (c.every && c.fraction) throw UsageError("--every and --fraction: give one, not both");
        if (!c.every && !c.fraction) throw UsageError("--method everyn: give --every N or --fraction F");
        if (c.every && *c.every < 1) throw UsageError("--every: must be at least 1 (got " + std::to_string(*c.every) + ")");
        if (c.strategy != Strategy::Auto) throw UsageError("--strategy: --method everyn has no strategy");
        if (c.neighbours) throw UsageError("--neighbours: --method everyn compares no slices");
        if (c.metric.resize != 0) throw UsageError("--resize: only for ssim and mi");
        return nullptr;
    }
    if (c.every) throw UsageError("--every: only for --method everyn");
    if (c.threshold && c.fraction) throw UsageError("--threshold and --fraction: give one, not both");
    if (!c.threshold && !c.fraction) throw UsageError("--method " + c.method + ": give --threshold T or --fraction F");
    if (c.neighbours && *c.neighbours < 1) throw UsageError("--neighbours: must be at least 1");
    if (c.strategy == Strategy::Leader && c.fraction) {
        throw UsageError("--strategy leader: works with --threshold only (use --strategy pairs or auto with --fraction)");
    }
    MetricOptions options = c.metric;
    options.method = c.method;
    auto metric = make_metric(options);  // unknown method, bad metric options, a bad model
    if (c.threshold) metric->check_threshold(*c.threshold);
    return metric;
}

namespace {

bool is_within(const fs::path& inner, const fs::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty()) continue;  // trailing separator
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

fs::path resolved(const std::string& p) {
    std::error_code ec;
    fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
    return ec ? fs::absolute(p) : r;
}

// Refuses an unusable OUT before anything is written; with --force, removes only
// what lessmore itself writes there.
void prepare_output(const ReduceConfig& c) {
    const fs::path out = resolved(c.output);
    for (const std::string& input : c.inputs) {
        const fs::path in = resolved(input);
        if (is_within(out, in)) throw UsageError("-o " + c.output + ": lies inside INPUT " + input + " (inputs are never modified)");
        if (is_within(in, out)) throw UsageError("-o " + c.output + ": contains INPUT " + input);
    }
    std::error_code ec;
    const fs::file_status st = fs::status(out, ec);
    if (fs::exists(st)) {
        if (!fs::is_directory(st)) throw UsageError("-o " + c.output + ": exists and is not a folder");
        if (!fs::is_empty(out, ec) && !c.force) {
            throw UsageError("-o " + c.output + ": folder is not empty (use --force to replace lessmore's outputs in it)");
        }
    }
}

void clear_previous_outputs(const fs::path& out) {
    std::error_code ec;
    for (const char* name : {"manifest.json", "manifest.csv"}) fs::remove(out / name, ec);
    fs::remove_all(out / "slices", ec);
    if (ec) throw Error(path_text(out / "slices") + ": cannot remove previous outputs: " + ec.message());
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

ReduceResult reduce(const ReduceConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    const auto start = std::chrono::steady_clock::now();
    const std::unique_ptr<Metric> metric = validate(config);
    prepare_output(config);
    const Discovery found = discover(config.inputs);
    ThreadPool pool(config.threads);
    LoadOptions load;
    load.order = config.order;

    if (config.intensity.kind == IntensityMapping::Kind::None) {
        // Checked up front so a wrong --intensity none writes nothing.
        for (const Source& s : found.sources) {
            for (const LoadedVolume& v : inspect_source(s, load, pool, cancel)) {
                if (v.volume && v.volume->info().type != VoxelType::UInt8) {
                    throw UsageError(std::string("--intensity none: needs 8-bit input, but ") + v.path + " is " +
                                     voxel_type_name(v.volume->info().type) + " (use minmax or window:C,W)");
                }
            }
        }
    }

    const fs::path out = fs::absolute(config.output);
    fs::create_directories(out);
    if (config.force) clear_previous_outputs(out);

    ReduceResult result;
    result.started = utc_now();
    result.threads = pool.size();
    if (metric) result.metric_parameters = metric->parameters();
    result.errors = found.errors;
    for (const InputFailure& w : found.warnings) progress.warning(w.path, w.message);
    for (const InputFailure& e : found.errors) progress.volume_failed(e.path, e.message);
    progress.sources_found(found.sources.size());

    const VolumeReducer reducer(config, metric.get(), out);
    for (const Source& source : found.sources) {
        cancel.check();
        std::vector<LoadedVolume> loaded = load_source(source, load, pool, cancel);
        for (LoadedVolume& lv : loaded) {
            if (!lv.volume) {
                progress.volume_failed(lv.path, lv.error);
                result.errors.push_back({lv.path, lv.error});
                continue;
            }
            if (lv.volume->slice_count() == 0) {
                result.errors.push_back({lv.path, "volume has no slices"});
                progress.volume_failed(lv.path, "volume has no slices");
                continue;
            }
            VolumeRecord record;
            try {
                record = reducer.run(*lv.volume, pool, progress, cancel);
            } catch (const InputError& e) {  // e.g. a slice too small for the metric
                lv.volume.reset();
                result.errors.push_back({lv.path, e.what()});
                progress.volume_failed(lv.path, e.what());
                continue;
            }
            lv.volume.reset();  // free the voxels before the next volume
            progress.volume_finished(record.info.id, record.slices.size(), record.kept, record.seconds);
            result.volumes.push_back(std::move(record));
        }
    }
    if (found.sources.empty() && found.errors.empty()) {
        for (const std::string& input : config.inputs) {
            result.errors.push_back({input, "no volumes found"});
            progress.volume_failed(input, "no volumes found");
        }
    }

    std::sort(result.volumes.begin(), result.volumes.end(),
              [](const VolumeRecord& a, const VolumeRecord& b) { return a.info.id < b.info.id; });
    std::stable_sort(result.errors.begin(), result.errors.end(),
                     [](const InputFailure& a, const InputFailure& b) { return a.path < b.path; });
    RunSummary& s = result.summary;
    s.volumes = result.volumes.size();
    for (const VolumeRecord& v : result.volumes) {
        s.slices += v.slices.size();
        s.kept += v.kept;
        s.pairs += v.pairs_computed;
    }
    s.failed = result.errors.size();
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // The CSV first, the JSON last: a manifest.json means the run finished.
    write_file_atomic(out / "manifest.csv", manifest_csv(result), true);
    write_file_atomic(out / "manifest.json", manifest_json(config, result), true);
    return result;
}

InspectResult inspect(const std::vector<std::string>& inputs, SliceOrder order, int threads, ProgressSink& progress,
                      const CancelToken& cancel) {
    const Discovery found = discover(inputs);
    ThreadPool pool(threads);
    LoadOptions load;
    load.order = order;
    InspectResult result;
    result.errors = found.errors;
    for (const InputFailure& w : found.warnings) progress.warning(w.path, w.message);
    for (const Source& source : found.sources) {
        for (LoadedVolume& lv : inspect_source(source, load, pool, cancel)) {
            if (lv.volume) {
                result.volumes.push_back(lv.volume->info());
            } else {
                result.errors.push_back({lv.path, lv.error});
            }
        }
    }
    if (found.sources.empty() && found.errors.empty()) {
        for (const std::string& input : inputs) result.errors.push_back({input, "no volumes found"});
    }
    std::sort(result.volumes.begin(), result.volumes.end(),
              [](const VolumeInfo& a, const VolumeInfo& b) { return a.id < b.id; });
    return result;
}

}  // namespace lessmore
