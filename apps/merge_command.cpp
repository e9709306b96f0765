// lessmore merge SHARD_OUT... -o OUT
#include "commands.hpp"

#include <lessmore/manifest.hpp>
#include <lessmore/merge.hpp>

#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

struct MergeOptions {
    MergeConfig config;
    bool json = false;
    Verbosity verbosity;
};

int run(MergeOptions& o, Context& ctx) {
    o.verbosity.apply(*ctx.log);
    o.config.command_line = ctx.argv;
    StderrProgress progress(*ctx.log, ProgressStyle::None, false);
    const ReduceResult result = merge(o.config, progress);
    return print_result(result, o.json);
}

}  // namespace

Runner add_merge_command(CLI::App& app) {
    auto o = std::make_shared<MergeOptions>();
    CLI::App* cmd = app.add_subcommand("merge", "Combine the outputs of a sharded run (--shard I/N) into one");
    cmd->add_option("SHARD_OUT", o->config.shards, "The output folders of all N shards")->required();
    cmd->add_option("-o,--output", o->config.output, "Output folder (must be empty unless --force)")->required();
    cmd->add_flag("--move", o->config.move, "Move the slice files instead of hard-linking (or copying) them");
    cmd->add_flag("--force", o->config.force, "Allow a non-empty output folder");
    cmd->add_option("-j,--threads", o->config.threads, "Threads for the cross-volume pass (0 = one per core)")->default_str("0");
    cmd->add_flag("--json", o->json, "Print the summary as JSON");
    cmd->add_flag("-q,--quiet", o->verbosity.quiet, "Only errors on stderr");
    return [o](Context& ctx) { return run(*o, ctx); };
}

}  // namespace lessmore::cli
