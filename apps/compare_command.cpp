// lessmore compare RUN_A RUN_B [--json] [--max-changed F]
#include "commands.hpp"

#include <lessmore/compare.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

nlohmann::ordered_json row_json(const VolumeComparison& v) {
    return {{"id", v.id},     {"slices", v.slices}, {"kept_a", v.kept_a}, {"kept_b", v.kept_b},
            {"both", v.both}, {"only_a", v.only_a}, {"only_b", v.only_b}, {"overlap", v.overlap}};
}

void print_json(const CompareResult& r, const CompareConfig& c) {
    nlohmann::ordered_json j;
    j["a"] = c.a;
    j["b"] = c.b;
    j["identical"] = r.identical;
    j["changed_slices"] = r.changed;
    j["changed_fraction"] = r.changed_fraction;
    j["within_tolerance"] = r.within_tolerance;
    j["total"] = row_json(r.total);
    j["only_in_a"] = r.only_in_a;
    j["only_in_b"] = r.only_in_b;
    j["volumes"] = nlohmann::ordered_json::array();
    for (const VolumeComparison& v : r.volumes) j["volumes"].push_back(row_json(v));
    std::fputs((j.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n").c_str(), stdout);
}

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
    if (r.identical) {
        std::printf("decisions: identical (%zu slices)\n", r.total.slices);
    } else {
        std::printf("decisions: %zu of %zu slices differ (%s)%s\n", r.changed, r.total.slices,
                    percent(r.changed, r.total.slices).c_str(), r.within_tolerance ? ", within --max-changed" : "");
    }
}

int run(const OptionValues& values) {
    const CompareConfig c = compare_config(values);
    const CompareResult r = compare_runs(c);
    if (values.flag("json")) {
        print_json(r, c);
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
