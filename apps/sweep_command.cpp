// lessmore sweep INPUT... --method M [--thresholds LIST|A:B:STEP]
#include "commands.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/sweep.hpp>

#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

void write_to(const std::string& path, const std::string& bytes, const char* option) {
    try {
        write_file_atomic(path, bytes);
    } catch (const Error& e) {
        throw Error(std::string(option) + " " + e.what());
    }
}

int run(const OptionValues& values, Context& ctx) {
    apply_verbosity(values, *ctx.log);
    const SweepConfig c = sweep_config(values);
    const std::string plot = values.text("plot").value_or("");
    const std::string csv = values.text("csv").value_or("");
    if (!plot.empty() && plot.size() < 5) throw UsageError("--plot: give a file name ending in .png");
    StderrProgress progress(*ctx.log, progress_style("auto", ctx, quiet(values)), values.count("verbose") > 0);
    const SweepResult r = sweep(c, progress, *ctx.cancel);
    progress.finish();
    if (r.slices.empty() && !r.skipped.empty())
        throw InputError("no volume holds a whole unit: " + r.skipped[0].message);
    if (r.slices.empty()) throw InputError("no volume could be read");
    if (!plot.empty()) write_to(plot, sweep_plot_png(r), "--plot");
    if (csv == "-") {
        std::fputs(sweep_csv(r).c_str(), stdout);
    } else if (!csv.empty()) {
        write_to(csv, sweep_csv(r), "--csv");
    }
    if (values.flag("json")) {
        std::fputs(sweep_json(r).c_str(), stdout);
    } else if (csv != "-") {
        const bool units = r.unit != "slice";
        std::printf("%10s %10s %10s %9s\n", "threshold", "kept", units ? "units" : "slices", "fraction");
        for (const SweepRow& row : r.rows) {
            std::printf("%10s %10zu %10zu %9s\n", format_number(row.threshold).c_str(), row.kept, row.slices,
                        percent(row.kept, row.slices).c_str());
        }
        std::printf("(%zu volumes, %s, %s%s)\n", r.slices.size(), r.method.c_str(), r.strategy.c_str(),
                    units ? (", --unit " + r.unit).c_str() : "");
        for (const InputFailure& s : r.skipped) std::printf("skipped: %s\n", s.message.c_str());
    }
    return r.errors.empty() ? 0 : 1;
}

}  // namespace

Runner add_sweep_command(CLI::App& app) {
    auto cli = std::make_shared<CliValues>(command_spec("sweep"));
    cli->declare(app);
    return [cli](Context& ctx) { return run(cli->values(), ctx); };
}

}  // namespace lessmore::cli
