// lessmore compare RUN_A RUN_B [--json] [--max-changed F]
#include "commands.hpp"

#include <lessmore/compare.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

void print_text(const CompareResult& r) {
    std::size_t width = 6;
    for (const VolumeComparison& v : r.volumes) width = std::max(width, v.id.size());
    const int w = static_cast<int>(width);
    std::printf("%-*s %8s %8s %8s %8s %8s %8s\n", w, "volume", "kept A", "kept B", "both", "only A", "only B",
                "overlap");
    auto row = [&](const VolumeComparison& v) {
        std::printf("%-*s %8zu %8zu %8zu %8zu %8zu %8s\n", w, v.id.c_str(), v.kept_a, v.kept_b, v.both, v.only_a,
                    v.only_b, percent(static_cast<std::size_t>(v.overlap * 10000 + 0.5), 10000).c_str());
    };
    for (const VolumeComparison& v : r.volumes) row(v);
    row(r.total);
    for (const std::string& id : r.only_in_a) std::printf("only in A: %s\n", id.c_str());
    for (const std::string& id : r.only_in_b) std::printf("only in B: %s\n", id.c_str());
    const char* items = r.unit == "slice" ? "slices" : "units";
    if (r.identical) {
        std::printf("decisions: identical (%zu %s)\n", r.total.slices, items);
    } else {
        std::printf("decisions: %zu of %zu %s differ (%s)%s\n", r.changed, r.total.slices, items,
                    percent(r.changed, r.total.slices).c_str(), r.within_tolerance ? ", within --max-changed" : "");
    }
}

int run(const OptionValues& values) {
    const CompareConfig c = compare_config(values);
    const CompareResult r = compare_runs(c);
    if (values.flag("json")) {
        std::fputs((compare_json(r, c) + "\n").c_str(), stdout);
    } else {
        print_text(r);
    }
    return r.within_tolerance ? 0 : 1;  // like cmp/diff: 1 when the runs differ
}

}  // namespace

Runner add_compare_command(CLI::App& app) {
    auto cli = std::make_shared<CliValues>(command_spec("compare"));
    cli->declare(app);
    return [cli](Context&) { return run(cli->values()); };
}

}  // namespace lessmore::cli
