#pragma once
// `lessmore reduce`: datasets in, a smaller dataset and a manifest out.
#include <lessmore/intensity.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/sources.hpp>
#include <lessmore/volume.hpp>

#include <memory>
#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace lessmore {

enum class Strategy { Auto, Leader, Pairs };
enum class OutputFormat { Png, Npy, Both, None };

const char* strategy_name(Strategy s);
const char* order_name(SliceOrder o);
const char* format_name(OutputFormat f);

struct ReduceConfig {
    std::vector<std::string> inputs;
    std::string output;
    std::string method = "hash";  // "everyn" or a metric make_metric() knows
    MetricOptions metric;         // metric.method is set from method
    std::optional<double> threshold;
    std::optional<double> fraction;
    std::optional<int> every;
    std::optional<std::size_t> neighbours;  // compare only slices at most this far apart in slice order
    Strategy strategy = Strategy::Auto;
    SliceOrder order = SliceOrder::Position;
    IntensityMapping intensity;
    OutputFormat format = OutputFormat::Png;
    bool flat = false;
    bool force = false;
    bool resume = false;                    // continue an interrupted OUT made with the same parameters
    std::optional<std::pair<int, int>> shard;  // (I, N): this run does the I-th of N parts of the volumes
    std::uint64_t max_memory = 0;           // bytes of raw voxels in flight; 0: no cap (threads bound it)
    int threads = 0;                        // 0: one per core
    std::vector<std::string> command_line;  // recorded in the manifest

    // The strategy auto resolves to: leader with a threshold, pairs with a fraction.
    Strategy resolved_strategy() const;
};

// Throws UsageError naming the option at fault. Returns the metric the options describe
// (null for everyn), built once: DeepNet loads and checks its model here.
std::unique_ptr<Metric> validate(const ReduceConfig& config);

struct SliceRecord {
    std::size_t index = 0;
    std::string file;                   // relative to the volume; empty for single-file volumes
    std::optional<double> z;
    bool kept = true;
    std::optional<std::size_t> match;
    std::optional<double> score;
    std::optional<std::string> hash;    // HASH only
    std::string output;                 // relative to OUT; empty when not written
    std::string output_npy;             // --format both: the NPY beside the PNG
};

struct VolumeRecord {
    VolumeInfo info;  // no voxels
    std::vector<SliceRecord> slices;
    std::size_t kept = 0;
    std::size_t pairs_computed = 0;
    double seconds = 0.0;
};

struct RunSummary {
    std::size_t volumes = 0;  // read and reduced
    std::size_t slices = 0;
    std::size_t kept = 0;
    std::size_t pairs = 0;    // slice pairs compared
    std::size_t failed = 0;   // volumes or files that could not be read
    double seconds = 0.0;
};

// One reduced volume, for summaries (the slice records live in OUT).
struct VolumeSummary {
    std::string id;
    std::size_t slices = 0;
    std::size_t kept = 0;
    std::size_t pairs = 0;
    double seconds = 0.0;
};

struct ReduceResult {
    std::vector<VolumeSummary> volumes;  // sorted by id
    std::vector<InputFailure> errors;
    RunSummary summary;
    std::string started;                // UTC, ISO 8601
    int threads = 1;
    std::vector<std::pair<std::string, std::string>> metric_parameters;  // (name, JSON text)
};

// Runs the whole reduction and writes OUT: the slice files and a record per source as
// each finishes (OUT/.lessmore, atomically), then manifest.csv and manifest.json built
// from the records. Throws UsageError before writing anything, Interrupted when
// cancelled (OUT then has no manifest and can be resumed), Error when OUT cannot be written.
ReduceResult reduce(const ReduceConfig& config, ProgressSink& progress, const CancelToken& cancel);

// `lessmore info`: the volumes the inputs hold, headers only.
struct InspectResult {
    std::vector<VolumeInfo> volumes;
    std::vector<InputFailure> errors;
};
InspectResult inspect(const std::vector<std::string>& inputs, SliceOrder order, int threads, ProgressSink& progress,
                      const CancelToken& cancel);

}  // namespace lessmore

namespace lessmore {

// "I/N" -> (I, N); throws UsageError naming --shard.
std::pair<int, int> parse_shard(const std::string& text);

// "500M", "8G", "1024" (bytes) -> bytes; throws UsageError naming --max-memory.
std::uint64_t parse_memory(const std::string& text);

// `lessmore merge`: shard outputs of one sharded run into one OUT.
struct MergeConfig {
    std::vector<std::string> shards;  // the shards' OUT folders
    std::string output;
    bool move = false;                // move slice files instead of hard-linking (or copying)
    bool force = false;
    std::vector<std::string> command_line;
};

// Checks that the shards come from one run (same parameters and inputs, shard count, the
// same volumes discovered), that each shard index appears once and none is missing, and
// that every volume appears exactly once; then writes OUT as one run would have.
// Throws UsageError naming the shard or volume at fault.
ReduceResult merge(const MergeConfig& config, ProgressSink& progress);

}  // namespace lessmore
