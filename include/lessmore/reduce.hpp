#pragma once
// `lessmore reduce`: datasets in, a smaller dataset and a manifest out.
#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/unit.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

enum class Strategy { Auto, Leader, Pairs };
// Nifti: units only (each kept unit a .nii.gz); Both with units: NIfTI and NPY.
enum class OutputFormat { Png, Npy, Both, None, Nifti };
// Where near-duplicates are looked for: within each volume (the paper), or also across
// the volumes of a patient or of the whole dataset (include/lessmore/cross_volume.hpp).
enum class Scope { Volume, Patient, Dataset };

const char* strategy_name(Strategy s);
const char* order_name(SliceOrder o);
const char* format_name(OutputFormat f);
const char* scope_name(Scope s);

struct ReduceConfig {
    std::vector<std::string> inputs;
    std::string output;
    MetricOptions metric;  // metric.method: "everyn" or a metric make_metric() knows
    std::optional<double> threshold;
    std::optional<double> fraction;
    std::optional<int> every;
    std::optional<std::size_t> neighbours;  // compare only slices at most this far apart in slice order
    Strategy strategy = Strategy::Auto;
    SliceOrder order = SliceOrder::Position;
    bool include_localizers = false;  // DICOM scouts (ImageType LOCALIZER); skipped by default
    IntensityMapping intensity;
    // What is selected: slices (the paper), or slabs or patches (docs/methods.md, section
    // "3-D units"); parsed, not yet resolved against any volume.
    UnitSpec unit;
    OutputFormat format = OutputFormat::Png;
    ExportValues export_values;  // what the written slices hold; never changes a decision
    bool flat = false;
    Scope scope = Scope::Volume;
    std::optional<double> scope_threshold;  // the cross-volume pass's threshold; default --threshold
    int patient_depth = 1;                  // --scope patient without PatientID: folder levels of the id
    double duplicate_fraction = 0.9;        // a volume is a duplicate when this much of it matched one other
    bool force = false;
    bool resume = false;                       // continue an interrupted OUT made with the same parameters
    std::optional<std::pair<int, int>> shard;  // (I, N): this run does the I-th of N parts of the volumes
    std::uint64_t max_memory = 0;              // bytes of raw voxels in flight; 0: no cap (threads bound it)
    int threads = 0;                           // 0: one per core
    // The program started as decoder worker (include/lessmore/decoder_pool.hpp): this one,
    // or for a library inside another program (Python), a helper that serves as one.
    std::string decoder_program = "/proc/self/exe";
    std::vector<std::string> command_line;  // recorded in the manifest
    std::string save_features;              // --save-features DIR: each slice's features as float32 (docs/models.md)

    // The strategy auto resolves to: leader with a threshold, pairs with a fraction.
    Strategy resolved_strategy() const;
};

// Throws UsageError naming the option at fault. Returns the metric the options describe
// (null for everyn), built once: DeepNet loads and checks its model here.
std::unique_ptr<Metric> validate(const ReduceConfig& config);

struct RunSummary {
    std::size_t volumes = 0;  // read and reduced
    std::size_t slices = 0;
    std::size_t kept = 0;
    std::size_t pairs = 0;              // slice pairs compared
    std::size_t failed = 0;             // volumes or files that could not be read
    std::size_t skipped = 0;            // files skipped on purpose (non-image objects, localizers, duplicates)
    std::size_t removed_across = 0;     // kept slices the cross-volume pass removed
    std::size_t duplicate_volumes = 0;  // volumes listed as duplicates of another
    bool across_volumes = false;        // the cross-volume pass ran: the two counts above are reported
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

// A volume most of whose kept slices the cross-volume pass matched to one other volume.
struct VolumeDuplicate {
    std::string volume;
    std::string of;
    double fraction = 0.0;
};

struct ReduceResult {
    std::vector<VolumeSummary> volumes;  // sorted by id
    std::vector<VolumeDuplicate> duplicates;
    std::vector<InputFailure> errors;
    std::vector<InputFailure> skipped;  // by path; message = the reason
    RunSummary summary;
    bool units = false;  // the rows are 3-D units (a --unit slab|patch run), not slices
};

// Runs the whole reduction and writes OUT: the slice files and a record per source as
// each finishes (OUT/.lessmore, atomically), then manifest.csv and manifest.json built
// from the records. Throws UsageError before writing anything, Interrupted when
// cancelled (OUT then has no manifest and can be resumed), Error when OUT cannot be
// written. A source that cannot be read or reduced is listed in the errors, not thrown.
ReduceResult reduce(const ReduceConfig& config, ProgressSink& progress, const CancelToken& cancel);

}  // namespace lessmore
