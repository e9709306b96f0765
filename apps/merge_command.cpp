// lessmore merge SHARD_OUT... -o OUT
#include "commands.hpp"

#include <lessmore/manifest.hpp>
#include <lessmore/merge.hpp>

#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

int run(const OptionValues& values, Context& ctx) {
    apply_verbosity(values, *ctx.log);
    MergeConfig c = merge_config(values);
    c.command_line = ctx.argv;
    StderrProgress progress(*ctx.log, ProgressStyle::None, false);
    const ReduceResult result = merge(c, progress);
    return print_result(result, values.flag("json"), result.units ? "units" : "slices");
}

}  // namespace

Runner add_merge_command(CLI::App& app) {
    auto cli = std::make_shared<CliValues>(command_spec("merge"));
    cli->declare(app);
    return [cli](Context& ctx) { return run(cli->values(), ctx); };
}

}  // namespace lessmore::cli
