// lessmore info INPUT...
#include "commands.hpp"

#include <lessmore/manifest.hpp>
#include <lessmore/info.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

struct InfoOptions {
    std::vector<std::string> inputs;
    std::string order = "position";
    bool include_localizers = false;
    int threads = 0;
    bool json = false;
    Verbosity verbosity;
};

int run(InfoOptions& o, Context& ctx) {
    o.verbosity.apply(*ctx.log);
    StderrProgress progress(*ctx.log, ProgressStyle::None, false);
    InfoConfig config;
    config.inputs = o.inputs;
    config.order = slice_order_of(o.order);
    config.include_localizers = o.include_localizers;
    config.threads = o.threads;
    const InfoResult r = inspect(config, progress, *ctx.cancel);
    if (o.json) {
        std::fputs(volumes_json(r).c_str(), stdout);
    } else {
        std::size_t width = 6;
        for (const VolumeInfo& v : r.volumes) width = std::max(width, v.id.size());
        std::printf("%-*s %-9s %-7s %-15s %s\n", static_cast<int>(width), "volume", "format", "dtype", "size", "spacing (mm)");
        for (const VolumeInfo& v : r.volumes) {
            const std::string size = std::to_string(v.width) + "x" + std::to_string(v.height) + "x" +
                                     std::to_string(v.slice_count());
            std::printf("%-*s %-9s %-7s %-15s %.4g x %.4g x %.4g\n", static_cast<int>(width), v.id.c_str(),
                        v.format.c_str(), voxel_type_name(v.type), size.c_str(), v.spacing[0], v.spacing[1], v.spacing[2]);
        }
    }
    for (const auto& [id, others] : shared_series(r)) {
        std::string list;
        for (const std::string& other : others) list += (list.empty() ? "" : ", ") + other;
        ctx.log->warn("{}: shares its SeriesInstanceUID with {} (copies of one series?)", id, list);
    }
    return r.errors.empty() ? 0 : 1;
}

}  // namespace

Runner add_info_command(CLI::App& app) {
    auto o = std::make_shared<InfoOptions>();
    CLI::App* cmd = app.add_subcommand("info", "List the volumes the inputs hold (headers only)");
    cmd->add_option("INPUT", o->inputs, "Volume files, DICOM series folders or dataset folders")->required();
    cmd->add_option("--order", o->order, "Slice order: position or name")
        ->check(CLI::IsMember({"position", "name"}))
        ->default_str("position");
    cmd->add_option("-j,--threads", o->threads, "Threads (0: one per core)")->default_val(0);
    cmd->add_flag("--include-localizers", o->include_localizers, "Also list DICOM localizers (scouts), skipped by default");
    cmd->add_flag("--json", o->json, "Print JSON");
    cmd->add_flag("-q,--quiet", o->verbosity.quiet, "Only errors on stderr");
    cmd->add_flag("-v,--verbose", o->verbosity.verbose, "More detail on stderr");
    return [o](Context& ctx) { return run(*o, ctx); };
}

}  // namespace lessmore::cli
