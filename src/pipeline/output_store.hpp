#pragma once
// OUT as a crash-safe store: the run's identity (.lessmore/run.json), one record per
// finished source (.lessmore/records/<key>.json, written atomically), and the manifests
// assembled from the records, streamed, so memory never holds the dataset's slices.
// Report, merge and --resume read OUT only through this class.
#include <lessmore/reduce.hpp>

#include "pipeline/run_record.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

class OutputStore {
public:
    explicit OutputStore(std::filesystem::path root);

    const std::filesystem::path& root() const { return m_root; }

    // Removes what lessmore writes (manifests, slices/, .lessmore/, report), nothing else.
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
    // Every source record in OUT, by source id; throws Error naming a damaged one.
    std::vector<SourceRecord> read_all_records() const;

    // Writes manifest.csv then manifest.json (both atomically, JSON last) from the records
    // of `source_ids` (in that order) plus run-level errors; fills result's summary,
    // volumes and errors. `header` holds "tool", "version", "run" and "parameters".
    void write_manifests(const OrderedJson& header, const std::vector<std::string>& source_ids,
                         const std::vector<InputFailure>& run_errors, ReduceResult& result) const;

    // OUT-relative path of a kept slice's file (extension without the dot).
    static std::string slice_path(const std::string& id, std::size_t index, const char* ext, bool flat);

private:
    std::filesystem::path record_path(const std::string& source_id) const;
    SourceRecord parse_record(const std::filesystem::path& path) const;

    std::filesystem::path m_root;
};

}  // namespace lessmore
