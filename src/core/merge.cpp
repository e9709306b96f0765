// `lessmore merge`: the outputs of a sharded run (--shard I/N) into one OUT.
#include <lessmore/error.hpp>
#include <lessmore/reduce.hpp>

#include "core/output_store.hpp"
#include "io/files.hpp"

#include <chrono>
#include <ctime>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

using Json = OrderedJson;

struct Shard {
    std::string dir;
    Json run;
    int index = 0;
};

// What the shards of one run share: version, parameters, shard count, the volumes found.
Json shared_identity(const Json& run) {
    return {{"version", run["version"]},
            {"parameters", run["parameters"]},
            {"count", run["shard"]["count"]},
            {"all_sources", run["shard"]["all_sources"]},
            {"all_sources_sha256", run["shard"]["all_sources_sha256"]}};
}

}  // namespace

ReduceResult merge(const MergeConfig& c, ProgressSink& progress) {
    const auto start = std::chrono::steady_clock::now();
    if (c.shards.empty()) throw UsageError("SHARD_OUT: give the output folders of the shards");
    if (c.output.empty()) throw UsageError("-o/--output: required");

    std::vector<Shard> shards;
    for (const std::string& dir : c.shards) {
        const OutputStore store(dir);
        const auto run = store.read_run();
        if (!run) throw UsageError(dir + ": not a lessmore output (no .lessmore/run.json)");
        if (!(*run)["shard"].is_object()) throw UsageError(dir + ": not a shard (made without --shard)");
        if (!fs::exists(fs::path(dir) / "manifest.json")) {
            throw UsageError(dir + ": unfinished shard (no manifest.json; finish it with --resume)");
        }
        shards.push_back({dir, *run, (*run)["shard"]["index"].get<int>()});
    }
    const Json identity = shared_identity(shards.front().run);
    const int count = identity["count"];
    std::map<int, const Shard*> by_index;
    std::map<std::string, const Shard*> owner;  // source id -> shard
    for (const Shard& s : shards) {
        const Json other = shared_identity(s.run);
        if (other != identity) {
            throw UsageError(s.dir + ": not a shard of the same run as " + shards.front().dir + " (" +
                             run_mismatch(Json{{"version", identity["version"]}, {"parameters", identity["parameters"]}, {"shard", nullptr}},
                                          Json{{"version", other["version"]}, {"parameters", other["parameters"]}, {"shard", nullptr}}) +
                             (other["count"] != identity["count"] ? " shard count " + other["count"].dump() + " vs " + identity["count"].dump()
                              : other["all_sources_sha256"] != identity["all_sources_sha256"] ? " they found different volumes"
                                                                                              : "") +
                             ")");
        }
        const auto [it, fresh] = by_index.emplace(s.index, &s);
        if (!fresh) {
            throw UsageError("shards " + it->second->dir + " and " + s.dir + " are both " + std::to_string(s.index) + "/" +
                             std::to_string(count));
        }
        for (const Json& id : s.run["shard"]["sources"]) {
            const auto [o, new_source] = owner.emplace(id.get<std::string>(), &s);
            if (!new_source) {
                throw UsageError("volume " + id.get<std::string>() + " is in both " + o->second->dir + " and " + s.dir);
            }
        }
    }
    for (int i = 1; i <= count; ++i) {
        if (!by_index.count(i)) throw UsageError("shard " + std::to_string(i) + "/" + std::to_string(count) + " is missing");
    }
    if (owner.size() != identity["all_sources"].get<std::size_t>()) {
        throw UsageError("the shards hold " + std::to_string(owner.size()) + " of the " + identity["all_sources"].dump() +
                         " volume sources their run found");
    }

    // OUT: empty (or --force), and not inside a shard.
    const fs::path out = fs::absolute(c.output);
    const fs::path o = resolved_path(out);
    for (const Shard& s : shards) {
        const fs::path d = resolved_path(s.dir);
        if (path_within(o, d) || path_within(d, o)) throw UsageError("-o " + c.output + ": overlaps shard " + s.dir);
    }
    std::error_code ec;
    if (fs::exists(out) && !fs::is_empty(out, ec) && !c.force) {
        throw UsageError("-o " + c.output + ": folder is not empty (use --force to replace lessmore's outputs in it)");
    }
    const OutputStore store(out);
    if (c.force) store.clear();
    store.create();

    // Records, then slice files (hard links, or moves with --move).
    std::vector<std::string> ids;
    for (const auto& [id, shard] : owner) {
        const auto record = OutputStore(shard->dir).read_record(id);
        if (!record) throw UsageError(shard->dir + ": has no record of " + id + " (unfinished shard?)");
        store.write_record(id, *record);
        ids.push_back(id);
        for (const Json& v : (*record)["volumes"]) {
            for (const Json& s : v["slices"]) {
                for (const char* field : {"output", "output_npy"}) {
                    if (!s.contains(field) || s[field].is_null()) continue;
                    const fs::path from = fs::path(shard->dir) / s[field].get<std::string>();
                    const fs::path to = out / s[field].get<std::string>();
                    if (c.move) {
                        fs::create_directories(to.parent_path());
                        fs::rename(from, to, ec);
                        if (ec) link_or_copy(from, to);
                    } else {
                        link_or_copy(from, to);
                    }
                }
            }
        }
        progress.source_done();
    }

    Json run = shards.front().run;
    run["shard"] = nullptr;
    store.write_run(run);
    std::vector<InputFailure> discovery_errors;
    append_errors(run["discovery_errors"], discovery_errors);

    ReduceResult result;
    result.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Json header = tool_stamp();
    Json merged_from = Json::array();
    for (const auto& [i, s] : by_index) merged_from.push_back(s->dir);
    header["run"] = {{"command", c.command_line}, {"merged_from", merged_from}, {"seconds", result.summary.seconds}};
    header["parameters"] = run["parameters"];
    write_manifests(store, header, ids, discovery_errors, result);
    return result;
}

}  // namespace lessmore
