// lessmore info INPUT... (options: the option model, src/pipeline/options.cpp)
#include "commands.hpp"

#include <lessmore/info.hpp>
#include <lessmore/manifest.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

int run(const OptionValues& values, Context& ctx) {
    apply_verbosity(values, *ctx.log);
    StderrProgress progress(*ctx.log, ProgressStyle::None, false);
    const InfoResult r = inspect(info_config(values), progress, *ctx.cancel);
    if (values.flag("json")) {
        std::fputs(volumes_json(r).c_str(), stdout);
    } else {
        std::size_t width = 6;
        for (const VolumeInfo& v : r.volumes) width = std::max(width, v.id.size());
        std::printf("%-*s %-9s %-7s %-15s %s\n", static_cast<int>(width), "volume", "format", "dtype", "size",
                    "spacing (mm)");
        for (const VolumeInfo& v : r.volumes) {
            const std::string size =
                std::to_string(v.width) + "x" + std::to_string(v.height) + "x" + std::to_string(v.slice_count());
            std::printf("%-*s %-9s %-7s %-15s %.4g x %.4g x %.4g\n", static_cast<int>(width), v.id.c_str(),
                        v.format.c_str(), voxel_type_name(v.type), size.c_str(), v.spacing[0], v.spacing[1],
                        v.spacing[2]);
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
    auto cli = std::make_shared<CliValues>(command_spec("info"));
    cli->declare(app);
    return [cli](Context& ctx) { return run(cli->values(), ctx); };
}

}  // namespace lessmore::cli
