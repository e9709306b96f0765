// lessmore report OUT
#include "commands.hpp"

#include <lessmore/report.hpp>

#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

struct ReportOptions {
    ReportConfig config;
    Verbosity verbosity;
};

int run(ReportOptions& o, Context& ctx) {
    o.verbosity.apply(*ctx.log);
    StderrProgress progress(*ctx.log, progress_style("auto", ctx, o.verbosity.quiet), false);
    const ReportResult r = write_report(o.config, progress, *ctx.cancel);
    progress.finish();
    std::printf("%s: %zu volumes%s%s\n", r.path.c_str(), r.volumes,
                r.pages ? (", " + std::to_string(r.pages) + " volume pages in report/").c_str() : "",
                r.unavailable ? (", " + std::to_string(r.unavailable) + " without pictures (source not readable)").c_str() : "");
    return 0;
}

}  // namespace

Runner add_report_command(CLI::App& app) {
    auto o = std::make_shared<ReportOptions>();
    CLI::App* cmd = app.add_subcommand("report", "Write OUT/report.html: contact sheets, similarity maps, histogram");
    cmd->add_option("OUT", o->config.output, "The output folder of a finished reduce or merge")->required();
    cmd->add_option("-j,--threads", o->config.threads, "Threads (0: one per core)")->default_val(0);
    cmd->add_option("--matrix-slices", o->config.matrix_slices, "Heat maps show at most this many slices")->default_val(160);
    cmd->add_option("--thumbnail", o->config.thumbnail, "Thumbnail size in pixels")->default_val(96);
    cmd->add_flag("-q,--quiet", o->verbosity.quiet, "Only errors on stderr");
    return [o](Context& ctx) { return run(*o, ctx); };
}

}  // namespace lessmore::cli
