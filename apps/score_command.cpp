// lessmore score INPUT --method M -o FILE.npy|FILE.csv [--range A:B | --unit U] (options: src/pipeline/options.cpp)
#include "commands.hpp"

#include <lessmore/score.hpp>

#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

int run(const OptionValues& values, Context& ctx) {
    apply_verbosity(values, *ctx.log);
    const ScoreConfig c = score_config(values);
    StderrProgress progress(*ctx.log, progress_style("auto", ctx, quiet(values)), false);
    const ScoreResult r = score(c, progress, *ctx.cancel);
    progress.finish();
    std::printf("%s: %zu x %zu %s scores (%s %zu to %zu) written to %s in %.2f s\n", r.info.id.c_str(), r.matrix.n,
                r.matrix.n, c.metric.method.c_str(), r.units ? "units" : "slices", r.first, r.first + r.matrix.n - 1,
                c.output.c_str(), r.seconds);
    return 0;
}

}  // namespace

Runner add_score_command(CLI::App& app) {
    auto cli = std::make_shared<CliValues>(command_spec("score"));
    cli->declare(app);
    return [cli](Context& ctx) { return run(cli->values(), ctx); };
}

}  // namespace lessmore::cli
