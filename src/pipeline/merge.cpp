// `lessmore merge`: the outputs of a sharded run (--shard I/N) into one OUT.
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/merge.hpp>

#include "pipeline/output_store.hpp"
#include "pipeline/scope_pass.hpp"

#include <lessmore/thread_pool.hpp>

#include <chrono>
#include <map>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

struct Shard {
    std::string dir;
    RunFile run;
};

// What the shards of one run share: version, parameters, shard count, the volumes found.
std::string shard_mismatch(const Shard& a, const Shard& b) {
    RunFile x = a.run, y = b.run;
    x.shard.reset();
    y.shard.reset();
    const std::string diff = run_mismatch(x, y);
    if (!diff.empty()) return diff;
    if (a.run.shard->count != b.run.shard->count) {
        return "shard count " + std::to_string(b.run.shard->count) + " vs " + std::to_string(a.run.shard->count);
    }
    if (a.run.shard->all_sources != b.run.shard->all_sources ||
        a.run.shard->all_sources_sha256 != b.run.shard->all_sources_sha256) {
        return "they found different volumes";
    }
    return {};
}

// A slice file named in a shard's record, checked to lie under the shard's slices/.
fs::path slice_file(const std::string& dir, const std::string& rel, const std::string& id) {
    try {
        return OutputStore::checked_slice_path(rel);
    } catch (const UsageError&) {
        throw UsageError(dir + ": the record of " + id + " names an output outside slices/ ('" + rel + "')");
    }
}

std::vector<Shard> read_shards(const MergeConfig& c) {
    std::vector<Shard> shards;
    for (const std::string& dir : c.shards) {
        const OutputStore store(dir);
        auto run = store.read_run();
        if (!run) throw UsageError(dir + ": not a lessmore output (no .lessmore/run.json)");
        if (!run->shard) throw UsageError(dir + ": not a shard (made without --shard)");
        if (!store.finished()) throw UsageError(dir + ": unfinished shard (no manifest.json; finish it with --resume)");
        shards.push_back({dir, std::move(*run)});
    }
    return shards;
}

// The shards, by index and by the sources each did; throws UsageError unless they are
// all the shards of one run, each source in exactly one.
struct ShardIndex {
    std::map<int, const Shard*> by_index;
    std::map<std::string, const Shard*> owner;  // source id -> shard
};

ShardIndex index_shards(const std::vector<Shard>& shards) {
    const Shard& first = shards.front();
    const int count = first.run.shard->count;
    ShardIndex index;
    for (const Shard& s : shards) {
        const std::string diff = shard_mismatch(first, s);
        if (!diff.empty()) throw UsageError(s.dir + ": not a shard of the same run as " + first.dir + " (" + diff + ")");
        const auto [it, fresh] = index.by_index.emplace(s.run.shard->index, &s);
        if (!fresh) {
            throw UsageError("shards " + it->second->dir + " and " + s.dir + " are both " + std::to_string(s.run.shard->index) +
                             "/" + std::to_string(count));
        }
        for (const std::string& id : s.run.shard->sources) {
            const auto [o, new_source] = index.owner.emplace(id, &s);
            if (!new_source) throw UsageError("volume " + id + " is in both " + o->second->dir + " and " + s.dir);
        }
    }
    for (int i = 1; i <= count; ++i) {
        if (!index.by_index.count(i)) throw UsageError("shard " + std::to_string(i) + "/" + std::to_string(count) + " is missing");
    }
    if (index.owner.size() != first.run.shard->all_sources) {
        throw UsageError("the shards hold " + std::to_string(index.owner.size()) + " of the " +
                         std::to_string(first.run.shard->all_sources) + " volume sources their run found");
    }
    return index;
}

// Every source's record, readable and naming only files under its shard's slices/.
std::vector<SourceRecord> read_records(const ShardIndex& index) {
    std::vector<SourceRecord> records;
    for (const auto& [id, shard] : index.owner) {
        auto record = OutputStore(shard->dir).read_record(id);
        if (!record) throw UsageError(shard->dir + ": has no readable record of " + id + " (unfinished or damaged shard?)");
        for (const VolumeRecord& v : record->volumes)
            for (const SliceRecord& s : v.slices)
                for (const std::string* rel : {&s.output, &s.output_npy})
                    if (!rel->empty()) slice_file(shard->dir, *rel, id);
        records.push_back(std::move(*record));
    }
    return records;
}

// OUT: empty (or --force), and not inside a shard.
void check_output(const MergeConfig& c, const std::vector<Shard>& shards) {
    const fs::path o = resolved_path(c.output);
    for (const Shard& s : shards) {
        const fs::path d = resolved_path(s.dir);
        if (path_within(o, d) || path_within(d, o)) throw UsageError("-o " + c.output + ": overlaps shard " + s.dir);
    }
    std::error_code ec;
    if (fs::exists(c.output, ec) && !fs::is_empty(c.output, ec) && !c.force) {
        throw UsageError("-o " + c.output + ": folder is not empty (use --force to replace lessmore's outputs in it)");
    }
}

// A record's slice files from its shard into OUT (hard links, or moves with --move).
void bring_slices(const SourceRecord& record, const Shard& shard, const fs::path& out, bool move) {
    for (const VolumeRecord& v : record.volumes) {
        for (const SliceRecord& s : v.slices) {
            for (const std::string* rel : {&s.output, &s.output_npy}) {
                if (rel->empty()) continue;
                const fs::path from = fs::path(shard.dir) / slice_file(shard.dir, *rel, record.source);
                const fs::path to = out / *rel;
                std::error_code ec;
                if (move) {
                    fs::create_directories(to.parent_path(), ec);
                    fs::rename(from, to, ec);
                    if (!ec) continue;
                }
                link_or_copy(from, to);
            }
        }
    }
}

}  // namespace

ReduceResult merge(const MergeConfig& c, ProgressSink& progress) {
    const auto start = std::chrono::steady_clock::now();
    if (c.shards.empty()) throw UsageError("SHARD_OUT: give the output folders of the shards");
    if (c.output.empty()) throw UsageError("-o/--output: required");

    // Everything is checked before anything is written.
    const std::vector<Shard> shards = read_shards(c);
    const ShardIndex index = index_shards(shards);
    const std::vector<SourceRecord> records = read_records(index);
    check_output(c, shards);

    const fs::path out = fs::absolute(c.output);
    const OutputStore store(out);
    const auto lock = store.lock("-o " + c.output);
    if (c.force) store.clear();
    store.create();
    std::vector<std::string> ids;
    for (const SourceRecord& record : records) {
        store.write_record(record);
        bring_slices(record, *index.owner.at(record.source), out, c.move);
        ids.push_back(record.source);
        progress.source_done();
    }
    RunFile run = shards.front().run;
    run.shard.reset();
    store.write_run(run);

    ReduceResult result;
    result.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    OrderedJson header = tool_stamp();
    OrderedJson merged_from = OrderedJson::array();
    for (const auto& [i, s] : index.by_index) merged_from.push_back(s->dir);
    header["run"] = {{"command", c.command_line}, {"merged_from", merged_from}, {"seconds", result.summary.seconds}};
    header["parameters"] = to_json(run.parameters);
    // Every shard is in: the cross-volume pass sees the whole dataset, as one run would.
    ThreadPool pool(c.threads);
    const CancelToken never;
    const ScopeOutcome scope = scope_pass(store, ids, run.parameters, pool, never);
    remove_scope_outputs(store, scope);
    store.write_manifests(header, ids, run.discovery_errors, result, &scope, run.discovery_skipped);
    return result;
}

}  // namespace lessmore
