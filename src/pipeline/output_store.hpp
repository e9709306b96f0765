#pragma once
// OUT as a crash-safe store: the run's identity (.lessmore/run.json), one record per
// finished source (.lessmore/records/<key>.json, written atomically), and the manifests
// assembled from the records, streamed, so memory never holds the dataset's slices.
// Report, merge and --resume read OUT only through this class.
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

    // Takes OUT for this process: one run per OUT at a time. Throws UsageError (nothing
    // written) when another lessmore holds it, or when OUT cannot be created or written
    // (`option` names it in the message, e.g. "-o out").
    [[nodiscard]] std::unique_ptr<StoreLock> lock(const std::string& option) const;

    // Removes what lessmore writes (manifests, slices/, .lessmore/ but its lock), nothing else.
    void clear() const;
    void create() const;
    // Removes the temporaries a killed run left behind (".<name>.tmp-XXXXXX").
    void remove_temporaries() const;
    // True when OUT holds only what lessmore writes (e.g. a run killed before it recorded anything).
    bool only_lessmore_files() const;
    // manifest.json exists: a finished run.
    bool finished() const;

    void write_run(const RunFile& run) const;
    // Nothing when there is no run.json; throws UsageError when it is not lessmore's.
    std::optional<RunFile> read_run() const;

    void write_record(const SourceRecord& record) const;
    // Nothing when the source has no record, or its record is damaged or belongs to
    // another id (a digest collision): the source is then done again.
    std::optional<SourceRecord> read_record(const std::string& source_id) const;
    // Removes the slice files a record lists (only ones under slices/).
    void remove_outputs(const SourceRecord& record) const;
    // Removes one slice file given relative to OUT (only under slices/).
    void remove_output(const std::string& rel) const;
    // A record's output path checked to be relative and under slices/ (records are read
    // back from disk and never trusted to name other places); throws UsageError naming it.
    static std::filesystem::path checked_slice_path(const std::string& rel);
    // Every source record in OUT, by source id; throws Error naming a damaged one.
    std::vector<SourceRecord> read_all_records() const;

    // Writes manifest.csv then manifest.json (both atomically, JSON last) from the records
    // of `source_ids` (in that order) plus run-level errors and skipped files; fills
    // result's summary, volumes, errors and skipped. `header` holds "tool", "version", "run" and "parameters".
    // With a cross-volume pass's outcome, the manifests carry its decisions (kept counts,
    // match_volume, a top-level "duplicates" list, --scope patient groups).
    void write_manifests(const OrderedJson& header, const std::vector<std::string>& source_ids,
                         const std::vector<InputFailure>& run_errors, ReduceResult& result,
                         const ScopeOutcome* scope = nullptr, const std::vector<InputFailure>& run_skipped = {}) const;

    // OUT-relative path of a kept slice's file (extension without the dot).
    static std::string slice_path(const std::string& id, std::size_t index, const char* ext, bool flat);

private:
    std::filesystem::path record_path(const std::string& source_id) const;
    SourceRecord parse_record(const std::filesystem::path& path) const;

    std::filesystem::path m_root;
};

}  // namespace lessmore
