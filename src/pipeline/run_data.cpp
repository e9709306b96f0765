// A finished run from its records (include/lessmore/run_data.hpp), volumes and errors in
// the manifests' order (src/pipeline/output_store.cpp, write_manifests).
#include <lessmore/run_data.hpp>

#include <lessmore/error.hpp>
#include <lessmore/thread_pool.hpp>

#include "pipeline/output_store.hpp"
#include "pipeline/run_record.hpp"
#include "pipeline/scope_pass.hpp"

#include <algorithm>

namespace lessmore {

std::string run_json(const std::string& out, int threads, const CancelToken& cancel) {
    const OutputStore store(out);
    const auto run = store.read_run();
    if (!run || !store.finished()) {
        throw UsageError(out + ": no finished lessmore run (no manifest.json; run or --resume reduce first)");
    }
    store.check_layout();
    const std::vector<SourceRecord> records = store.read_all_records();
    const RunParameters& params = run->parameters;
    ScopeOutcome scope;
    if (params.scope != Scope::Volume && !run->shard) {
        // The records hold each volume's own decisions; the pass (deterministic) gives the rest.
        ThreadPool pool(threads);
        std::vector<std::string> ids;
        for (const SourceRecord& r : records) ids.push_back(r.source);
        scope = scope_pass(store, ids, params, pool, cancel);
    }
    std::vector<InputFailure> errors = run->discovery_errors;
    std::vector<InputFailure> skipped = run->discovery_skipped;
    OrderedJson volumes = OrderedJson::array();
    for (const SourceRecord& r : records) {
        for (const VolumeRecord& v : r.volumes) volumes.push_back(manifest_volume_json(v, scope));
        errors.insert(errors.end(), r.errors.begin(), r.errors.end());
        skipped.insert(skipped.end(), r.skipped.begin(), r.skipped.end());
    }
    const auto by_path = [](const InputFailure& a, const InputFailure& b) { return a.path < b.path; };
    std::stable_sort(errors.begin(), errors.end(), by_path);
    std::stable_sort(skipped.begin(), skipped.end(), by_path);
    OrderedJson j = tool_stamp();
    j["parameters"] = to_json(params);
    j["errors"] = to_json(errors);
    j["skipped"] = skipped_json(skipped);
    j["duplicates"] = duplicates_json(scope.duplicates);
    j["volumes"] = std::move(volumes);
    return dump_json(j);
}

}  // namespace lessmore
