// `lessmore reduce`: validation, the output folder, and the walk over volumes.
#include <lessmore/error.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/thread_pool.hpp>

#include <lessmore/sha256.hpp>

#include "core/output_store.hpp"
#include "core/parse_number.hpp"
#include "core/volume_reducer.hpp"
#include "io/files.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>

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
    if (c.force && c.resume) throw UsageError("--force and --resume: give one, not both");
    if (c.shard && (c.shard->first < 1 || c.shard->second < 1 || c.shard->first > c.shard->second)) {
        throw UsageError("--shard: I/N needs 1 <= I <= N");
    }
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

std::pair<int, int> parse_shard(const std::string& text) {
    const auto slash = text.find('/');
    try {
        if (slash != std::string::npos) {
            std::size_t a = 0, b = 0;
            const int i = std::stoi(text.substr(0, slash), &a);
            const int n = std::stoi(text.substr(slash + 1), &b);
            if (a == slash && b == text.size() - slash - 1 && i >= 1 && n >= 1 && i <= n && n <= 100000) return {i, n};
        }
    } catch (const std::exception&) {
    }
    throw UsageError("--shard: '" + text + "' is not I/N with 1 <= I <= N (e.g. 3/10)");
}

std::uint64_t parse_memory(const std::string& text) {
    const auto [v, used] = parse_leading_number(text);
    std::string unit = text.substr(used);
    for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!unit.empty() && unit.back() == 'B') unit.pop_back();
    if (unit.size() > 1 && unit.back() == 'I') unit.pop_back();  // "GiB"
    const double scale = unit.empty() ? 1.0 : unit == "K" ? 1024.0 : unit == "M" ? 1048576.0
                         : unit == "G" ? 1073741824.0 : unit == "T" ? 1099511627776.0 : -1.0;
    if (used == 0 || scale < 0 || !(v > 0)) {
        throw UsageError("--max-memory: '" + text + "' is not a size (e.g. 4G, 500M)");
    }
    return static_cast<std::uint64_t>(v * scale);
}

namespace {

using Json = OrderedJson;

// Refuses an unusable OUT before anything is written.
void check_output(const std::string& output, const std::vector<std::string>& inputs, bool force, bool resume) {
    const fs::path out = resolved_path(output);
    for (const std::string& input : inputs) {
        const fs::path in = resolved_path(input);
        if (path_within(out, in)) throw UsageError("-o " + output + ": lies inside INPUT " + input + " (inputs are never modified)");
        if (path_within(in, out)) throw UsageError("-o " + output + ": contains INPUT " + input);
    }
    std::error_code ec;
    const fs::file_status st = fs::status(out, ec);
    if (fs::exists(st)) {
        if (!fs::is_directory(st)) throw UsageError("-o " + output + ": exists and is not a folder");
        if (!fs::is_empty(out, ec) && !force && !resume) {
            throw UsageError("-o " + output + ": folder is not empty (use --resume to continue an interrupted run, "
                             "--force to replace lessmore's outputs in it)");
        }
    }
}

// An OUT holding only what lessmore writes (a run killed before it recorded anything).
bool only_lessmore_files(const fs::path& out) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out, ec)) {
        const std::string name = e.path().filename().string();
        if (name != "slices" && name != ".lessmore" && name.rfind("manifest.", 0) != 0 && name.rfind(".manifest.", 0) != 0) {
            return false;
        }
    }
    return true;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// Stable across machines and listing orders: only the volume id decides the shard.
int shard_of(const std::string& id, int count) {
    const std::string h = sha256_hex(id.data(), id.size());
    return static_cast<int>(std::stoull(h.substr(0, 15), nullptr, 16) % static_cast<unsigned long long>(count)) + 1;
}

// Raw voxel bytes a source will need when read (for --max-memory), and its slice count
// when known without reading voxels.
struct Estimate {
    std::uint64_t bytes = 0;
    std::size_t slices = 0;
};

Estimate estimate(const Source& s, ThreadPool& pool, const CancelToken& cancel) {
    Estimate e;
    if (s.kind == Source::Kind::DicomFolder) {
        std::error_code ec;
        for (const std::string& f : s.files) e.bytes += static_cast<std::uint64_t>(fs::file_size(fs::path(s.path) / f, ec));
        e.slices = s.files.size();
        return e;
    }
    LoadOptions load;
    for (const LoadedVolume& v : inspect_source(s, load, pool, cancel)) {
        if (!v.volume) continue;
        const VolumeInfo& info = v.volume->info();
        e.bytes += static_cast<std::uint64_t>(info.slice_bytes()) * info.slice_count();
        e.slices += info.slice_count();
    }
    return e;
}

// Caps the raw voxel bytes of the volumes in flight.
class MemoryBudget {
public:
    explicit MemoryBudget(std::uint64_t limit) : m_limit(limit) {}

    // Bytes taken from the budget, given back when the hold goes (also on an exception).
    class Hold {
    public:
        Hold(MemoryBudget& budget, std::uint64_t bytes) : m_budget(budget), m_bytes(bytes) {}
        ~Hold() { m_budget.release(m_bytes); }
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;

    private:
        MemoryBudget& m_budget;
        std::uint64_t m_bytes;
    };

    [[nodiscard]] Hold acquire(std::uint64_t bytes, const CancelToken& cancel) {
        std::unique_lock<std::mutex> lock(m_mutex);
        // Alone, a volume always fits (it was checked against the limit before).
        while (m_limit && m_used > 0 && m_used + bytes > m_limit) {
            m_cv.wait_for(lock, std::chrono::milliseconds(100));
            cancel.check();
        }
        m_used += bytes;
        return Hold(*this, bytes);
    }

private:
    void release(std::uint64_t bytes) {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_used -= bytes;
        }
        m_cv.notify_all();
    }

    std::uint64_t m_limit;
    std::uint64_t m_used = 0;
    std::mutex m_mutex;
    std::condition_variable m_cv;
};

std::string megabytes(std::uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MB"; }

}  // namespace

ReduceResult reduce(const ReduceConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    const auto start = std::chrono::steady_clock::now();
    const std::unique_ptr<Metric> metric = validate(config);
    check_output(config.output, config.inputs, config.force, config.resume);
    Discovery found = discover(config.inputs);

    ThreadPool pool(config.threads);
    LoadOptions load;
    load.order = config.order;

    // This run's share of the volumes; the whole list is recorded for `merge`.
    const std::size_t all_count = found.sources.size();
    std::string all_joined;
    for (const Source& s : found.sources) all_joined += s.id + "\n";
    std::vector<Source> sources;
    std::vector<std::string> ids;  // of `sources`
    for (Source& s : found.sources) {
        if (config.shard && shard_of(s.id, config.shard->second) != config.shard->first) continue;
        ids.push_back(s.id);
        sources.push_back(std::move(s));
    }

    if (config.intensity.kind == IntensityMapping::Kind::None) {
        // Checked up front so a wrong --intensity none writes nothing.
        for (const Source& s : sources) {
            for (const LoadedVolume& v : inspect_source(s, load, pool, cancel)) {
                if (v.volume && v.volume->info().type != VoxelType::UInt8) {
                    throw UsageError(std::string("--intensity none: needs 8-bit input, but ") + v.path + " is " +
                                     voxel_type_name(v.volume->info().type) + " (use minmax or window:C,W)");
                }
            }
        }
    }

    ReduceResult result;
    result.started = utc_now();
    result.threads = pool.size();
    if (metric) result.metric_parameters = metric->parameters();

    Json run = tool_stamp();
    run["parameters"] = parameters_json(config, result.metric_parameters);
    if (config.shard) {
        run["shard"] = {{"index", config.shard->first},
                        {"count", config.shard->second},
                        {"all_sources", all_count},
                        {"all_sources_sha256", sha256_hex(all_joined.data(), all_joined.size())},
                        {"sources", ids}};
    } else {
        run["shard"] = nullptr;
    }
    run["discovery_errors"] = errors_json(found.errors);

    const OutputStore store(fs::absolute(config.output));
    if (config.resume) {
        // Killed before anything was recorded, a run has nothing to keep: start afresh.
        const auto previous = store.read_run();
        if (!previous && fs::exists(store.root()) && !only_lessmore_files(store.root())) {
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
    if (config.resume && fs::exists(store.root())) store.remove_temporaries();
    store.create();
    store.write_run(run);

    for (const InputFailure& w : found.warnings) progress.warning(w.path, w.message);
    for (const InputFailure& e : found.errors) progress.volume_failed(e.path, e.message);

    // The sources still to do (all, unless resuming).
    std::vector<const Source*> todo;
    for (const Source& s : sources) {
        const auto record = config.resume ? store.read_record(s.id) : std::nullopt;
        if (record && OutputStore::is_done(*record)) {
            std::size_t slices = 0;
            for (const Json& v : (*record)["volumes"]) slices += v["slices"].size();
            progress.source_skipped(s.id, slices);
            continue;
        }
        todo.push_back(&s);
    }
    // Voxel bytes (for --max-memory) and slice counts (for progress): DICOM and image
    // folders by their files, volume files by their headers (read in parallel; cheap next
    // to reading the voxels).
    std::vector<Estimate> estimates(todo.size());
    pool.parallel_for(todo.size(), [&](std::size_t k) {
        const Source& s = *todo[k];
        if (s.kind == Source::Kind::VolumeFile || config.max_memory) estimates[k] = estimate(s, pool, cancel);
        if (s.kind != Source::Kind::VolumeFile) estimates[k].slices = s.files.size();
    });
    std::size_t estimated_slices = 0;
    for (const Estimate& e : estimates) estimated_slices += e.slices;
    progress.sources_found(todo.size(), estimated_slices);

    // Sources run in parallel (each also parallel over its slices, on the same pool), at
    // most one per thread, fewer when --max-memory says so.
    const VolumeReducer reducer(config, metric.get(), store.root());
    MemoryBudget budget(config.max_memory);
    pool.parallel_for(todo.size(), [&](std::size_t k) {
        const Source& source = *todo[k];
        cancel.check();
        Json record;
        record["source"] = source.id;
        record["volumes"] = Json::array();
        record["errors"] = Json::array();
        const Estimate& need = estimates[k];
        if (config.max_memory && need.bytes > config.max_memory) {
            const std::string message = "needs " + megabytes(need.bytes) + " of voxels, more than --max-memory " +
                                        megabytes(config.max_memory);
            record["errors"].push_back({{"path", source.path}, {"message", message}});
            progress.volume_failed(source.path, message);
        } else {
            const MemoryBudget::Hold hold = budget.acquire(need.bytes, cancel);
            std::vector<LoadedVolume> loaded = load_source(source, load, pool, cancel);
            std::vector<Json> volumes;
            for (LoadedVolume& lv : loaded) {
                std::string error = lv.volume ? std::string() : lv.error;
                if (lv.volume && lv.volume->slice_count() == 0) error = "volume has no slices";
                if (error.empty()) {
                    try {
                        const VolumeRecord v = reducer.run(*lv.volume, pool, progress, cancel);
                        progress.volume_finished(v.info.id, v.slices.size(), v.kept, v.seconds);
                        volumes.push_back(volume_json(v));
                    } catch (const InputError& e) {  // e.g. a slice too small for the metric
                        error = e.what();
                    }
                }
                lv.volume.reset();  // free the voxels as soon as possible
                if (!error.empty()) {
                    record["errors"].push_back({{"path", lv.path}, {"message", error}});
                    progress.volume_failed(lv.path, error);
                }
            }
            std::sort(volumes.begin(), volumes.end(), [](const Json& a, const Json& b) { return a["id"] < b["id"]; });
            for (Json& v : volumes) record["volumes"].push_back(std::move(v));
        }
        store.write_record(source.id, record);
        progress.source_done();
    });

    if (sources.empty() && found.errors.empty() && !config.shard) {
        for (const std::string& input : config.inputs) {
            found.errors.push_back({input, "no volumes found"});
            progress.volume_failed(input, "no volumes found");
        }
    }
    result.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Json header = tool_stamp();
    header["run"] = {{"command", config.command_line},
                     {"threads", result.threads},
                     {"started", result.started},
                     {"seconds", result.summary.seconds},
                     {"resumed", config.resume}};
    header["parameters"] = run["parameters"];
    if (config.shard) header["shard"] = {{"index", config.shard->first}, {"count", config.shard->second}};
    write_manifests(store, header, ids, found.errors, result);
    progress.finished(result.summary.volumes, result.summary.slices, result.summary.kept, result.summary.seconds);
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
