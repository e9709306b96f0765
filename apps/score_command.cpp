// lessmore score INPUT --method M -o FILE.npy|FILE.csv [--range A:B]
#include "commands.hpp"

#include <lessmore/score.hpp>

#include "option_parsers.hpp"

#include <cstdio>
#include <memory>
#include <tuple>

namespace lessmore::cli {
namespace {

struct ScoreOptions {
    ScoreConfig config;
    MetricCli metric;
    std::string range;
    Verbosity verbosity;
};

int run(ScoreOptions& o, Context& ctx) {
    o.verbosity.apply(*ctx.log);
    ScoreConfig& c = o.config;
    c.metric = o.metric.metric_options();
    c.threads = o.metric.threads;
    c.order = o.metric.slice_order();
    c.include_localizers = o.metric.include_localizers;
    c.intensity = parse_intensity(o.metric.intensity);
    if (!o.range.empty()) std::tie(c.first, c.last) = parse_range(o.range);
    StderrProgress progress(*ctx.log, progress_style("auto", ctx, o.verbosity.quiet), false);
    const ScoreResult r = score(c, progress, *ctx.cancel);
    progress.finish();
    std::printf("%s: %zu x %zu %s scores (slices %zu to %zu) written to %s in %.2f s\n", r.info.id.c_str(), r.matrix.n,
                r.matrix.n, c.metric.method.c_str(), r.first, r.first + r.matrix.n - 1, c.output.c_str(), r.seconds);
    return 0;
}

}  // namespace

Runner add_score_command(CLI::App& app) {
    auto o = std::make_shared<ScoreOptions>();
    CLI::App* cmd = app.add_subcommand("score", "Write the pairwise score matrix of one volume (.npy or .csv)");
    cmd->add_option("INPUT", o->config.input, "A volume file or folder")->required();
    cmd->add_option("-o,--output", o->config.output, "FILE.npy (float64) or FILE.csv")->required();
    add_metric_options(*cmd, o->metric, "hash (Hamming distances), ssim, mi or deepnet (cosines)");
    cmd->add_option("--range", o->range, "Slices A:B (from A up to but not including B, in slice order)");
    cmd->add_option("--volume", o->config.volume, "The volume id to score when INPUT holds several");
    cmd->add_flag("--force", o->config.force, "Replace an existing output file");
    cmd->add_flag("-q,--quiet", o->verbosity.quiet, "Only errors on stderr");
    cmd->add_flag("-v,--verbose", o->verbosity.verbose, "More detail on stderr");
    return [o](Context& ctx) { return run(*o, ctx); };
}

}  // namespace lessmore::cli
