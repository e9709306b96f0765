// The names of reduce's options as run.json and the manifests record them, and the
// strategy `auto` resolves to: apart from reduce.cpp so that the run record
// (pipeline/run_record.cpp, run_parameters.cpp) links without the walk (tests/fuzz builds it on its own).
#include <lessmore/reduce.hpp>

namespace lessmore {

const char* strategy_name(Strategy s) {
    switch (s) {
    case Strategy::Auto:
        return "auto";
    case Strategy::Leader:
        return "leader";
    case Strategy::Pairs:
        return "pairs";
    }
    return "?";
}

const char* order_name(SliceOrder o) { return o == SliceOrder::Position ? "position" : "name"; }

const char* format_name(OutputFormat f) {
    switch (f) {
    case OutputFormat::Png:
        return "png";
    case OutputFormat::Npy:
        return "npy";
    case OutputFormat::Both:
        return "both";
    case OutputFormat::None:
        return "none";
    case OutputFormat::Nifti:
        return "nifti";
    }
    return "?";
}

const char* scope_name(Scope s) {
    switch (s) {
    case Scope::Volume:
        return "volume";
    case Scope::Patient:
        return "patient";
    case Scope::Dataset:
        return "dataset";
    }
    return "?";
}

Strategy ReduceConfig::resolved_strategy() const {
    if (strategy != Strategy::Auto) return strategy;
    return fraction ? Strategy::Pairs : Strategy::Leader;
}

}  // namespace lessmore
