// lessmore report OUT
#include "commands.hpp"

#include <lessmore/report.hpp>

#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

int run(const OptionValues& values, Context& ctx) {
    apply_verbosity(values, *ctx.log);
    StderrProgress progress(*ctx.log, progress_style("auto", ctx, quiet(values)), false);
    const ReportResult r = write_report(report_config(values), progress, *ctx.cancel);
    progress.finish();
    std::printf("%s: %zu volumes%s%s\n", r.path.c_str(), r.volumes,
                r.pages ? (", " + std::to_string(r.pages) + " volume pages in report/").c_str() : "",
                r.unavailable
                    ? (", " + std::to_string(r.unavailable) + " without pictures (source not readable)").c_str()
                    : "");
    return 0;
}

}  // namespace

Runner add_report_command(CLI::App& app) {
    auto cli = std::make_shared<CliValues>(command_spec("report"));
    cli->declare(app);
    return [cli](Context& ctx) { return run(cli->values(), ctx); };
}

}  // namespace lessmore::cli
