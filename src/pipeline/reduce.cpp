// `lessmore reduce`: validation, the output folder, and the walk over volumes.
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/manifest.hpp>
#include <lessmore/neighbour_index.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/thread_pool.hpp>

#include "io/feature_files.hpp"
#include "pipeline/metric_loader.hpp"
#include "pipeline/output_store.hpp"
#include "pipeline/scope_pass.hpp"
#include "pipeline/unit_reducer.hpp"
#include "pipeline/unit_scorers.hpp"
#include "pipeline/volume_reducer.hpp"
#include "pipeline/volume_walk.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>

namespace fs = std::filesystem;

namespace lessmore {

namespace {

void check_scope_options(const ReduceConfig& c) {
    if (c.scope == Scope::Volume && c.scope_threshold)
        throw UsageError("--scope-threshold: only with --scope patient or dataset");
    if (c.patient_depth < 1) throw UsageError("--patient-depth: must be at least 1");
    if (!(c.duplicate_fraction > 0.0 && c.duplicate_fraction <= 1.0)) {
        throw UsageError("--duplicate-fraction: must be greater than 0 and at most 1 (got " +
                         format_number(c.duplicate_fraction) + ")");
    }
}

// What --unit slab|patch supports so far (docs/methods.md, section "3-D units"); the rest is
// refused before anything is written rather than run on slices behind the user's back.
void check_unit_options(const ReduceConfig& c) {
    if (c.unit.kind == UnitSpec::Kind::Slice) {
        if (c.format == OutputFormat::Nifti) throw UsageError("--format nifti: only for --unit slab or patch");
        return;
    }
    const std::string unit = "--unit " + c.unit.to_string();
    check_unit_metric(c.unit, c.metric, c.order);
    if (c.format == OutputFormat::Png) throw UsageError(unit + ": --format png writes slices (use nifti, npy or both)");
}

// --method everyn compares no slices: the options of comparing are refused.
void check_everyn_options(const ReduceConfig& c) {
    if (c.scope != Scope::Volume) {
        throw UsageError(std::string("--scope ") + scope_name(c.scope) +
                         ": --method everyn compares no slices (use hash or deepnet)");
    }
    if (c.threshold) throw UsageError("--threshold: not used by --method everyn (give --every N or --fraction F)");
    if (c.every && c.fraction) throw UsageError("--every and --fraction: give one, not both");
    if (!c.every && !c.fraction) throw UsageError("--method everyn: give --every N or --fraction F");
    if (c.every && *c.every < 1) throw UsageError("--every: must be at least 1 (got " + std::to_string(*c.every) + ")");
    if (c.strategy != Strategy::Auto) throw UsageError("--strategy: --method everyn has no strategy");
    if (c.neighbours) throw UsageError("--neighbours: --method everyn compares no slices");
    if (c.metric.resize != 0) throw UsageError("--resize: only for ssim and mi");
}

// --save-features: a method with per-slice features, and a folder that is neither inside an
// input nor the --features folder being read.
void check_save_features(const ReduceConfig& c) {
    if (c.save_features.empty()) return;
    const std::string& method = c.metric.method;
    if (method != "hash" && method != "deepnet") {
        throw UsageError("--save-features: --method " + method + " keeps no per-slice features (hash and deepnet do)");
    }
    const fs::path dir = resolved_path(c.save_features);
    for (const std::string& input : c.inputs)
        if (path_within(dir, resolved_path(input))) {
            throw UsageError("--save-features " + c.save_features + ": lies inside INPUT " + input +
                             " (inputs are never modified)");
        }
    if (!c.metric.model.features_dir.empty() && dir == resolved_path(c.metric.model.features_dir)) {
        throw UsageError("--save-features " + c.save_features + ": is the --features folder being read");
    }
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
        throw UsageError("--save-features " + c.save_features + ": exists and is not a folder");
    }
}

}  // namespace

std::unique_ptr<Metric> validate(const ReduceConfig& c) {
    const std::string& method = c.metric.method;
    if (c.inputs.empty()) throw UsageError("INPUT: give at least one volume file or folder");
    if (c.output.empty()) throw UsageError("-o/--output: required");
    if (c.fraction && !(*c.fraction > 0.0 && *c.fraction <= 1.0)) {
        throw UsageError("--fraction: must be greater than 0 and at most 1 (got " + format_number(*c.fraction) + ")");
    }
    if (c.threads < 0) throw UsageError("--threads: must be 0 (all cores) or more");
    if (c.force && c.resume) throw UsageError("--force and --resume: give one, not both");
    if (c.shard && (c.shard->first < 1 || c.shard->second < 1 || c.shard->first > c.shard->second)) {
        throw UsageError("--shard: I/N needs 1 <= I <= N");
    }
    if (c.flat && c.format == OutputFormat::None) throw UsageError("--flat: nothing is written with --format none");
    if (c.export_values.kind != ExportValues::Kind::Intensity && c.format == OutputFormat::None)
        throw UsageError("--export-values: nothing is written with --format none");
    check_scope_options(c);
    check_unit_options(c);
    if (method == "everyn") {
        check_everyn_options(c);
        return nullptr;
    }
    if (c.every) throw UsageError("--every: only for --method everyn");
    if (c.threshold && c.fraction) throw UsageError("--threshold and --fraction: give one, not both");
    if (!c.threshold && !c.fraction) throw UsageError("--method " + method + ": give --threshold T or --fraction F");
    if (c.neighbours && *c.neighbours < 1) throw UsageError("--neighbours: must be at least 1");
    if (c.strategy == Strategy::Leader && c.fraction) {
        throw UsageError(
            "--strategy leader: works with --threshold only (use --strategy pairs or auto with --fraction)");
    }
    check_save_features(c);
    MetricOptions options = c.metric;
    if (c.unit.kind != UnitSpec::Kind::Slice) {
        options.model.feature_unit = c.unit.to_string();
        if (!c.unit.size_mm) options.model.unit_depth = c.unit.size[0];
    }
    auto metric = load_metric(options);  // unknown method, bad metric options, a bad model
    if (c.unit.kind != UnitSpec::Kind::Slice) check_unit_model(c.unit, *metric);
    if (c.threshold) metric->check_threshold(*c.threshold);
    if (c.scope != Scope::Volume) {
        const std::string scope = std::string("--scope ") + scope_name(c.scope);
        if (!metric->make_index(0.0, 1)) {
            throw UsageError(scope + ": not offered for --method " + method +
                             " (comparing whole images across a dataset would keep every kept slice in memory; "
                             "use hash or deepnet)");
        }
        const auto t = c.scope_threshold ? c.scope_threshold : c.threshold;
        if (!t) throw UsageError(scope + ": with --fraction, give --scope-threshold T for the cross-volume pass");
        try {
            metric->check_threshold(*t);
        } catch (const UsageError& e) {
            if (!c.scope_threshold) throw;
            std::string what = e.what();
            throw UsageError("--scope-threshold" + what.substr(what.find(':')));
        }
    }
    return metric;
}

namespace {

// Refuses an unusable OUT before anything is written.
void check_output(const std::string& output, const std::vector<std::string>& inputs, bool force, bool resume) {
    const fs::path out = resolved_path(output);
    for (const std::string& input : inputs) {
        const fs::path in = resolved_path(input);
        if (path_within(out, in))
            throw UsageError("-o " + output + ": lies inside INPUT " + input + " (inputs are never modified)");
        if (path_within(in, out)) throw UsageError("-o " + output + ": contains INPUT " + input);
    }
    std::error_code ec;
    const fs::file_status st = fs::status(out, ec);
    if (fs::exists(st)) {
        if (!fs::is_directory(st)) throw UsageError("-o " + output + ": exists and is not a folder");
        if (!fs::is_empty(out, ec) && !force && !resume) {
            throw UsageError("-o " + output +
                             ": folder is not empty (use --resume to continue an interrupted run, "
                             "--force to replace lessmore's outputs in it)");
        }
    }
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// --intensity none needs 8-bit volumes: checked from the headers before anything is written.
void check_8bit(const std::vector<const Source*>& sources, const LoadOptions& load, ThreadPool& pool,
                const CancelToken& cancel) {
    NullProgress quiet;
    const VolumeWalk headers(load, 0, pool, quiet, cancel);
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t k, Volume& v) {
        if (v.info().type != VoxelType::UInt8) {
            throw UsageError(std::string("--intensity none: needs 8-bit input, but ") + sources[k]->path + " is " +
                             voxel_type_name(v.info().type) + " (use minmax or window:C,W)");
        }
    };
    headers.run(sources, visitor, true);
}

// OUT made ready for this run: checked against a previous run when resuming, cleared
// with --force, created, and run.json written.
void prepare_store(const OutputStore& store, const ReduceConfig& config, const RunFile& run) {
    // What a previous run left is used as it is (--resume) or replaced (--force, links
    // removed as links): a link where lessmore keeps its own files is refused before
    // anything is written (docs/output.md, section "OUT's own state").
    if (!config.force) store.check_layout();
    if (config.resume) {
        // Killed before anything was recorded, a run has nothing to keep: start afresh.
        const auto previous = store.read_run();
        if (!previous && fs::exists(store.root()) && !store.only_lessmore_files()) {
            throw UsageError("--resume: " + config.output + " holds no lessmore run to resume");
        }
        if (previous) {
            const std::string diff = run_mismatch(*previous, run);
            if (!diff.empty()) {
                throw UsageError("--resume: " + config.output + " was made with other parameters (" + diff + ")");
            }
        }
    }
    if (config.force) store.clear();
    if (config.resume && fs::exists(store.root())) {
        store.remove_temporaries();
        // A resumed OUT is unfinished until its new manifest is committed; a stale one
        // would let merge or compare take a half-redone run for a finished one.
        store.retract_manifests();
    }
    store.create();
    store.write_run(run);
}

// The sources still to do (all, unless resuming: then those without a finished record
// from an unchanged source), with their fingerprints for the records.
struct Todo {
    std::vector<const Source*> sources;
    std::vector<std::string> fingerprints;
    std::vector<std::string> changed;  // ids redone because the source changed since its record
};

Todo sources_to_do(const WalkPlan& plan, const OutputStore& store, bool resume, ThreadPool& pool,
                   ProgressSink& progress) {
    std::vector<std::string> fingerprints(plan.sources.size());
    pool.parallel_for(plan.sources.size(),
                      [&](std::size_t k) { fingerprints[k] = source_fingerprint(plan.sources[k], &pool); });
    Todo todo;
    for (std::size_t k = 0; k < plan.sources.size(); ++k) {
        const Source& s = plan.sources[k];
        std::string damage;
        const auto record = resume ? store.read_record(s.id, &damage) : std::nullopt;
        if (!damage.empty()) progress.warning(s.path, damage + "; reduced again");
        if (record && record->done() && record->fingerprint == fingerprints[k]) {
            std::size_t slices = 0;
            for (const VolumeRecord& v : record->volumes) slices += v.slices.size();
            progress.source_skipped(s.id, record->volumes.size(), slices);
            continue;
        }
        if (record) {
            // Done again: what it wrote before must not outlive its new record.
            store.remove_outputs(*record);
            if (record->fingerprint != fingerprints[k]) {
                progress.warning(s.path, "changed since the run being resumed; reduced again");
                todo.changed.push_back(s.id);
            }
        }
        todo.sources.push_back(&s);
        todo.fingerprints.push_back(fingerprints[k]);
    }
    return todo;
}

// --save-features: DIR/index.csv for every volume of the run whose features are in DIR
// (resumed volumes' too).
void write_saved_index(const OutputStore& store, const std::vector<std::string>& ids, const std::string& dir) {
    std::vector<std::pair<std::string, std::size_t>> volumes;
    for (const std::string& id : ids) {
        const auto record = store.read_record(id);
        if (!record) continue;
        for (const VolumeRecord& v : record->volumes) {
            std::error_code ec;
            if (fs::is_regular_file(fs::path(dir) / feature_file_name(v.info.id), ec))
                volumes.emplace_back(v.info.id, v.unit.empty() ? v.slices.size() : v.units.size());
        }
    }
    write_feature_index(dir, std::move(volumes));
}

// run.json's content: the version, the parameters, the shard and what discovery found.
RunFile run_file(const ReduceConfig& config, const Metric* metric, const WalkPlan& plan,
                 const std::vector<std::string>& ids) {
    RunFile run;
    run.version = version();
    run.parameters = RunParameters::of(config, metric);
    if (config.shard)
        run.shard =
            ShardInfo{config.shard->first, config.shard->second, plan.all_sources, plan.all_sources_sha256, ids};
    run.discovery_errors = plan.errors;
    run.discovery_skipped = plan.skipped;
    return run;
}

// The manifest's header: how this run was made (command, threads, times, resume) and its
// parameters and shard.
OrderedJson manifest_header(const ReduceConfig& config, const RunFile& run, std::size_t threads,
                            const std::string& started, double seconds, const std::vector<std::string>& changed) {
    OrderedJson header = tool_stamp();
    header["run"] = {{"command", config.command_line},
                     {"threads", threads},
                     {"started", started},
                     {"seconds", seconds},
                     {"resumed", config.resume}};
    if (config.resume) header["run"]["changed_sources"] = changed;
    header["parameters"] = to_json(run.parameters);
    if (config.shard) header["shard"] = {{"index", config.shard->first}, {"count", config.shard->second}};
    return header;
}

}  // namespace

ReduceResult reduce(const ReduceConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    const auto start = std::chrono::steady_clock::now();
    const std::unique_ptr<Metric> metric = validate(config);
    check_output(config.output, config.inputs, config.force, config.resume);
    const WalkPlan plan = plan_walk({config.inputs, config.shard}, progress);
    ThreadPool pool(config.threads);
    LoadOptions load;
    load.order = config.order;
    load.include_localizers = config.include_localizers;
    load.decoder_program = config.decoder_program;
    if (config.intensity.kind == IntensityMapping::Kind::None) check_8bit(all_sources(plan), load, pool, cancel);

    std::vector<std::string> ids;  // this run's sources
    for (const Source& s : plan.sources) ids.push_back(s.id);
    const RunFile run = run_file(config, metric.get(), plan, ids);
    const OutputStore store(fs::absolute(config.output));
    const auto lock = store.lock("-o " + config.output, config.force);
    prepare_store(store, config, run);
    const std::string started = utc_now();

    const Todo todo = sources_to_do(plan, store, config.resume, pool, progress);

    const VolumeReducer reducer(config, metric.get(), store.root());
    std::vector<std::vector<VolumeRecord>> reduced(todo.sources.size());
    std::vector<std::vector<InputFailure>> too_small(todo.sources.size());  // --unit: volumes without a unit
    WalkVisitor visitor;
    auto finished = [&](std::size_t k, VolumeRecord v) {
        progress.volume_finished(v.info.id, v.slices.size(), v.kept, v.seconds);
        reduced[k].push_back(std::move(v));
    };
    auto reduce_one = [&](std::size_t k, const VolumeInfo& info, auto& volume) {
        try {
            finished(k, reducer.run(volume, pool, progress, cancel));
        } catch (const VolumeSkipped& e) {  // listed in `skipped`; the run goes on
            too_small[k].push_back({info.source, e.what()});
            progress.file_skipped(info.source, e.what());
        }
    };
    visitor.volume = [&](std::size_t k, Volume& volume) { reduce_one(k, volume.info(), volume); };
    visitor.stream = [&](std::size_t k, SliceStream& stream) { reduce_one(k, stream.info(), stream); };
    // Leader and everyn decide in order: volumes that can be read in order stream.
    load.streams = reducer.streams();
    load.stream_slices = reducer.chunk();
    visitor.source_done = [&](std::size_t k, SourceOutcome outcome) {
        SourceRecord record;
        record.source = todo.sources[k]->id;
        record.fingerprint = todo.fingerprints[k];
        record.volumes = std::move(reduced[k]);
        std::sort(record.volumes.begin(), record.volumes.end(),
                  [](const VolumeRecord& a, const VolumeRecord& b) { return a.info.id < b.info.id; });
        record.errors = std::move(outcome.failures);
        record.skipped = std::move(outcome.skipped);
        record.skipped.insert(record.skipped.end(), too_small[k].begin(), too_small[k].end());
        store.write_record(record);
    };
    VolumeWalk(load, config.max_memory, pool, progress, cancel).run(todo.sources, visitor);
    if (!config.save_features.empty()) write_saved_index(store, ids, config.save_features);

    ReduceResult result;
    result.units = config.unit.kind != UnitSpec::Kind::Slice;
    result.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    OrderedJson header = manifest_header(config, run, pool.size(), started, result.summary.seconds, todo.changed);
    // The cross-volume pass needs every volume of the scope: a shard leaves it to merge.
    ScopeOutcome scope;
    if (config.scope != Scope::Volume && config.shard) {
        header["scope_pass"] = "left to lessmore merge (a shard sees part of the dataset)";
    } else if (config.scope != Scope::Volume) {
        scope = scope_pass(store, ids, run.parameters, pool, cancel, metric.get());
        remove_scope_outputs(store, scope);
    }
    store.write_manifests(header, run.parameters, ids, plan.errors, result, &scope, plan.skipped);
    progress.finished(result.summary.volumes, result.summary.slices, result.summary.kept, result.summary.failed,
                      result.summary.seconds);
    return result;
}

}  // namespace lessmore
