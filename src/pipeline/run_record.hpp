#pragma once
// The typed record of a run: its parameters (OUT/.lessmore/run.json and the manifest's
// "parameters") and one record per source (OUT/.lessmore/records). This file alone turns
// them into JSON and back; everything else uses the types.
#include <lessmore/discovery.hpp>
#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/unit.hpp>
#include <lessmore/volume.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

using OrderedJson = nlohmann::ordered_json;

// What decides a run's results (the manifest's "parameters"); the method is
// metric.method.
struct RunParameters {
    std::vector<std::string> inputs;
    MetricOptions metric;  // as recorded (deepnet: model path and flags)
    std::optional<double> threshold;
    std::optional<double> fraction;
    std::optional<int> every;
    std::optional<std::size_t> neighbours;
    Strategy strategy = Strategy::Leader;  // resolved; unused for everyn
    SliceOrder order = SliceOrder::Position;
    bool include_localizers = false;
    IntensityMapping intensity;
    std::optional<ModelDescription> model;  // deepnet: the model the run used
    OutputFormat format = OutputFormat::Png;
    // Resolved: intensity with --intensity minmax is recorded as minmax (the same files).
    ExportValues export_values;
    bool flat = false;
    Scope scope = Scope::Volume;
    std::optional<double> scope_threshold;  // resolved: the pass's threshold (unset for volume)
    int patient_depth = 1;
    double duplicate_fraction = 0.9;
    // --unit as UnitSpec::to_string() gives it; "slice" is left out of the JSON (runs made
    // before --unit existed, and slice runs, read the same).
    std::string unit = "slice";

    // A reduce run's parameters; `metric` is the metric built from them (null for everyn).
    static RunParameters of(const ReduceConfig& config, const Metric* metric);
    // The options that rebuild the run's metric (the bundled model when it used it).
    MetricOptions metric_options() const;
};

// Shard bookkeeping of a run made with --shard (what merge checks).
struct ShardInfo {
    int index = 1;
    int count = 1;
    std::size_t all_sources = 0;
    std::string all_sources_sha256;
    std::vector<std::string> sources;  // ids this shard did
};

// OUT/.lessmore/run.json: what must match for --resume and between merged shards.
struct RunFile {
    std::string version;
    RunParameters parameters;
    std::optional<ShardInfo> shard;
    std::vector<InputFailure> discovery_errors;
    std::vector<InputFailure> discovery_skipped;  // files discovery passed over (FIFOs, devices, ...)
};

struct SliceRecord {
    std::size_t index = 0;
    std::string file;  // relative to the volume; empty for single-file volumes
    std::optional<double> z;
    bool kept = true;
    std::optional<std::size_t> match;
    std::optional<double> score;
    std::optional<std::string> description;  // the metric's per-slice text (HASH: the hex digest)
    // Records only, kept slices, --scope patient|dataset: the metric's feature_text when
    // the description is not already it (DeepNet's embedding).
    std::optional<std::string> feature;
    std::optional<std::string> match_volume;  // set by the cross-volume pass (manifests only)
    std::string output;                       // relative to OUT; empty when not written
    std::string output_npy;                   // --format both: the NPY beside the PNG
};

// One unit of a --unit slab|patch run (docs/output.md, section "Unit rows").
struct UnitRecord {
    std::size_t index = 0;               // in enumerate_units order
    std::array<int, 3> origin{0, 0, 0};  // first voxel (z, y, x)
    std::array<int, 3> size{0, 0, 0};    // voxels (z, y, x)
    bool kept = true;
    std::optional<std::size_t> match;  // the kept unit a removed unit stands for
    std::optional<double> score;
    // Records only, kept units, --scope patient|dataset: the unit's feature text (HASH: its
    // crops' digests joined by ','; DeepNet: the embedding), what the cross-volume pass reads.
    std::optional<std::string> feature;
    std::optional<std::string> match_volume;  // set by the cross-volume pass (manifests only)
    std::string output;                       // relative to OUT; empty when not written
    std::string output_npy;                   // --format both: the NPY beside the NIfTI
};

struct VolumeRecord {
    VolumeInfo info;  // no voxels
    // --export-values hu with PNG output: value = pixel + png_offset in every 16-bit PNG of
    // the volume (kernels' png16_offset); unset otherwise.
    std::optional<std::int64_t> png_offset;
    std::vector<SliceRecord> slices;  // empty in a unit run (units holds its rows)
    // A unit run: the resolved unit (UnitSpec::to_string()), its units and the partial ones
    // dropped at the volume's edges; `kept` then counts units.
    std::string unit;
    std::vector<UnitRecord> units;
    std::vector<UnitBox> dropped_units;
    std::size_t kept = 0;
    std::size_t pairs_computed = 0;
    double seconds = 0.0;
};

// One finished source: its volumes (by id) and what failed in it.
struct SourceRecord {
    std::string source;
    std::string fingerprint;  // source_fingerprint() when it was read (records only, not the manifest)
    std::vector<VolumeRecord> volumes;
    std::vector<InputFailure> errors;
    std::vector<InputFailure> skipped;  // files skipped on purpose, with the reason

    // Finished without errors (a source that failed is read again on --resume).
    bool done() const { return errors.empty(); }
};

// A record or run file that is not what lessmore wrote; what() names the field.
class RecordFormatError : public Error {
public:
    using Error::Error;
};

OrderedJson to_json(const RunParameters& p);
OrderedJson to_json(const RunFile& r);
OrderedJson to_json(const SourceRecord& r);
// A volume as manifest.json's "volumes" show it (every field of docs/output.md on every
// volume and slice; the patient key by `patient_depth`, see patient_key), or as a source
// record keeps it (with what the cross-volume pass needs: each kept slice's feature, the
// patient digest).
enum class RecordView { Manifest, Record };
OrderedJson to_json(const VolumeRecord& v, RecordView view = RecordView::Manifest, int patient_depth = 1);
// manifest.csv's first line, and the rows of one volume as to_json(v, Manifest) gives it:
// one per slice, the volume's fields repeated (docs/output.md, section "manifest.csv").
std::string manifest_csv_header();
std::string manifest_csv_rows(const OrderedJson& volume);
// The same for a unit run: one row per unit (docs/output.md, section "Unit rows").
std::string manifest_unit_csv_header();
std::string manifest_unit_csv_rows(const OrderedJson& volume);
// What reads slices only (a slice's voxels from its source: lessmore.Run.source_voxels of
// a slice row) refuses a run made with --unit slab|patch: UsageError naming `where` and the unit.
void refuse_unit_run(const RunParameters& p, const std::string& where);
// OUT-relative path of unit `index` of a volume with `count` units (extension without the
// dot, "nii.gz" or "npy"): slices/<folders>/unit_<i>.<ext>, or with --flat
// slices/<folders joined>_unit_<i>.<ext>, the folders and index as slice_output_path's.
std::string unit_output_path(const std::string& id, std::size_t index, std::size_t count, const char* ext,
                             bool flat = false);
OrderedJson to_json(const std::vector<InputFailure>& errors);
// The run's summary as manifest.json and `--json` print it: the cross-volume counts only
// when the pass ran (RunSummary::across_volumes).
OrderedJson to_json(const RunSummary& s);

// The patient a volume belongs to, as --scope patient, the manifest and `split` key it:
// "patient:<digest>" when its DICOM files carry a PatientID, else "folder:" and the first
// `depth` levels of its id (a series suffix "#..." dropped), so "P1/CT#2" and "P1/PET" are
// both "folder:P1".
std::string patient_key(const VolumeInfo& info, int depth);
// [{"volume": id, "of": id, "fraction": f}].
OrderedJson duplicates_json(const std::vector<VolumeDuplicate>& duplicates);
// Skipped files: [{"path": ..., "reason": ...}].
OrderedJson skipped_json(const std::vector<InputFailure>& skipped);
// id, source, format, size, spacing, orientation and dtype of a volume (`info --json`).
OrderedJson volume_info_json(const VolumeInfo& info);

// Throw RecordFormatError naming the field at fault. A source record is validated
// (below) as it is read: no record that lessmore would not have written is ever used.
RunParameters run_parameters_from_json(const OrderedJson& j);
RunFile run_file_from_json(const OrderedJson& j);
SourceRecord source_record_from_json(const OrderedJson& j);

// The one validation of what a record (or a manifest) says, used wherever one is read back
// (--resume, merge, report, compare, the scope pass): records are never trusted to name
// other places (docs/output.md, section "OUT's own state"). Each throws RecordFormatError
// naming the volume, slice and field at fault.
//
// An id as lessmore makes them (io/volume_id.hpp): relative, '/'-separated components that
// are neither empty, "." nor "..", no control character or backslash.
void check_volume_id(const std::string& id, const char* field);
// A slice file's path: relative, under slices/, no empty, "." or ".." component, no
// control character or backslash.
void check_slice_path(const std::string& rel, const char* field);
// A volume: its id; slices numbered 0..n-1 in order; "kept" the number of kept slices; a
// removed slice's match a kept slice of the volume, a kept slice without one; outputs only
// for kept slices, each exactly the file lessmore names for that slice (slice_output_path).
void validate(const VolumeRecord& volume);
// A source: its id, its volumes (in id order, each once, each id the source's or below
// it) and each volume as above.
void validate(const SourceRecord& record);

// OUT-relative path of slice `index` of a volume of `count` slices (extension without the
// dot): slices/<folders>/<i>.<ext>, one folder per id component, or with `flat`
// slices/<folders joined by %2F>_<i>.<ext>; <i> zero-padded to the digits of count - 1;
// a folder's name is its id component with the series '#' as '@', '@' as %40 and ".d"
// after an image extension (docs/output.md, section "Slice file names"); a name longer
// than a file system allows is shortened with a digest.
std::string slice_output_path(const std::string& id, std::size_t index, std::size_t count, const char* ext, bool flat);

// The state of a merge, in OUT/.lessmore/merge.json (src/pipeline/merge.cpp; docs/output.md,
// section "Recovery of merge --move"): which shards (resolved paths, sorted), whether it
// moves, and how far it got.
enum class MergeState { Linking, Committed, Moved };
struct MergeJournal {
    std::vector<std::string> shards;
    bool move = false;
    MergeState state = MergeState::Linking;
};
OrderedJson to_json(const MergeJournal& j);
MergeJournal merge_journal_from_json(const OrderedJson& j);

// The first difference between two runs' identities (version, parameters, shard index and
// count), as "key: old vs new"; empty when they match.
std::string run_mismatch(const RunFile& previous, const RunFile& now);

// JSON as lessmore writes it: one-space indent, invalid UTF-8 in names replaced.
std::string dump_json(const OrderedJson& j);
// A text CSV field, quoted (RFC 4180) only where needed; text starting with = + - @ tab
// or CR is prefixed with an apostrophe so spreadsheets do not run it as a formula.
std::string csv_field(const std::string& s);
// {"tool": "lessmore", "version": ...}: how run.json and the manifests begin.
OrderedJson tool_stamp();

}  // namespace lessmore
