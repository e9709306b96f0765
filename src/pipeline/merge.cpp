// `lessmore merge`: the outputs of a sharded run (--shard I/N) into one OUT.
//
// Killed at any moment, a merge loses nothing and its rerun completes it (docs/output.md,
// section "Recovery of merge --move"). No shard's slice file is deleted before OUT holds
// all of them, hard-linked (or copied), with its records and manifests committed and on
// disk. OUT/.lessmore/merge.json records how far the merge of which shards got:
//   linking    OUT cleared, records written, slices linked, the scope pass run, the
//              manifests committed. The shards are untouched: a rerun (with or without
//              --force) clears OUT and starts again.
//   committed  --move only: OUT is complete and flushed to disk; the shards' copies are
//              being unlinked. A rerun with the same shards and --move goes straight on
//              unlinking (the manifests rewritten from OUT's own records); nothing may
//              clear OUT meanwhile, since it holds the only copy of some slices.
//   moved      --move only: done. A rerun with --move changes nothing.
// A plain merge removes its journal when done.
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/merge.hpp>

#include "pipeline/output_store.hpp"
#include "pipeline/scope_pass.hpp"

#include <lessmore/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

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

std::vector<Shard> read_shards(const MergeConfig& c) {
    std::vector<Shard> shards;
    for (const std::string& dir : c.shards) {
        const OutputStore store(dir);
        auto run = store.read_run();
        if (!run) throw UsageError(dir + ": not a lessmore output (no .lessmore/run.json)");
        if (!run->shard) throw UsageError(dir + ": not a shard (made without --shard)");
        if (!store.finished()) throw UsageError(dir + ": unfinished shard (no manifest.json; finish it with --resume)");
        store.check_no_links();
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
        if (!diff.empty())
            throw UsageError(s.dir + ": not a shard of the same run as " + first.dir + " (" + diff + ")");
        const auto [it, fresh] = index.by_index.emplace(s.run.shard->index, &s);
        if (!fresh) {
            throw UsageError("shards " + it->second->dir + " and " + s.dir + " are both " +
                             std::to_string(s.run.shard->index) + "/" + std::to_string(count));
        }
        for (const std::string& id : s.run.shard->sources) {
            const auto [o, new_source] = index.owner.emplace(id, &s);
            if (!new_source) throw UsageError("volume " + id + " is in both " + o->second->dir + " and " + s.dir);
        }
    }
    for (int i = 1; i <= count; ++i) {
        if (!index.by_index.count(i))
            throw UsageError("shard " + std::to_string(i) + "/" + std::to_string(count) + " is missing");
    }
    if (index.owner.size() != first.run.shard->all_sources) {
        throw UsageError("the shards hold " + std::to_string(index.owner.size()) + " of the " +
                         std::to_string(first.run.shard->all_sources) + " volume sources their run found");
    }
    return index;
}

// Every source's record, validated as it is read (pipeline/run_record.hpp), and each
// volume in one record only: no two records name the same slice file.
std::vector<SourceRecord> read_records(const ShardIndex& index) {
    std::vector<SourceRecord> records;
    std::set<std::string> volumes;
    for (const auto& [id, shard] : index.owner) {
        SourceRecord record = OutputStore(shard->dir).load_record(id);
        for (const VolumeRecord& v : record.volumes)
            if (!volumes.insert(v.info.id).second)
                throw UsageError(shard->dir + ": volume " + v.info.id + " is in two records");
        records.push_back(std::move(record));
    }
    return records;
}

// The shards as a merge journal names them: resolved, sorted.
std::vector<std::string> shard_paths(const std::vector<Shard>& shards) {
    std::vector<std::string> out;
    for (const Shard& s : shards) out.push_back(path_text(resolved_path(s.dir)));
    std::sort(out.begin(), out.end());
    return out;
}

// OUT: not inside a shard, and empty unless --force or it is this merge's own, interrupted.
void check_output(const MergeConfig& c, const std::vector<Shard>& shards, bool own) {
    const fs::path o = resolved_path(c.output);
    for (const Shard& s : shards) {
        const fs::path d = resolved_path(s.dir);
        if (path_within(o, d) || path_within(d, o)) throw UsageError("-o " + c.output + ": overlaps shard " + s.dir);
    }
    std::error_code ec;
    if (fs::exists(c.output, ec) && !fs::is_empty(c.output, ec) && !c.force && !own) {
        throw UsageError("-o " + c.output + ": folder is not empty (use --force to replace lessmore's outputs in it)");
    }
}

template <typename F>
void for_each_output(const SourceRecord& record, F&& f) {
    for (const VolumeRecord& v : record.volumes) {
        for (const SliceRecord& s : v.slices)
            for (const std::string* rel : {&s.output, &s.output_npy})
                if (!rel->empty()) f(*rel);
        for (const UnitRecord& u : v.units)
            for (const std::string* rel : {&u.output, &u.output_npy})
                if (!rel->empty()) f(*rel);
    }
}

Folder open_shard(const std::string& dir) {
    auto folder = Folder::open(dir);
    if (!folder) throw UsageError(dir + ": no such folder");
    return std::move(*folder);
}

// The folder holding a slice file, opened once for the run of files in it (a volume's
// files come together and share one).
class SliceFolders {
public:
    SliceFolders(const Folder& root, bool create) : m_root(root), m_create(create) {}
    // The folder of `rel` (null when it is missing); `name` gets the file's name.
    const Folder* of(const std::string& rel, std::string& name) {
        const std::size_t slash = rel.rfind('/');  // every record's path starts "slices/"
        name = rel.substr(slash + 1);
        const std::string dir = rel.substr(0, slash);
        if (!m_opened || dir != m_dir) {
            m_folder = m_create ? std::optional<Folder>(m_root.make(dir)) : m_root.find(dir);
            m_dir = dir;
            m_opened = true;
        }
        return m_folder ? &*m_folder : nullptr;
    }

private:
    const Folder& m_root;
    bool m_create;
    bool m_opened = false;
    std::string m_dir;
    std::optional<Folder> m_folder;
};

// A record's slice files hard-linked (or copied) from its shard into OUT.
void link_slices(const SourceRecord& record, const Folder& shard, const Folder& out) {
    SliceFolders from(shard, false), to(out, true);
    for_each_output(record, [&](const std::string& rel) {
        std::string name;
        const Folder* source = from.of(rel, name);
        if (!source) throw Error(path_text(shard.path_of(rel)) + ": missing");
        link_or_copy(*source, name, *to.of(rel, name), name);
    });
}

// --move, once OUT is committed and on disk: every shard copy a record names is unlinked,
// after making sure OUT holds each file its manifest lists (linked again from the shard if
// it went missing), so no slice is ever lost. Safe to repeat.
void remove_shard_copies(const std::vector<SourceRecord>& records, const ShardIndex& index, const Folder& out,
                         const std::set<std::string>& removed_by_scope) {
    for (const SourceRecord& record : records) {
        const Folder shard = open_shard(index.owner.at(record.source)->dir);
        SliceFolders from(shard, false), to(out, false);
        for_each_output(record, [&](const std::string& rel) {
            std::string name;
            const Folder* source = from.of(rel, name);
            const Folder* target = to.of(rel, name);
            if (!removed_by_scope.count(rel) && !(target && target->kind(name) == EntryKind::File)) {
                if (!source || source->kind(name) != EntryKind::File) {
                    throw Error(path_text(out.path_of(rel)) + ": missing, and its shard no longer holds it");
                }
                link_or_copy(*source, name, out, rel);
            }
            if (source) source->remove_file(name);
        });
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

    const std::vector<std::string> shard_dirs = shard_paths(shards);
    const OutputStore store(fs::absolute(c.output));
    std::optional<MergeJournal> earlier;
    try {
        earlier = store.read_journal();
    } catch (const UsageError&) {
        // Not this merge's own OUT (a link or damage there): it must be empty or --force'd,
        // and is looked at again once locked.
    }
    check_output(c, shards, earlier && earlier->shards == shard_dirs);

    const auto lock = store.lock("-o " + c.output, c.force);
    const auto journal = store.read_journal();  // again, now that OUT is this process's
    const bool finishing = journal && journal->shards == shard_dirs && journal->state != MergeState::Linking;
    if (finishing && !c.move) {
        throw UsageError("-o " + c.output +
                         ": holds the slice files merge --move took from these shards (rerun it with --move)");
    }
    if (finishing) {
        store.check_layout();
        store.remove_temporaries();  // refuses a link in lessmore's folders
    } else {
        store.clear();  // refuses while another merge --move into OUT is half done
        store.create();
        store.write_journal({shard_dirs, c.move, MergeState::Linking});
        const Folder out = *store.folder();
        for (const SourceRecord& record : records) {
            store.write_record(record);
            link_slices(record, open_shard(index.owner.at(record.source)->dir), out);
            progress.source_done(record.source, record.volumes.size(), record.errors.size());
        }
    }
    std::vector<std::string> ids;
    for (const SourceRecord& record : records) ids.push_back(record.source);
    RunFile run = shards.front().run;
    run.shard.reset();
    store.write_run(run);

    ReduceResult result;
    result.units = run.parameters.unit != "slice";
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
    store.write_manifests(header, run.parameters, ids, run.discovery_errors, result, &scope, run.discovery_skipped);
    if (!c.move) {
        store.remove_journal();
        return result;
    }
    // The shards' copies go only once OUT's links, records and manifests are on disk, and
    // the journal says so (see the top of this file).
    const Folder out = *store.folder();
    sync_file_system(out);
    store.write_journal({shard_dirs, true, MergeState::Committed});
    sync_file_system(out);
    remove_shard_copies(records, index, out,
                        std::set<std::string>(scope.removed_files.begin(), scope.removed_files.end()));
    store.write_journal({shard_dirs, true, MergeState::Moved});
    return result;
}

}  // namespace lessmore
