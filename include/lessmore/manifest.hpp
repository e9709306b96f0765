#pragma once
// JSON the command line prints (manifest.json and manifest.csv are written by reduce()).
#include <lessmore/info.hpp>
#include <lessmore/reduce.hpp>

#include <map>
#include <string>
#include <vector>

namespace lessmore {

// Volumes that share a SeriesInstanceUID (copies of one series, or parts of one that
// were not found together): id -> the other ids.
std::map<std::string, std::vector<std::string>> shared_series(const InfoResult& result);

// The JSON `lessmore info --json` prints.
std::string volumes_json(const InfoResult& result);

// The JSON `lessmore reduce --json` prints: summary, per-volume counts and errors.
std::string summary_json(const ReduceResult& result);

const char* version();

}  // namespace lessmore
