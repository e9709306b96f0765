// lessmore reduce INPUT... -o OUT
#include "commands.hpp"

#include <lessmore/manifest.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/report.hpp>

#include "option_parsers.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

struct ReduceOptions {
    ReduceConfig config;
    MetricCli metric;
    double threshold = 0;
    double fraction = 0;
    int every = 0;
    std::size_t neighbours = 0;
    std::string strategy = "auto";
    std::string scope = "volume";
    double scope_threshold = 0;
    CLI::Option* scope_threshold_opt = nullptr;
    std::string format = "png";
    std::string shard;
    std::string max_memory;
    std::string progress = "auto";
    bool report = false;
    bool json = false;
    Verbosity verbosity;
    CLI::Option* threshold_opt = nullptr;
    CLI::Option* fraction_opt = nullptr;
    CLI::Option* every_opt = nullptr;
    CLI::Option* neighbours_opt = nullptr;
};

}  // namespace

void print_table(const ReduceResult& r) {
    std::size_t width = 6;
    for (const VolumeSummary& v : r.volumes) width = std::max(width, v.id.size());
    std::printf("%-*s %8s %8s %9s\n", static_cast<int>(width), "volume", "slices", "kept", "fraction");
    for (const VolumeSummary& v : r.volumes) {
        std::printf("%-*s %8zu %8zu %9s\n", static_cast<int>(width), v.id.c_str(), v.slices, v.kept,
                    percent(v.kept, v.slices).c_str());
    }
    const std::string total = "total (" + std::to_string(r.summary.volumes) + " volumes)";
    std::printf("%-*s %8zu %8zu %9s\n", static_cast<int>(width), total.c_str(), r.summary.slices, r.summary.kept,
                percent(r.summary.kept, r.summary.slices).c_str());
    if (r.summary.removed_across > 0 || !r.duplicates.empty()) {
        std::printf("removed across volumes: %zu; duplicate volumes: %zu\n", r.summary.removed_across, r.duplicates.size());
        for (const VolumeDuplicate& d : r.duplicates)
            std::printf("  %s duplicates %s (%s of its kept slices)\n", d.volume.c_str(), d.of.c_str(),
                        percent(static_cast<std::size_t>(d.fraction * 1000 + 0.5), 1000).c_str());
    }
    if (r.summary.failed > 0) std::printf("failed: %zu (see errors in manifest.json)\n", r.summary.failed);
}

int print_result(const ReduceResult& result, bool json) {
    if (json) {
        std::fputs(summary_json(result).c_str(), stdout);
    } else {
        print_table(result);
    }
    return result.errors.empty() ? 0 : 1;  // 1: some inputs failed (the rest is written)
}

ProgressStyle progress_style(const std::string& name, const Context& ctx, bool quiet) {
    if (name == "jsonl") return ProgressStyle::Jsonl;
    if (name == "none" || quiet) return ProgressStyle::None;
    if (name == "bar") return ProgressStyle::Bar;
    return ctx.stderr_is_tty ? ProgressStyle::Bar : ProgressStyle::None;
}

namespace {

int run(ReduceOptions& o, Context& ctx) {
    o.verbosity.apply(*ctx.log);
    ReduceConfig& c = o.config;
    if (o.threshold_opt->count()) c.threshold = o.threshold;
    if (o.fraction_opt->count()) c.fraction = o.fraction;
    if (o.every_opt->count()) c.every = o.every;
    if (o.neighbours_opt->count()) c.neighbours = o.neighbours;
    c.metric = o.metric.metric_options();
    c.threads = o.metric.threads;
    c.strategy = o.strategy == "leader" ? Strategy::Leader : o.strategy == "pairs" ? Strategy::Pairs : Strategy::Auto;
    c.scope = o.scope == "patient" ? Scope::Patient : o.scope == "dataset" ? Scope::Dataset : Scope::Volume;
    if (o.scope_threshold_opt->count()) c.scope_threshold = o.scope_threshold;
    c.order = o.metric.slice_order();
    c.include_localizers = o.metric.include_localizers;
    c.intensity = parse_intensity(o.metric.intensity);
    c.format = o.format == "npy" ? OutputFormat::Npy
               : o.format == "both" ? OutputFormat::Both
               : o.format == "none" ? OutputFormat::None
                                    : OutputFormat::Png;
    if (!o.shard.empty()) c.shard = parse_shard(o.shard);
    if (!o.max_memory.empty()) c.max_memory = parse_memory(o.max_memory);
    c.command_line = ctx.argv;
    StderrProgress progress(*ctx.log, progress_style(o.progress, ctx, o.verbosity.quiet), o.verbosity.verbose > 0);
    const ReduceResult result = reduce(c, progress, *ctx.cancel);
    progress.finish();
    if (o.report) {
        ReportConfig rc;
        rc.output = c.output;
        rc.threads = c.threads;
        const ReportResult rr = write_report(rc, progress, *ctx.cancel);
        ctx.log->info("report: {}", rr.path);
    }
    return print_result(result, o.json);
}

}  // namespace

Runner add_reduce_command(CLI::App& app) {
    auto o = std::make_shared<ReduceOptions>();
    CLI::App* cmd = app.add_subcommand("reduce", "Remove near-duplicate slices; write the kept slices and a manifest");
    cmd->add_option("INPUT", o->config.inputs, "Volume files, DICOM series folders or dataset folders (scanned recursively)")
        ->required();
    cmd->add_option("-o,--output", o->config.output, "Output folder (must be empty unless --force)")->required();
    add_metric_options(*cmd, o->metric, "everyn, hash, ssim, mi or deepnet");
    o->threshold_opt = cmd->add_option("-t,--threshold", o->threshold,
                                       "Similarity threshold (hash: Hamming distance, similar iff <= T; ssim, mi, "
                                       "deepnet: similar iff score >= T)");
    o->fraction_opt = cmd->add_option("-f,--fraction", o->fraction, "Keep this fraction of each volume (0 < F <= 1)");
    o->every_opt = cmd->add_option("--every", o->every, "everyn: keep every N-th slice");
    cmd->add_option("--strategy", o->strategy, "auto (leader with --threshold, pairs with --fraction), leader or pairs")
        ->check(CLI::IsMember({"auto", "leader", "pairs"}))
        ->default_str("auto");
    o->neighbours_opt = cmd->add_option("--neighbours", o->neighbours,
                                        "Compare only slices at most K apart in slice order (faster, approximate)");
    cmd->add_option("--scope", o->scope,
                    "Near-duplicates within each volume (volume), or also across the volumes of a patient or the "
                    "whole dataset (hash, deepnet)")
        ->check(CLI::IsMember({"volume", "patient", "dataset"}))
        ->default_str("volume");
    o->scope_threshold_opt = cmd->add_option("--scope-threshold", o->scope_threshold,
                                             "The cross-volume pass's threshold (default: --threshold; needed with --fraction)");
    cmd->add_option("--patient-depth", o->config.patient_depth,
                    "--scope patient without a DICOM PatientID: group by this many folder levels of the volume id")
        ->default_str("1");
    cmd->add_option("--duplicate-fraction", o->config.duplicate_fraction,
                    "List a volume as a duplicate when this fraction of its kept slices matched one other volume")
        ->default_str("0.9");
    cmd->add_option("--format", o->format, "Kept slices as png, npy, both or none")
        ->check(CLI::IsMember({"png", "npy", "both", "none"}))
        ->default_str("png");
    cmd->add_flag("--flat", o->config.flat, "All kept slices in one folder: slices/<id with / as +>_<index>.png");
    cmd->add_flag("--force", o->config.force, "Allow a non-empty output folder (its previous manifest and slices are replaced)");
    cmd->add_flag("--resume", o->config.resume,
                  "Continue an interrupted run in OUT (same parameters): finished volumes are skipped");
    cmd->add_option("--shard", o->shard, "I/N: process the I-th of N deterministic parts of the volumes (then lessmore merge)");
    cmd->add_option("--max-memory", o->max_memory, "Cap the raw voxels of the volumes in flight, e.g. 8G");
    cmd->add_option("--progress", o->progress, "stderr progress: auto (a status line on a terminal), bar, jsonl or none")
        ->check(CLI::IsMember({"auto", "bar", "jsonl", "none"}))
        ->default_str("auto");
    cmd->add_flag("--json", o->json, "Print the summary as JSON");
    cmd->add_flag("--report", o->report, "Also write OUT/report.html (as lessmore report OUT)");
    cmd->add_flag("-q,--quiet", o->verbosity.quiet, "Only errors on stderr");
    cmd->add_flag("-v,--verbose", o->verbosity.verbose, "One line per volume (-vv: debug)");
    return [o](Context& ctx) { return run(*o, ctx); };
}

}  // namespace lessmore::cli
