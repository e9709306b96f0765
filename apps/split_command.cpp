// lessmore split RUN -o SPLITS.json --fractions 0.8,0.1,0.1 [--by ...] [--seed S] [--threshold T]
#include "commands.hpp"

#include <lessmore/number_format.hpp>
#include <lessmore/split.hpp>

#include <cstdio>
#include <memory>

namespace lessmore::cli {
namespace {

std::string units_text(const std::vector<std::string>& units, std::size_t most) {
    std::string out;
    for (std::size_t k = 0; k < units.size() && k < most; ++k) out += (k ? ", " : "") + units[k];
    if (units.size() > most) out += ", ... (" + std::to_string(units.size() - most) + " more)";
    return out;
}

void print(const SplitResult& r) {
    std::size_t slices = 0, units = 0;
    for (const SplitPart& p : r.parts) {
        slices += p.slices;
        units += p.units;
    }
    std::printf("%-12s %7s %7s %8s %9s %7s\n", "split", "units", "groups", "slices", "fraction", "target");
    for (const SplitPart& p : r.parts) {
        std::printf("%-12s %7zu %7zu %8zu %9s %6.1f%%\n", p.name.c_str(), p.units, p.groups, p.slices,
                    percent(p.slices, slices).c_str(), 100.0 * p.fraction);
    }
    std::printf("%-12s %7zu %7zu %8zu\n", "total", units, r.groups, slices);
    std::printf("largest group: %zu units, %zu slices (%s): %s\n", r.largest.units.size(), r.largest.slices,
                r.largest.split.c_str(), units_text(r.largest.units, 5).c_str());
    if (!r.units_run.empty()) {
        // docs/split.md, section "Unit runs": units carry no feature, nothing ties them.
        std::printf("a --unit %s run: each --by unit is its own group (units carry no feature to compare)\n",
                    r.units_run.c_str());
        std::printf("wrote %s and %s\n", r.json_path.c_str(), r.csv_path.c_str());
        return;
    }
    std::printf("similar pairs across splits: %zu (%s, threshold %s)\n", r.cross_split_pairs, r.method.c_str(),
                format_number(r.threshold).c_str());
    if (r.floor) {
        std::printf("left out below the information floor (similar to an empty slice at %s): %zu slices\n",
                    format_number(*r.floor).c_str(), r.excluded);
    } else {
        std::printf("information floor: none (every slice ties units)\n");
    }
    std::printf("groups a plain per-patient split could leak: %zu", r.leaky.size());
    if (!r.leaky.empty()) {
        std::printf(" (with this seed it would put %zu similar pairs across splits)", r.patient_split_pairs);
    }
    std::printf("\n");
    for (const SplitGroup& g : r.leaky) {
        std::printf("  %zu similar pairs between patients %s\n", g.pairs, units_text(g.patients, 5).c_str());
    }
    std::printf("wrote %s and %s\n", r.json_path.c_str(), r.csv_path.c_str());
}

}  // namespace

Runner add_split_command(CLI::App& app) {
    auto cli = std::make_shared<CliValues>(command_spec("split"));
    cli->declare(app);
    return [cli](Context& ctx) {
        print(split_run(split_config(cli->values()), *ctx.cancel));
        return 0;
    };
}

}  // namespace lessmore::cli
