#pragma once
// OUT as a crash-safe store: the run's identity (.lessmore/run.json), one record per
// finished source (.lessmore/records/<key>.json, written atomically), and the manifests
// assembled from the records, streamed, so memory never holds the dataset's slices.
// Report, merge and --resume read OUT only through this class. Everything below OUT is
// reached through io's Folder, never through a symbolic link, and every file read is a
// regular file checked on its descriptor (docs/output.md, section "OUT's own state").
#include <lessmore/files.hpp>
#include <lessmore/reduce.hpp>

#include "pipeline/run_record.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

struct ScopeOutcome;  // pipeline/scope_pass.hpp

// An exclusive lock on OUT (OUT/.lessmore/lock), held while a command writes there and
// released by the kernel when the process ends, however it ends.
class StoreLock {
public:
    explicit StoreLock(int fd) : m_fd(fd) {}
    ~StoreLock();
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;

private:
    int m_fd;
};

class OutputStore {
public:
    explicit OutputStore(std::filesystem::path root);

    const std::filesystem::path& root() const { return m_root; }
    // OUT opened (a link at OUT itself is followed: the user named it); nothing when it
    // does not exist.
    std::optional<Folder> folder() const;

    // Takes OUT for this process: one run per OUT at a time. Throws UsageError (nothing
    // written) when another lessmore holds it, or when OUT cannot be created or written
    // (`option` names it in the message, e.g. "-o out"). OUT/.lessmore is never reached
    // through a link: one there is refused, or with `replace_link` (--force) removed.
    [[nodiscard]] std::unique_ptr<StoreLock> lock(const std::string& option, bool replace_link = false) const;

    // Refuses (UsageError naming it) a link, or a file of the wrong kind, where lessmore
    // keeps its own: .lessmore, its records, run.json and merge.json, slices, report, the
    // manifests. For commands that keep what OUT holds (--resume, report, merge finishing).
    void check_layout() const;
    // Removes what lessmore writes (manifests, slices/, .lessmore/ but its lock), nothing
    // else, links as links. Refuses (UsageError) while a merge --move into OUT is half done.
    void clear() const;
    // Removes manifest.json, then manifest.csv: a run that starts changing a finished OUT
    // (--resume) must not leave the mark of a finished run behind if it is stopped.
    void retract_manifests() const;
    void create() const;
    // Removes the temporaries a killed run left behind (".<name>.tmp-XXXXXX") in OUT and
    // lessmore's folders, refusing (UsageError naming it) a link found in those folders.
    void remove_temporaries() const;
    // The same check for links in a run folder lessmore only reads (a shard), removing nothing.
    void check_no_links() const;
    // True when OUT holds only what lessmore writes (e.g. a run killed before it recorded anything).
    bool only_lessmore_files() const;
    // manifest.json exists: a finished run (UsageError when it is not a regular file).
    bool finished() const;

    void write_run(const RunFile& run) const;
    // Nothing when there is no run.json; throws UsageError when it is not lessmore's.
    std::optional<RunFile> read_run() const;

    void write_record(const SourceRecord& record) const;
    // Nothing when the source has no record, or its record is damaged (fails validation;
    // the reason in *damage when given) or belongs to another id (a digest collision): the
    // source is then done again. A link or non-regular file there is refused (UsageError).
    std::optional<SourceRecord> read_record(const std::string& source_id, std::string* damage = nullptr) const;
    // The record of `source_id`; UsageError naming the record file and the field at fault
    // when it is missing, damaged or another source's (merge reads shards with this).
    SourceRecord load_record(const std::string& source_id) const;
    // Removes the slice files a record lists (checked to be under slices/).
    void remove_outputs(const SourceRecord& record) const;
    // Removes one slice file given relative to OUT (checked to be under slices/).
    void remove_output(const std::string& rel) const;
    // Removes the folder `rel` (below slices/) when it is empty.
    void remove_empty_folder(const std::string& rel) const;
    // Every source record in OUT, by source id; throws UsageError naming a damaged one.
    std::vector<SourceRecord> read_all_records() const;

    // OUT/.lessmore/merge.json (src/pipeline/merge.cpp): nothing when there is none.
    std::optional<MergeJournal> read_journal() const;
    void write_journal(const MergeJournal& journal) const;
    void remove_journal() const;

    // Writes manifest.csv then manifest.json (both atomically, JSON last) from the records
    // of `source_ids` (in that order) plus run-level errors and skipped files; fills
    // result's summary, volumes, errors and skipped. `header` holds "tool", "version", "run"
    // and "parameters" (to_json(parameters): the patient keys follow its patient_depth).
    // With a cross-volume pass's outcome, the manifests carry its decisions (kept counts,
    // match_volume, a top-level "duplicates" list, --scope patient groups).
    void write_manifests(const OrderedJson& header, const RunParameters& parameters,
                         const std::vector<std::string>& source_ids, const std::vector<InputFailure>& run_errors,
                         ReduceResult& result, const ScopeOutcome* scope = nullptr,
                         const std::vector<InputFailure>& run_skipped = {}) const;

    // OUT-relative path of a kept slice's file (extension without the dot; slice_output_path).
    static std::string slice_path(const std::string& id, std::size_t index, std::size_t count, const char* ext,
                                  bool flat) {
        return slice_output_path(id, index, count, ext, flat);
    }

private:
    Folder open_root() const;
    static std::string record_name(const std::string& source_id);
    SourceRecord parse_record(const Folder& root, const std::string& rel) const;

    std::filesystem::path m_root;
};

}  // namespace lessmore
