#include "core/output_store.hpp"

#include <lessmore/error.hpp>
#include <lessmore/manifest.hpp>
#include <lessmore/sha256.hpp>

#include "io/files.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

using Json = OrderedJson;

Json number_or_null(const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return nullptr;
    // Whole numbers (Hamming distances, most z) print without a fraction.
    if (std::floor(*v) == *v && std::fabs(*v) < 9e15) return static_cast<long long>(*v);
    return *v;
}

std::string csv_value(const Json& v) {
    if (v.is_null()) return "";
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_string()) return csv_field(v.get<std::string>());
    if (v.is_number_integer()) return std::to_string(v.get<long long>());
    if (v.is_number_unsigned()) return std::to_string(v.get<unsigned long long>());
    return format_number(v.get<double>());
}

std::string csv_rows(const Json& volume) {
    std::string out;
    const std::string id = csv_field(volume["id"].get<std::string>());
    for (const Json& s : volume["slices"]) {
        out += id;
        for (const char* field : {"index", "file", "z", "kept", "match", "score", "hash", "output", "output_npy"}) {
            out += ',';
            if (s.contains(field)) out += csv_value(s[field]);
        }
        out += '\n';
    }
    return out;
}

// Indents every line after the first, so a nested object dumped on its own reads as part
// of the whole document.
std::string indented(const std::string& text, const std::string& pad) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (char c : text) {
        out += c;
        if (c == '\n') out += pad;
    }
    return out;
}

// What must match for --resume, and for the shards of one merge.
Json run_identity(const Json& run) {
    Json id;
    id["version"] = run["version"];
    id["parameters"] = run["parameters"];
    id["shard"] = run["shard"].is_object() ? Json({{"index", run["shard"]["index"]}, {"count", run["shard"]["count"]}})
                                           : Json(nullptr);
    return id;
}

// The first difference between two JSON values, as "key: a vs b".
std::string first_difference(const Json& a, const Json& b, const std::string& path) {
    if (a.is_object() && b.is_object()) {
        for (const auto& [k, v] : a.items()) {
            const std::string p = path.empty() ? k : path + "." + k;
            if (!b.contains(k)) return p + ": " + v.dump() + " vs (absent)";
            const std::string d = first_difference(v, b[k], p);
            if (!d.empty()) return d;
        }
        for (const auto& [k, v] : b.items())
            if (!a.contains(k)) return (path.empty() ? k : path + "." + k) + ": (absent) vs " + v.dump();
        return {};
    }
    return a == b ? std::string() : path + ": " + a.dump() + " vs " + b.dump();
}

}  // namespace

std::string dump_json(const Json& j) { return j.dump(1, ' ', false, Json::error_handler_t::replace); }

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

Json tool_stamp() { return {{"tool", "lessmore"}, {"version", version()}}; }

std::string run_mismatch(const OrderedJson& previous, const OrderedJson& now) {
    return first_difference(run_identity(previous), run_identity(now), "");
}

OutputStore::OutputStore(fs::path root) : m_root(std::move(root)) {}

fs::path OutputStore::record_path(const std::string& source_id) const {
    // Ids hold '/', '#' and any name a dataset uses: the file is named by a digest.
    return m_root / ".lessmore" / "records" / (sha256_hex(source_id.data(), source_id.size()).substr(0, 24) + ".json");
}

void OutputStore::clear() const {
    std::error_code ec;
    for (const char* name : {"manifest.json", "manifest.csv"}) fs::remove(m_root / name, ec);
    for (const char* dir : {"slices", ".lessmore"}) {
        fs::remove_all(m_root / dir, ec);
        if (ec) throw Error(path_text(m_root / dir) + ": cannot remove previous outputs: " + ec.message());
    }
}

void OutputStore::remove_temporaries() const {
    std::error_code ec;
    std::vector<fs::path> stale;
    for (auto it = fs::recursive_directory_iterator(m_root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.' && name.find(".tmp-") != std::string::npos && it->is_regular_file(ec)) {
            stale.push_back(it->path());
        }
    }
    for (const fs::path& p : stale) fs::remove(p, ec);
}

void OutputStore::create() const {
    std::error_code ec;
    fs::create_directories(m_root / ".lessmore" / "records", ec);
    if (ec) throw Error(path_text(m_root) + ": cannot create: " + ec.message());
}

void OutputStore::write_run(const Json& run) const {
    write_file_atomic(m_root / ".lessmore" / "run.json", dump_json(run) + "\n", true);
}

std::optional<Json> OutputStore::read_run() const {
    std::ifstream in(m_root / ".lessmore" / "run.json");
    if (!in) return std::nullopt;
    try {
        return Json::parse(in);
    } catch (const Json::exception&) {
        throw UsageError(path_text(m_root / ".lessmore" / "run.json") + ": unreadable (not a lessmore output?)");
    }
}

void OutputStore::write_record(const std::string& source_id, const Json& record) const {
    write_file_atomic(record_path(source_id), dump_json(record) + "\n", true);
}

std::optional<Json> OutputStore::read_record(const std::string& source_id) const {
    std::ifstream in(record_path(source_id));
    if (!in) return std::nullopt;
    try {
        Json j = Json::parse(in);
        if (j.value("source", "") != source_id) return std::nullopt;  // a digest collision, or damage
        return j;
    } catch (const Json::exception&) {
        return std::nullopt;  // never written half (atomic), but never trust a damaged file
    }
}

bool OutputStore::is_done(const Json& record) {
    return record.contains("errors") && record["errors"].empty();
}

Json volume_info_json(const VolumeInfo& info) {
    Json j;
    j["id"] = info.id;
    j["source"] = info.source;
    j["format"] = info.format;
    j["size"] = {info.width, info.height, info.slice_count()};
    j["spacing"] = {info.spacing[0], info.spacing[1], info.spacing[2]};
    j["dtype"] = voxel_type_name(info.type);
    return j;
}

Json volume_json(const VolumeRecord& v) {
    Json vj = volume_info_json(v.info);
    vj["kept"] = v.kept;
    vj["pairs"] = v.pairs_computed;
    vj["seconds"] = v.seconds;
    Json slices = Json::array();
    for (const SliceRecord& s : v.slices) {
        Json sj;
        sj["index"] = s.index;
        sj["file"] = s.file.empty() ? Json(nullptr) : Json(s.file);
        sj["z"] = s.z ? Json(*s.z) : Json(nullptr);
        sj["kept"] = s.kept;
        sj["match"] = s.match ? Json(*s.match) : Json(nullptr);
        sj["score"] = number_or_null(s.score);
        if (s.hash) sj["hash"] = *s.hash;
        sj["output"] = s.output.empty() ? Json(nullptr) : Json(s.output);
        if (!s.output_npy.empty()) sj["output_npy"] = s.output_npy;
        slices.push_back(std::move(sj));
    }
    vj["slices"] = std::move(slices);
    return vj;
}

Json errors_json(const std::vector<InputFailure>& errors) {
    Json out = Json::array();
    for (const InputFailure& e : errors) out.push_back({{"path", e.path}, {"message", e.message}});
    return out;
}

void append_errors(const Json& list, std::vector<InputFailure>& out) {
    for (const Json& e : list) out.push_back({e["path"], e["message"]});
}

Json parameters_json(const ReduceConfig& c, const std::vector<std::pair<std::string, std::string>>& metric) {
    Json p;
    p["inputs"] = c.inputs;
    p["method"] = c.method;
    p["threshold"] = number_or_null(c.threshold);
    p["fraction"] = c.fraction ? Json(*c.fraction) : Json(nullptr);
    p["every"] = c.every ? Json(*c.every) : Json(nullptr);
    p["neighbours"] = c.neighbours ? Json(*c.neighbours) : Json(nullptr);
    p["strategy"] = c.method == "everyn" ? Json(nullptr) : Json(strategy_name(c.resolved_strategy()));
    p["order"] = order_name(c.order);
    p["intensity"] = c.intensity.to_string();
    for (const auto& [name, value] : metric) p[name] = Json::parse(value);
    p["format"] = format_name(c.format);
    p["flat"] = c.flat;
    return p;
}

void write_manifests(const OutputStore& store, const Json& header, const std::vector<std::string>& source_ids,
                     const std::vector<InputFailure>& run_errors, ReduceResult& result) {
    // Pass 1: summary, per-volume summaries and errors (small).
    RunSummary& s = result.summary;
    const double seconds = s.seconds;
    s = RunSummary{};
    s.seconds = seconds;
    result.volumes.clear();
    result.errors = run_errors;
    for (const std::string& id : source_ids) {
        const auto record = store.read_record(id);
        if (!record) throw Error(path_text(store.record_path(id)) + ": the record of " + id + " is missing");
        for (const Json& v : (*record)["volumes"]) {
            VolumeSummary vs;
            vs.id = v["id"];
            vs.slices = v["slices"].size();
            vs.kept = v["kept"];
            vs.pairs = v["pairs"];
            vs.seconds = v["seconds"];
            s.slices += vs.slices;
            s.kept += vs.kept;
            s.pairs += vs.pairs;
            result.volumes.push_back(std::move(vs));
        }
        append_errors((*record)["errors"], result.errors);
    }
    std::sort(result.volumes.begin(), result.volumes.end(),
              [](const VolumeSummary& a, const VolumeSummary& b) { return a.id < b.id; });
    std::stable_sort(result.errors.begin(), result.errors.end(),
                     [](const InputFailure& a, const InputFailure& b) { return a.path < b.path; });
    s.volumes = result.volumes.size();
    s.failed = result.errors.size();

    // Pass 2: stream the CSV and the JSON together, one record at a time (sources are in
    // id order; the volumes of one DICOM folder are in id order within its record).
    Json head = header;
    head["summary"] = {{"volumes", s.volumes}, {"slices", s.slices}, {"kept", s.kept},
                       {"pairs", s.pairs},     {"failed", s.failed}, {"seconds", s.seconds}};
    head["errors"] = errors_json(result.errors);
    std::string text = dump_json(head);
    text.pop_back();  // the closing brace
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    AtomicFile csv(store.root() / "manifest.csv");
    AtomicFile json(store.root() / "manifest.json");
    csv.write("volume,index,file,z,kept,match,score,hash,output,output_npy\n");
    json.write(text + ",\n \"volumes\": [");
    bool first = true;
    for (const std::string& id : source_ids) {
        const Json record = *store.read_record(id);  // a named copy: the loop must not outlive it
        for (const Json& v : record["volumes"]) {
            csv.write(csv_rows(v));
            json.write(first ? "\n  " : ",\n  ");
            json.write(indented(dump_json(v), "  "));
            first = false;
        }
    }
    json.write(first ? "]\n}\n" : "\n ]\n}\n");
    // The CSV first, the JSON last: a manifest.json means the run finished.
    csv.commit();
    json.commit();
}

}  // namespace lessmore
