#include "pipeline/output_store.hpp"
#include "pipeline/scope_pass.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/sha256.hpp>

#include <algorithm>
#include <map>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

using Json = OrderedJson;

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
        for (const char* field : {"index", "file", "z", "kept", "match", "match_volume", "score", "hash", "output", "output_npy"}) {
            out += ',';
            if (s.contains(field)) out += csv_value(s[field]);
        }
        out += '\n';
    }
    return out;
}

// --scope patient: the volume's group, before its slices.
Json with_group(Json vj, const std::map<std::string, std::string>& groups) {
    const auto it = groups.find(vj["id"].get<std::string>());
    if (it == groups.end()) return vj;
    Json out;
    for (auto& [k, v] : vj.items()) {
        if (k == "slices") out["group"] = it->second;
        out[k] = std::move(v);
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

std::optional<Json> read_json(const fs::path& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    Json j = Json::parse(in, nullptr, false);
    if (j.is_discarded()) throw RecordFormatError("not valid JSON");
    return j;
}

}  // namespace

OutputStore::OutputStore(fs::path root) : m_root(std::move(root)) {}

fs::path OutputStore::record_path(const std::string& source_id) const {
    // Ids hold '/', '#' and any name a dataset uses: the file is named by a digest.
    return m_root / ".lessmore" / "records" / (sha256_hex(source_id.data(), source_id.size()).substr(0, 24) + ".json");
}

namespace {

// File systems allow 255 bytes per name: a longer id component keeps its first 180 bytes
// (whole UTF-8 characters) and gains a digest of the whole, so distinct names stay distinct.
std::string short_name(const std::string& name) {
    if (name.size() <= 200) return name;
    std::size_t cut = 180;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    return name.substr(0, cut) + "~" + sha256_hex(name.data(), name.size()).substr(0, 16);
}

}  // namespace

std::string OutputStore::slice_path(const std::string& id, std::size_t index, const char* ext, bool flat) {
    const std::string suffix = std::to_string(index) + "." + ext;
    std::string path = "slices/";
    if (flat) {
        // '/' becomes '+', which ids never hold themselves (io/volume_id.hpp escapes it), so
        // two volumes never share a flat name.
        std::string name = id;
        std::replace(name.begin(), name.end(), '/', '+');
        return path + short_name(name) + "_" + suffix;
    }
    std::size_t start = 0;
    for (std::size_t slash = id.find('/'); ; slash = id.find('/', start)) {
        path += short_name(id.substr(start, slash == std::string::npos ? std::string::npos : slash - start)) + "/";
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return path + suffix;
}

StoreLock::~StoreLock() { ::close(m_fd); }

std::unique_ptr<StoreLock> OutputStore::lock(const std::string& option) const {
    std::error_code ec;
    fs::create_directories(m_root / ".lessmore", ec);
    if (ec) throw UsageError(option + ": cannot create: " + ec.message());
    const fs::path path = m_root / ".lessmore" / "lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw UsageError(option + ": cannot write there: " + errno_text(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK) throw UsageError(option + ": another lessmore is writing there (one run per output folder)");
        throw UsageError(option + ": cannot lock: " + errno_text(err));
    }
    return std::make_unique<StoreLock>(fd);
}

void OutputStore::clear() const {
    std::error_code ec;
    for (const char* name : {"manifest.json", "manifest.csv", "report.html"}) fs::remove(m_root / name, ec);
    for (const char* dir : {"slices", "report"}) {
        fs::remove_all(m_root / dir, ec);
        if (ec) throw Error(path_text(m_root / dir) + ": cannot remove previous outputs: " + ec.message());
    }
    // .lessmore but the lock this process holds: removing it would let another run lock a new one.
    for (const auto& e : fs::directory_iterator(m_root / ".lessmore", ec)) {
        if (e.path().filename() == "lock") continue;
        fs::remove_all(e.path(), ec);
        if (ec) throw Error(path_text(e.path()) + ": cannot remove previous outputs: " + ec.message());
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

bool OutputStore::only_lessmore_files() const {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(m_root, ec)) {
        const std::string name = e.path().filename().string();
        if (name != "slices" && name != ".lessmore" && name != "report" && name != "report.html" &&
            name.rfind("manifest.", 0) != 0 && name.rfind(".manifest.", 0) != 0 && name.rfind(".report.html.", 0) != 0) {
            return false;
        }
    }
    return true;
}

bool OutputStore::finished() const {
    std::error_code ec;
    return fs::is_regular_file(m_root / "manifest.json", ec);
}

void OutputStore::create() const {
    std::error_code ec;
    fs::create_directories(m_root / ".lessmore" / "records", ec);
    if (ec) throw Error(path_text(m_root) + ": cannot create: " + ec.message());
}

void OutputStore::write_run(const RunFile& run) const {
    write_file_atomic(m_root / ".lessmore" / "run.json", dump_json(to_json(run)) + "\n", true);
}

std::optional<RunFile> OutputStore::read_run() const {
    const fs::path path = m_root / ".lessmore" / "run.json";
    try {
        const auto j = read_json(path);
        if (!j) return std::nullopt;
        return run_file_from_json(*j);
    } catch (const RecordFormatError& e) {
        throw UsageError(path_text(path) + ": not a lessmore run (" + e.what() + ")");
    }
}

void OutputStore::write_record(const SourceRecord& record) const {
    write_file_atomic(record_path(record.source), dump_json(to_json(record)) + "\n", true);
}

SourceRecord OutputStore::parse_record(const fs::path& path) const {
    try {
        const auto j = read_json(path);
        if (!j) throw Error(path_text(path) + ": cannot read");
        return source_record_from_json(*j);
    } catch (const RecordFormatError& e) {
        throw Error(path_text(path) + ": damaged record (" + e.what() + ")");
    }
}

std::optional<SourceRecord> OutputStore::read_record(const std::string& source_id) const {
    const fs::path path = record_path(source_id);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    try {
        SourceRecord r = parse_record(path);
        if (r.source != source_id) return std::nullopt;
        return r;
    } catch (const Error&) {
        return std::nullopt;  // never written half (atomic), but never trust a damaged file
    }
}

fs::path OutputStore::checked_slice_path(const std::string& rel) {
    const fs::path p(rel);
    bool inside = !rel.empty() && p.is_relative() && rel.rfind("slices/", 0) == 0;
    for (const fs::path& part : p)
        if (part == ".." || part == ".") inside = false;
    if (!inside) throw UsageError("a record names an output outside slices/ ('" + rel + "')");
    return p;
}

void OutputStore::remove_outputs(const SourceRecord& record) const {
    for (const VolumeRecord& v : record.volumes)
        for (const SliceRecord& s : v.slices)
            for (const std::string* rel : {&s.output, &s.output_npy})
                if (!rel->empty()) remove_output(*rel);
}

void OutputStore::remove_output(const std::string& rel) const {
    std::error_code ec;
    fs::remove(m_root / checked_slice_path(rel), ec);
}

std::vector<SourceRecord> OutputStore::read_all_records() const {
    std::vector<SourceRecord> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(m_root / ".lessmore" / "records", ec)) {
        const std::string name = e.path().filename().string();
        if (e.path().extension() != ".json" || name[0] == '.') continue;
        out.push_back(parse_record(e.path()));
    }
    if (ec) throw Error(path_text(m_root / ".lessmore" / "records") + ": cannot list: " + ec.message());
    // The listing comes in the file system's order.
    std::sort(out.begin(), out.end(), [](const SourceRecord& a, const SourceRecord& b) { return a.source < b.source; });
    return out;
}

void OutputStore::write_manifests(const Json& header, const std::vector<std::string>& source_ids,
                                  const std::vector<InputFailure>& run_errors, ReduceResult& result,
                                  const ScopeOutcome* scope, const std::vector<InputFailure>& run_skipped) const {
    const bool scoped = scope && scope->applied;
    // Pass 1: summary, per-volume summaries and errors (small).
    RunSummary& s = result.summary;
    const double seconds = s.seconds;
    s = RunSummary{};
    s.seconds = seconds;
    result.volumes.clear();
    result.errors = run_errors;
    result.skipped = run_skipped;
    for (const std::string& id : source_ids) {
        const auto record = read_record(id);
        if (!record) throw Error(path_text(record_path(id)) + ": the record of " + id + " is missing or damaged");
        for (const VolumeRecord& v : record->volumes) {
            VolumeSummary vs;
            vs.id = v.info.id;
            vs.slices = v.slices.size();
            vs.kept = v.kept;
            if (scoped) {
                const auto it = scope->removed.find(v.info.id);
                if (it != scope->removed.end()) vs.kept -= it->second.size();
            }
            vs.pairs = v.pairs_computed;
            vs.seconds = v.seconds;
            s.slices += vs.slices;
            s.kept += vs.kept;
            s.pairs += vs.pairs;
            result.volumes.push_back(std::move(vs));
        }
        result.errors.insert(result.errors.end(), record->errors.begin(), record->errors.end());
        result.skipped.insert(result.skipped.end(), record->skipped.begin(), record->skipped.end());
    }
    std::sort(result.volumes.begin(), result.volumes.end(),
              [](const VolumeSummary& a, const VolumeSummary& b) { return a.id < b.id; });
    std::stable_sort(result.errors.begin(), result.errors.end(),
                     [](const InputFailure& a, const InputFailure& b) { return a.path < b.path; });
    std::stable_sort(result.skipped.begin(), result.skipped.end(),
                     [](const InputFailure& a, const InputFailure& b) { return a.path < b.path; });
    s.volumes = result.volumes.size();
    s.failed = result.errors.size();
    s.skipped = result.skipped.size();
    if (scoped) {
        s.removed_across = scope->removed_count();
        result.duplicates = scope->duplicates;
        s.duplicate_volumes = result.duplicates.size();
    }

    // Pass 2: stream the CSV and the JSON together, one record at a time (sources are in
    // id order; the volumes of one DICOM folder are in id order within its record).
    Json head = header;
    head["summary"] = {{"volumes", s.volumes}, {"slices", s.slices}, {"kept", s.kept}, {"pairs", s.pairs},
                       {"failed", s.failed},   {"skipped", s.skipped}, {"seconds", s.seconds}};
    if (scoped) {
        head["summary"]["removed_across_volumes"] = s.removed_across;
        head["summary"]["duplicate_volumes"] = s.duplicate_volumes;
    }
    head["errors"] = to_json(result.errors);
    head["skipped"] = skipped_json(result.skipped);
    if (scoped) head["duplicates"] = duplicates_json(result.duplicates);
    std::string text = dump_json(head);
    text.pop_back();  // the closing brace
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    AtomicFile csv(m_root / "manifest.csv");
    AtomicFile json(m_root / "manifest.json");
    csv.write("volume,index,file,z,kept,match,match_volume,score,hash,output,output_npy\n");
    json.write(text + ",\n \"volumes\": [");
    bool first = true;
    for (const std::string& id : source_ids) {
        auto record = read_record(id);
        if (!record) throw Error(path_text(record_path(id)) + ": the record of " + id + " is missing or damaged");
        for (VolumeRecord& v : record->volumes) {
            if (scoped) apply_scope(*scope, v);
            const Json vj = with_group(to_json(v), scoped ? scope->groups : std::map<std::string, std::string>{});
            csv.write(csv_rows(vj));
            json.write(first ? "\n  " : ",\n  ");
            json.write(indented(dump_json(vj), "  "));
            first = false;
        }
    }
    json.write(first ? "]\n}\n" : "\n ]\n}\n");
    // Both written out before either is renamed into place (a full disk fails them both);
    // the CSV first, the JSON last: a manifest.json means the run finished.
    csv.finish();
    json.finish();
    csv.commit();
    json.commit();
}

}  // namespace lessmore
