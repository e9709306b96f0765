#pragma once
// A finished run as data (the Python package's lessmore.Run, docs/python.md): what
// manifest.json says, rebuilt from OUT's typed records (src/pipeline/run_record.cpp) by the
// reader that merge, report and compare use, so there is one reader of a run.
#include <lessmore/cancel.hpp>

#include <string>

namespace lessmore {

// JSON: {"parameters", "errors", "skipped", "duplicates", "volumes"} with each volume as
// manifest.json shows it (its slices included, the cross-volume pass's decisions applied).
// Throws UsageError naming OUT when it holds no finished run, or the record at fault.
std::string run_json(const std::string& out, int threads, const CancelToken& cancel);

}  // namespace lessmore
