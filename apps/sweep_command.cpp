// lessmore sweep INPUT... --method M [--thresholds LIST|A:B:STEP]
#include "commands.hpp"

#include <lessmore/error.hpp>
#include <lessmore/sweep.hpp>
#include <lessmore/files.hpp>
#include <lessmore/number_format.hpp>

#include "option_parsers.hpp"

#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

struct SweepOptions {
    SweepConfig config;
    MetricCli metric;
    std::string thresholds;
    std::string strategy = "leader";
    std::size_t neighbours = 0;
    CLI::Option* neighbours_opt = nullptr;
    std::string csv, plot;
    std::string max_memory;
    bool json = false;
    Verbosity verbosity;
};

void write_to(const std::string& path, const std::string& bytes, const char* option) {
    try {
        write_file_atomic(path, bytes);
    } catch (const Error& e) {
        throw Error(std::string(option) + " " + e.what());
    }
}

int run(SweepOptions& o, Context& ctx) {
    o.verbosity.apply(*ctx.log);
    SweepConfig& c = o.config;
    c.metric = o.metric.metric_options();
    c.threads = o.metric.threads;
    c.order = o.metric.slice_order();
    c.include_localizers = o.metric.include_localizers;
    c.intensity = parse_intensity(o.metric.intensity);
    c.strategy = o.strategy == "pairs" ? Strategy::Pairs : Strategy::Leader;
    if (o.neighbours_opt->count()) c.neighbours = o.neighbours;
    if (!o.thresholds.empty()) c.thresholds = parse_thresholds(o.thresholds);
    if (!o.max_memory.empty()) c.max_memory = parse_memory(o.max_memory);
    if (!o.plot.empty() && o.plot.size() < 5) throw UsageError("--plot: give a file name ending in .png");
    StderrProgress progress(*ctx.log, progress_style("auto", ctx, o.verbosity.quiet), o.verbosity.verbose > 0);
    const SweepResult r = sweep(c, progress, *ctx.cancel);
    progress.finish();
    if (r.slices.empty()) throw InputError("no volume could be read");
    if (!o.plot.empty()) write_to(o.plot, sweep_plot_png(r), "--plot");
    if (o.csv == "-") {
        std::fputs(sweep_csv(r).c_str(), stdout);
    } else if (!o.csv.empty()) {
        write_to(o.csv, sweep_csv(r), "--csv");
    }
    if (o.json) {
        std::fputs(sweep_json(r).c_str(), stdout);
    } else if (o.csv != "-") {
        std::printf("%10s %10s %10s %9s\n", "threshold", "kept", "slices", "fraction");
        for (const SweepRow& row : r.rows) {
            std::printf("%10s %10zu %10zu %9s\n", format_number(row.threshold).c_str(), row.kept, row.slices,
                        percent(row.kept, row.slices).c_str());
        }
        std::printf("(%zu volumes, %s, %s)\n", r.slices.size(), r.method.c_str(), r.strategy.c_str());
    }
    return r.errors.empty() ? 0 : 1;
}

}  // namespace

Runner add_sweep_command(CLI::App& app) {
    auto o = std::make_shared<SweepOptions>();
    CLI::App* cmd = app.add_subcommand("sweep", "Slices kept for every threshold, per volume and overall");
    cmd->add_option("INPUT", o->config.inputs, "Volume files, DICOM series folders or dataset folders")->required();
    add_metric_options(*cmd, o->metric, "hash, ssim, mi, deepnet or everyn (thresholds are then N)");
    cmd->add_option("--thresholds", o->thresholds,
                    "LIST (6,8,10) or A:B:STEP (0:12:1); default: every Hamming distance for hash, a range otherwise");
    cmd->add_option("--strategy", o->strategy, "leader or pairs")->check(CLI::IsMember({"leader", "pairs"}))->default_str("leader");
    o->neighbours_opt = cmd->add_option("--neighbours", o->neighbours, "Compare only slices at most K apart");
    cmd->add_option("--csv", o->csv, "Write threshold,volume,slices,kept,fraction rows to FILE (- for stdout)");
    cmd->add_flag("--json", o->json, "Print JSON on stdout instead of the table");
    cmd->add_option("--plot", o->plot, "Draw kept fraction against threshold into FILE.png");
    cmd->add_option("--max-memory", o->max_memory, "Cap the raw voxels of the volumes in flight, e.g. 8G");
    cmd->add_flag("-q,--quiet", o->verbosity.quiet, "Only errors on stderr");
    cmd->add_flag("-v,--verbose", o->verbosity.verbose, "More detail on stderr");
    return [o](Context& ctx) { return run(*o, ctx); };
}

}  // namespace lessmore::cli
