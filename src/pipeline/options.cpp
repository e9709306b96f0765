// The option model's table (include/lessmore/options.hpp): each command's options in
// --help order, with the help text docs/usage.md quotes. Shared groups (what every command
// that reads volumes takes, what every metric takes) are declared once and added where
// they apply. Defaults shown come from the configs' own defaults, so the two cannot differ.
#include <lessmore/options.hpp>

#include <lessmore/error.hpp>
#include <lessmore/number_format.hpp>

#include <algorithm>

namespace lessmore {
namespace {

using Specs = std::vector<OptionSpec>;

OptionSpec option(std::string names, std::string key, ValueType type, std::string help, std::string default_text = {}) {
    OptionSpec s;
    s.names = std::move(names);
    s.key = std::move(key);
    s.type = type;
    s.help = std::move(help);
    s.default_text = std::move(default_text);
    return s;
}

OptionSpec flag(std::string names, std::string key, std::string help) {
    return option(std::move(names), std::move(key), ValueType::Flag, std::move(help));
}

OptionSpec choice(std::string names, std::string key, std::vector<std::string> choices, std::string help,
                  std::string default_text) {
    OptionSpec s =
        option(std::move(names), std::move(key), ValueType::Choice, std::move(help), std::move(default_text));
    s.choices = std::move(choices);
    return s;
}

OptionSpec positional(std::string name, std::string key, std::string help, int max_values) {
    OptionSpec s = option(std::move(name), std::move(key), ValueType::Text, std::move(help));
    s.positional = true;
    s.required = true;
    s.max_values = max_values;
    return s;
}

OptionSpec required(OptionSpec s) {
    s.required = true;
    return s;
}

OptionSpec list(OptionSpec s, int min_values, int max_values) {
    s.min_values = min_values;
    s.max_values = max_values;
    return s;
}

OptionSpec in_group(OptionSpec s, std::string group) {
    s.group = std::move(group);
    return s;
}

OptionSpec cli_only(OptionSpec s) {
    s.cli_only = true;
    return s;
}

void append(Specs& to, const Specs& from) { to.insert(to.end(), from.begin(), from.end()); }

std::string text_of(double v) { return format_number(v); }

// --method and its parameters, the intensity mapping, slice order, threads, localizers.
Specs metric_options(const std::string& methods) {
    const MetricOptions m;
    return {
        option("-m,--method", "method", ValueType::Text, methods, m.method),
        option("--hash-size", "hash_size", ValueType::Int, "hash: the hash has hash-size x hash-size bits",
               std::to_string(m.hash_size)),
        option("--bins", "bins", ValueType::Int, "mi: histogram bins per image", std::to_string(m.bins)),
        option("--resize", "resize", ValueType::Int, "ssim, mi: compute on slices resized to SxS (area interpolation)"),
        option("--intensity", "intensity", ValueType::Text,
               "minmax (per slice), window:C,W (HU window) or none (8-bit input)", IntensityMapping{}.to_string()),
        choice("--order", "order", {"position", "name"},
               "Slice order: position (along the slice normal) or name (byte-wise file names)", "position"),
        option("-j,--threads", "threads", ValueType::Int, "Threads (0: one per core)", "0"),
        flag("--include-localizers", "include_localizers",
             "Also read DICOM localizers (scouts, ImageType LOCALIZER), skipped by default")};
}

// DeepNet's model and the flags that override its sidecar.
Specs model_options() {
    const std::string g = "DeepNet";
    return {
        in_group(option("--model", "model", ValueType::Text,
                        "deepnet: an ONNX model (default: the bundled MobileNet v1 0.25); its preprocessing "
                        "comes from MODEL.json beside it and the flags below"),
                 g),
        in_group(option("--batch", "batch", ValueType::Int,
                        "deepnet: slices per forward pass (0: 4 for models up to 16 MB, else 1)",
                        std::to_string(ModelOptions{}.batch)),
                 g),
        in_group(list(option("--input-size", "input_size", ValueType::Int, "deepnet: model input W[,H]"), 1, 2), g),
        in_group(list(option("--mean", "mean", ValueType::Float,
                             "deepnet: value = (pixel * scale - mean) / std; 1 or 3 values (R,G,B)"),
                      1, 3),
                 g),
        in_group(list(option("--std", "std", ValueType::Float, "deepnet: 1 or 3 values (R,G,B)"), 1, 3), g),
        in_group(option("--scale", "scale", ValueType::Float,
                        "deepnet: pixel multiplier (e.g. 1/255 = 0.00392156862745098)"),
                 g),
        in_group(option("--channel-order", "channel_order", ValueType::Text, "deepnet: RGB or BGR"), g),
        in_group(option("--layout", "layout", ValueType::Text, "deepnet: NCHW or NHWC"), g),
        in_group(option("--layer", "layer", ValueType::Text, "deepnet: output layer or graph output to embed with"), g),
        in_group(flag("--pool", "pool", "deepnet: global-average-pool a 4-D output"), g),
        in_group(
            option("--channels", "channels", ValueType::Int, "deepnet: input channels, 1 or 3 (default: the graph's)"),
            g),
        in_group(choice("--values", "values", {"8bit", "hu"},
                        "deepnet: the model takes the 8-bit image (8bit) or the slice's values, e.g. HU (hu)", "8bit"),
                 g),
        in_group(
            list(option("--window", "window", ValueType::Float, "deepnet, values hu: clip to LOW,HIGH first"), 2, 2),
            g),
        in_group(option("--features", "features", ValueType::Text,
                        "deepnet: per-slice embeddings computed elsewhere, DIR/index.csv + one .npy per volume "
                        "(docs/models.md); no model runs"),
                 g)};
}

Specs verbosity(const std::string& verbose_help) {
    return {cli_only(flag("-q,--quiet", "quiet", "Only errors on stderr")),
            cli_only(option("-v,--verbose", "verbose", ValueType::Count, verbose_help))};
}

CommandSpec reduce_spec() {
    const ReduceConfig d;
    CommandSpec c{"reduce", "Remove near-duplicate slices; write the kept slices and a manifest", {}};
    c.options = {
        positional("INPUT", "inputs", "Volume files, DICOM series folders or dataset folders (scanned recursively)",
                   -1),
        required(option("-o,--output", "output", ValueType::Text, "Output folder (must be empty unless --force)"))};
    append(c.options, metric_options("everyn, hash, ssim, mi or deepnet"));
    append(
        c.options,
        {option("-t,--threshold", "threshold", ValueType::Float,
                "Similarity threshold (hash: Hamming distance, similar iff <= T; ssim, mi, deepnet: similar iff "
                "score >= T)"),
         option("-f,--fraction", "fraction", ValueType::Float, "Keep this fraction of each volume (0 < F <= 1)"),
         option("--every", "every", ValueType::Int, "everyn: keep every N-th slice"),
         choice("--strategy", "strategy", {"auto", "leader", "pairs"},
                "auto (leader with --threshold, pairs with --fraction), leader or pairs", strategy_name(d.strategy)),
         option("--neighbours", "neighbours", ValueType::Uint,
                "Compare only slices at most K apart in slice order (faster, approximate)"),
         choice("--scope", "scope", {"volume", "patient", "dataset"},
                "Near-duplicates within each volume (volume), or also across the volumes of a patient or the "
                "whole dataset (hash, deepnet)",
                scope_name(d.scope)),
         option("--scope-threshold", "scope_threshold", ValueType::Float,
                "The cross-volume pass's threshold (default: --threshold; needed with --fraction)"),
         option("--patient-depth", "patient_depth", ValueType::Int,
                "Volumes without a DICOM PatientID: the patient (manifest, --scope patient) is this many folder levels "
                "of the volume id",
                std::to_string(d.patient_depth)),
         option("--duplicate-fraction", "duplicate_fraction", ValueType::Float,
                "List a volume as a duplicate when this fraction of its kept slices matched one other volume",
                text_of(d.duplicate_fraction)),
         option("--unit", "unit", ValueType::Text,
                "What is selected: slice, slab:K[:S] (K slices every S), slab:Nmm[:S] or patch:Z,Y,X[:SZ,SY,SX] "
                "(voxels; docs/methods.md, section '3-D units')",
                d.unit.to_string()),
         choice("--format", "format", {"png", "npy", "both", "none", "nifti"},
                "Kept slices as png, npy, both or none; kept units (--unit slab or patch) as nifti (.nii.gz, the "
                "default there), npy, both (nifti and npy) or none",
                format_name(d.format)),
         option("--export-values", "export_values", ValueType::Text,
                "What the written slices hold (decisions never depend on it): intensity (PNG: the 8-bit image "
                "--intensity gives the decision; NPY: the values as read), minmax (PNG per slice), window:C,W "
                "(PNG 8-bit, NPY float32 0..1) or hu (PNG 16-bit: value - png_offset; NPY as read)",
                d.export_values.to_string()),
         flag("--flat", "flat",
              "All kept slices in one folder: slices/<id with / as %2F>_<index>.png (docs/output.md)"),
         flag("--force", "force", "Allow a non-empty output folder (its previous manifest and slices are replaced)"),
         flag("--resume", "resume",
              "Continue an interrupted run in OUT (same parameters): finished volumes are skipped"),
         option("--shard", "shard", ValueType::Text,
                "I/N: process the I-th of N deterministic parts of the volumes (then lessmore merge)"),
         option("--max-memory", "max_memory", ValueType::Text, "Cap the raw voxels of the volumes in flight, e.g. 8G"),
         cli_only(choice("--progress", "progress", {"auto", "bar", "jsonl", "none"},
                         "stderr progress: auto (a status line on a terminal), bar, jsonl or none", "auto")),
         cli_only(flag("--json", "json", "Print the summary as JSON")),
         flag("--report", "report", "Also write OUT/report.html (as lessmore report OUT)"),
         option("--save-features", "save_features", ValueType::Text,
                "Write each slice's features as float32 to DIR (deepnet: embeddings; hash: bits), the layout "
                "--features reads")});
    append(c.options, verbosity("One line per volume (-vv: debug)"));
    append(c.options, model_options());
    return c;
}

CommandSpec info_spec() {
    CommandSpec c{"info", "List the volumes the inputs hold (headers only)", {}};
    c.options = {
        positional("INPUT", "inputs", "Volume files, DICOM series folders or dataset folders", -1),
        choice("--order", "order", {"position", "name"}, "Slice order: position or name", "position"),
        option("-j,--threads", "threads", ValueType::Int, "Threads (0: one per core)", "0"),
        flag("--include-localizers", "include_localizers", "Also list DICOM localizers (scouts), skipped by default"),
        cli_only(flag("--json", "json", "Print JSON"))};
    append(c.options, verbosity("More detail on stderr"));
    return c;
}

CommandSpec score_spec() {
    CommandSpec c{"score", "Write the pairwise score matrix of one volume (.npy or .csv)", {}};
    c.options = {positional("INPUT", "input", "A volume file or folder", 1),
                 required(option("-o,--output", "output", ValueType::Text, "FILE.npy (float64) or FILE.csv"))};
    append(c.options, metric_options("hash (Hamming distances), ssim, mi or deepnet (cosines)"));
    append(c.options, {option("--range", "range", ValueType::Text,
                              "Slices A:B (from A up to but not including B, in slice order)"),
                       option("--unit", "unit", ValueType::Text,
                              "Score units instead of slices: slab:K[:S], slab:Nmm[:S] or patch:Z,Y,X[:SZ,SY,SX] (as "
                              "reduce --unit; the matrix is over the volume's units in grid order)",
                              "slice"),
                       option("--volume", "volume", ValueType::Text, "The volume id to score when INPUT holds several"),
                       flag("--force", "force", "Replace an existing output file")});
    append(c.options, verbosity("More detail on stderr"));
    append(c.options, model_options());
    return c;
}

CommandSpec merge_spec() {
    CommandSpec c{"merge", "Combine the outputs of a sharded run (--shard I/N) into one", {}};
    c.options = {
        positional("SHARD_OUT", "shards", "The output folders of all N shards", -1),
        required(option("-o,--output", "output", ValueType::Text, "Output folder (must be empty unless --force)")),
        flag("--move", "move", "Move the slice files instead of hard-linking (or copying) them"),
        flag("--force", "force", "Allow a non-empty output folder"),
        option("-j,--threads", "threads", ValueType::Int, "Threads for the cross-volume pass (0 = one per core)", "0"),
        cli_only(flag("--json", "json", "Print the summary as JSON")),
        cli_only(flag("-q,--quiet", "quiet", "Only errors on stderr"))};
    return c;
}

CommandSpec sweep_spec() {
    CommandSpec c{"sweep", "Slices kept for every threshold, per volume and overall", {}};
    c.options = {positional("INPUT", "inputs", "Volume files, DICOM series folders or dataset folders", -1)};
    append(c.options, metric_options("hash, ssim, mi, deepnet or everyn (thresholds are then N)"));
    append(c.options,
           {option("--thresholds", "thresholds", ValueType::Text,
                   "LIST (6,8,10) or A:B:STEP (0:12:1); default: every Hamming distance for hash, a range otherwise"),
            choice("--strategy", "strategy", {"leader", "pairs"}, "leader or pairs", "leader"),
            option("--neighbours", "neighbours", ValueType::Uint, "Compare only slices at most K apart"),
            option("--unit", "unit", ValueType::Text,
                   "Count kept units instead of slices: slab:K[:S], slab:Nmm[:S] or patch:Z,Y,X[:SZ,SY,SX] (as "
                   "reduce --unit; one unit reduction per threshold)",
                   "slice"),
            cli_only(option("--csv", "csv", ValueType::Text,
                            "Write threshold,volume,slices,kept,fraction rows to FILE (- for stdout)")),
            cli_only(flag("--json", "json", "Print JSON on stdout instead of the table")),
            cli_only(option("--plot", "plot", ValueType::Text, "Draw kept fraction against threshold into FILE.png")),
            option("--max-memory", "max_memory", ValueType::Text,
                   "Cap the raw voxels of the volumes in flight, e.g. 8G")});
    append(c.options, verbosity("More detail on stderr"));
    append(c.options, model_options());
    return c;
}

CommandSpec report_spec() {
    const ReportConfig d;
    CommandSpec c{"report", "Write OUT/report.html: contact sheets, similarity maps, histogram", {}};
    c.options = {
        positional("OUT", "output", "The output folder of a finished reduce or merge", 1),
        option("-j,--threads", "threads", ValueType::Int, "Threads (0: one per core)", "0"),
        option("--matrix-slices", "matrix_slices", ValueType::Uint, "Heat maps show at most this many slices",
               std::to_string(d.matrix_slices)),
        option("--thumbnail", "thumbnail", ValueType::Int, "Thumbnail size in pixels", std::to_string(d.thumbnail)),
        cli_only(flag("-q,--quiet", "quiet", "Only errors on stderr"))};
    return c;
}

CommandSpec compare_spec() {
    CommandSpec c{
        "compare", "Compare the kept slices of two finished runs (exit 0: same decisions, 1: different, 2: usage)", {}};
    c.options = {positional("RUN_A", "a", "Output folder of the first run", 1),
                 positional("RUN_B", "b", "Output folder of the second run", 1),
                 option("--max-changed", "max_changed", ValueType::Float,
                        "Exit 0 when at most this fraction of the slices is decided differently"),
                 cli_only(flag("--json", "json", "Print the comparison as JSON"))};
    return c;
}

CommandSpec split_spec() {
    const SplitConfig d;
    CommandSpec c{
        "split", "Deal a run's kept slices to training, validation and test with no similar slices across them", {}};
    c.options = {
        positional("RUN", "run", "The output folder of a finished reduce or merge", 1),
        required(option("-o,--output", "output", ValueType::Text,
                        "SPLITS.json: the datalist (MONAI style); SPLITS.csv is written beside it")),
        required(
            list(option("--fractions", "fractions", ValueType::Float,
                        "Training,validation[,test] fractions of the kept slices, summing to 1 (e.g. 0.8,0.1,0.1)"),
                 2, 3)),
        choice("--by", "by", {"patient", "study", "series", "volume"},
               "The unit kept whole: patient (as --scope patient groups them), DICOM study or series, or volume",
               split_unit_name(d.by)),
        option("--seed", "seed", ValueType::Uint, "Seed of the order groups of similar size are dealt in",
               std::to_string(d.seed)),
        option("-t,--threshold", "threshold", ValueType::Float,
               "Slices this similar tie their units together (the run's metric; default: the run's --scope-threshold, "
               "else --threshold)"),
        option("--floor", "floor", ValueType::Text,
               "Slices this similar to an empty slice tie nothing and are left out (default: --threshold; none: every "
               "slice ties)"),
        flag("--force", "force", "Replace existing output files"),
        option("-j,--threads", "threads", ValueType::Int, "Threads (0: one per core)", "0")};
    return c;
}

}  // namespace

std::string OptionSpec::display_name() const {
    if (positional) return names;
    const auto comma = names.rfind(',');
    return comma == std::string::npos ? names : names.substr(comma + 1);
}

const OptionSpec* CommandSpec::find(const std::string& key) const {
    const auto it = std::find_if(options.begin(), options.end(), [&](const OptionSpec& s) { return s.key == key; });
    return it == options.end() ? nullptr : &*it;
}

const std::vector<CommandSpec>& command_specs() {
    static const std::vector<CommandSpec> specs = {reduce_spec(), info_spec(),   score_spec(),   merge_spec(),
                                                   sweep_spec(),  report_spec(), compare_spec(), split_spec()};
    return specs;
}

const CommandSpec& command_spec(const std::string& name) {
    for (const CommandSpec& c : command_specs())
        if (c.name == name) return c;
    throw UsageError("unknown command '" + name + "'");
}

}  // namespace lessmore
