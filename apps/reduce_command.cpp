// lessmore reduce INPUT... -o OUT (options: the option model, src/pipeline/options.cpp)
#include "commands.hpp"

#include <lessmore/manifest.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/report.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace lessmore::cli {

void print_table(const ReduceResult& r, const char* counted) {
    std::size_t width = 6;
    for (const VolumeSummary& v : r.volumes) width = std::max(width, v.id.size());
    std::printf("%-*s %8s %8s %9s\n", static_cast<int>(width), "volume", counted, "kept", "fraction");
    for (const VolumeSummary& v : r.volumes) {
        std::printf("%-*s %8zu %8zu %9s\n", static_cast<int>(width), v.id.c_str(), v.slices, v.kept,
                    percent(v.kept, v.slices).c_str());
    }
    const std::string total = "total (" + std::to_string(r.summary.volumes) + " volumes)";
    std::printf("%-*s %8zu %8zu %9s\n", static_cast<int>(width), total.c_str(), r.summary.slices, r.summary.kept,
                percent(r.summary.kept, r.summary.slices).c_str());
    if (r.summary.removed_across > 0 || !r.duplicates.empty()) {
        std::printf("removed across volumes: %zu; duplicate volumes: %zu\n", r.summary.removed_across,
                    r.duplicates.size());
        for (const VolumeDuplicate& d : r.duplicates)
            std::printf("  %s duplicates %s (%s of its kept %s)\n", d.volume.c_str(), d.of.c_str(),
                        percent(static_cast<std::size_t>(d.fraction * 1000 + 0.5), 1000).c_str(), counted);
    }
    if (r.summary.failed > 0) std::printf("failed: %zu (see errors in manifest.json)\n", r.summary.failed);
}

int print_result(const ReduceResult& result, bool json, const char* counted) {
    if (json) {
        std::fputs(summary_json(result).c_str(), stdout);
    } else {
        print_table(result, counted);
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

int run(const OptionValues& values, Context& ctx) {
    apply_verbosity(values, *ctx.log);
    ReduceConfig c = reduce_config(values);
    c.command_line = ctx.argv;
    StderrProgress progress(*ctx.log, progress_style(values.choice("progress").value_or("auto"), ctx, quiet(values)),
                            values.count("verbose") > 0);
    const ReduceResult result = reduce(c, progress, *ctx.cancel);
    progress.finish();
    if (values.flag("report")) {
        ReportConfig rc;
        rc.output = c.output;
        rc.threads = c.threads;
        const ReportResult rr = write_report(rc, progress, *ctx.cancel);
        ctx.log->info("report: {}", rr.path);
    }
    return print_result(result, values.flag("json"), result.units ? "units" : "slices");
}

}  // namespace

Runner add_reduce_command(CLI::App& app) {
    auto cli = std::make_shared<CliValues>(command_spec("reduce"));
    cli->declare(app);
    return [cli](Context& ctx) { return run(cli->values(), ctx); };
}

}  // namespace lessmore::cli
