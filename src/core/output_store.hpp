#pragma once
// OUT as a crash-safe store: the run's identity (.lessmore/run.json), one record per
// finished source (.lessmore/records/<key>.json, written atomically), and the manifests
// assembled from the records, streamed, so memory never holds the dataset's slices.
#include <lessmore/reduce.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

using OrderedJson = nlohmann::ordered_json;

class OutputStore {
public:
    explicit OutputStore(std::filesystem::path root);

    const std::filesystem::path& root() const { return m_root; }
    std::filesystem::path record_path(const std::string& source_id) const;

    // Removes what lessmore writes (manifests, slices/, .lessmore/), nothing else.
    void clear() const;
    void create() const;
    // Removes the temporaries a killed run left behind (".<name>.tmp-XXXXXX").
    void remove_temporaries() const;

    void write_run(const OrderedJson& run) const;
    std::optional<OrderedJson> read_run() const;

    // A source's record: {"source": id, "volumes": [...], "errors": [...]}.
    void write_record(const std::string& source_id, const OrderedJson& record) const;
    std::optional<OrderedJson> read_record(const std::string& source_id) const;
    // A record of a source finished without errors (one that failed is read again on --resume).
    static bool is_done(const OrderedJson& record);

private:
    std::filesystem::path m_root;
};

// {"tool": "lessmore", "version": ...}: how run.json and the manifests begin.
OrderedJson tool_stamp();

// The first difference between two runs' identities (version, parameters, shard index
// and count), as "key: old vs new"; empty when they match.
std::string run_mismatch(const OrderedJson& previous, const OrderedJson& now);

// JSON as lessmore writes it: one-space indent, invalid UTF-8 in names replaced.
std::string dump_json(const OrderedJson& j);
// A CSV field, quoted (RFC 4180) only where needed.
std::string csv_field(const std::string& s);

// id, source, format, size, spacing and dtype of a volume (`info --json`, the manifest).
OrderedJson volume_info_json(const VolumeInfo& info);
// The JSON of one reduced volume, as it appears in manifest.json's "volumes".
OrderedJson volume_json(const VolumeRecord& v);
OrderedJson errors_json(const std::vector<InputFailure>& errors);
// The reverse: appends a JSON list of {path, message} to `out`.
void append_errors(const OrderedJson& list, std::vector<InputFailure>& out);
// The "parameters" object of a reduce run.
OrderedJson parameters_json(const ReduceConfig& c, const std::vector<std::pair<std::string, std::string>>& metric);

// Writes manifest.csv then manifest.json (both atomically, JSON last) from the records of
// `source_ids` (in that order) plus run-level errors; fills result's summary, volumes and
// errors. `header` holds "tool", "version", "run" and "parameters".
void write_manifests(const OutputStore& store, const OrderedJson& header, const std::vector<std::string>& source_ids,
                     const std::vector<InputFailure>& run_errors, ReduceResult& result);

}  // namespace lessmore
