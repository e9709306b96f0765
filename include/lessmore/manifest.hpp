#pragma once
// manifest.json and manifest.csv.
#include <lessmore/reduce.hpp>

#include <string>

namespace lessmore {

std::string manifest_json(const ReduceConfig& config, const ReduceResult& result);
std::string manifest_csv(const ReduceResult& result);

// The JSON `lessmore info --json` prints.
std::string volumes_json(const InspectResult& result);

// The JSON `lessmore reduce --json` prints: summary, per-volume counts and errors.
std::string summary_json(const ReduceResult& result);

const char* version();

}  // namespace lessmore
