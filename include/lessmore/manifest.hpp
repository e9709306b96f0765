#pragma once
// JSON the command line prints (manifest.json and manifest.csv are written by reduce()).
#include <lessmore/info.hpp>
#include <lessmore/reduce.hpp>

#include <string>

namespace lessmore {

// The JSON `lessmore info --json` prints.
std::string volumes_json(const InfoResult& result);

// The JSON `lessmore reduce --json` prints: summary, per-volume counts and errors.
std::string summary_json(const ReduceResult& result);

const char* version();

}  // namespace lessmore
