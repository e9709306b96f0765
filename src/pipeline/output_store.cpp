#include "pipeline/output_store.hpp"
#include "pipeline/scope_pass.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/manifest.hpp>
#include <lessmore/sha256.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <optional>
#include <string>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

using Json = OrderedJson;

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

Json parse_json(const std::string& text) {
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) throw RecordFormatError("not valid JSON");
    return j;
}

constexpr const char* k_records = ".lessmore/records";
constexpr const char* k_run = ".lessmore/run.json";
constexpr const char* k_journal = ".lessmore/merge.json";

bool is_temporary(const std::string& name) {
    return !name.empty() && name[0] == '.' && name.find(".tmp-") != std::string::npos;
}

// Walks one of lessmore's folders: a link anywhere in it is refused (naming it); with
// `remove`, temporaries are removed.
void sweep(const Folder& folder, bool remove) {
    for (const FolderEntry& e : folder.list()) {
        if (e.kind == EntryKind::Link) folder.check(e.name, EntryKind::File);  // throws, naming it
        if (e.kind == EntryKind::Folder) {
            if (const auto sub = folder.find(e.name)) sweep(*sub, remove);
        } else if (remove && e.kind == EntryKind::File && is_temporary(e.name)) {
            folder.remove_file(e.name);
        }
    }
}

// A record's slice path, checked before anything is done with it.
const std::string& checked(const std::string& rel) {
    try {
        check_slice_path(rel, "output");
    } catch (const RecordFormatError& e) {
        throw UsageError(std::string("a record's ") + e.what());
    }
    return rel;
}

}  // namespace

OrderedJson manifest_volume_json(VolumeRecord v, const ScopeOutcome& scope, int patient_depth) {
    if (!scope.applied) return to_json(v, RecordView::Manifest, patient_depth);
    apply_scope(scope, v);
    return with_group(to_json(v, RecordView::Manifest, patient_depth), scope.groups);
}

OutputStore::OutputStore(fs::path root) : m_root(std::move(root)) {}

std::optional<Folder> OutputStore::folder() const { return Folder::open(m_root); }

Folder OutputStore::open_root() const {
    auto root = folder();
    if (!root) throw Error(path_text(m_root) + ": no such folder");
    return std::move(*root);
}

std::string OutputStore::record_name(const std::string& source_id) {
    // Ids hold '/', '#' and any name a dataset uses: the file is named by a digest.
    return std::string(k_records) + "/" + sha256_hex(source_id.data(), source_id.size()).substr(0, 24) + ".json";
}

StoreLock::~StoreLock() { ::close(m_fd); }

std::unique_ptr<StoreLock> OutputStore::lock(const std::string& option, bool replace_link) const {
    std::error_code ec;
    fs::create_directories(m_root, ec);  // OUT itself and above: the user's path, as named
    if (ec) throw UsageError(option + ": cannot create: " + ec.message());
    const Folder root = open_root();
    if (replace_link && root.kind(".lessmore") == EntryKind::Link) root.remove_file(".lessmore");
    const Folder own = root.make(".lessmore");  // refuses a link
    // Links where lessmore keeps its own files are never lessmore's: --force removes the
    // ones read before clear() runs (the lock, a merge's journal) as links.
    for (const char* name : {"lock", "merge.json"})
        if (replace_link && own.kind(name) == EntryKind::Link) own.remove_file(name);
    own.check("lock", EntryKind::File);
    const int fd = ::openat(own.fd(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) throw UsageError(option + ": cannot write there: " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw UsageError(path_text(own.path_of("lock")) + ": not a regular file");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK)
            throw UsageError(option + ": another lessmore is writing there (one run per output folder)");
        throw UsageError(option + ": cannot lock: " + errno_text(err));
    }
    return std::make_unique<StoreLock>(fd);
}

void OutputStore::check_layout() const {
    const auto root = folder();
    if (!root) return;
    for (const char* name : {".lessmore", k_records, "slices", "report"}) root->check(name, EntryKind::Folder);
    for (const char* name : {"manifest.json", "manifest.csv", "report.html", k_run, k_journal, ".lessmore/lock"}) {
        root->check(name, EntryKind::File);
    }
}

void OutputStore::clear() const {
    const auto root = folder();
    if (!root) return;
    const auto journal = read_journal();
    if (journal && journal->state == MergeState::Committed) {
        throw UsageError(path_text(m_root) +
                         ": a merge --move into it was interrupted while removing the shards' copies "
                         "(rerun that merge with --move to finish it; clearing now would lose slices)");
    }
    for (const char* name : {"manifest.json", "manifest.csv", "report.html"}) {
        if (root->kind(name) == EntryKind::Folder) root->check(name, EntryKind::File);  // throws
        root->remove_file(name);
    }
    for (const char* name : {"slices", "report"}) root->remove(name);  // a link is removed as a link
    // What a killed write of those files left (".manifest.csv.tmp-…"): lessmore's own, and a
    // rerun would otherwise leave it beside the new manifest (a merge killed while writing its
    // manifests, then rerun: tests/cli/test_cli_outstate.cpp, MergeMoveKilledAtRandomMoments…).
    for (const FolderEntry& e : root->list()) {
        const bool ours = e.name.rfind(".manifest.", 0) == 0 || e.name.rfind(".report.html.", 0) == 0;
        if (e.kind == EntryKind::File && ours && is_temporary(e.name)) root->remove_file(e.name);
    }
    // .lessmore but the lock this process holds: removing it would let another run lock a new one.
    if (const auto own = root->find(".lessmore")) {
        for (const FolderEntry& e : own->list())
            if (e.name != "lock") own->remove(e.name);
    }
}

void OutputStore::retract_manifests() const {
    const auto root = folder();
    if (!root) return;
    for (const char* name : {"manifest.json", "manifest.csv"}) {
        if (root->kind(name) == EntryKind::Folder) root->check(name, EntryKind::File);  // throws
        root->remove_file(name);
    }
}

void OutputStore::remove_temporaries() const {
    const auto root = folder();
    if (!root) return;
    for (const FolderEntry& e : root->list())
        if (e.kind == EntryKind::File && is_temporary(e.name)) root->remove_file(e.name);
    for (const char* name : {".lessmore", "slices", "report"})
        if (const auto sub = root->find(name)) sweep(*sub, true);
}

void OutputStore::check_no_links() const {
    check_layout();
    const auto root = folder();
    if (!root) return;
    for (const char* name : {".lessmore", "slices"})
        if (const auto sub = root->find(name)) sweep(*sub, false);
}

bool OutputStore::only_lessmore_files() const {
    const auto root = folder();
    if (!root) return true;
    for (const FolderEntry& e : root->list()) {
        const std::string& name = e.name;
        if (name != "slices" && name != ".lessmore" && name != "report" && name != "report.html" &&
            name.rfind("manifest.", 0) != 0 && name.rfind(".manifest.", 0) != 0 &&
            name.rfind(".report.html.", 0) != 0) {
            return false;
        }
    }
    return true;
}

bool OutputStore::finished() const {
    const auto root = folder();
    if (!root) return false;
    root->check("manifest.json", EntryKind::File);
    return root->kind("manifest.json") == EntryKind::File;
}

void OutputStore::create() const {
    std::error_code ec;
    fs::create_directories(m_root, ec);  // OUT itself: the user's path, as named
    if (ec) throw Error(path_text(m_root) + ": cannot create: " + ec.message());
    open_root().make(k_records);
}

void OutputStore::write_run(const RunFile& run) const {
    write_file_atomic(open_root().make(".lessmore"), "run.json", dump_json(to_json(run)) + "\n", true);
}

namespace {

// "MAJOR.MINOR.PATCH" as numbers; nullopt for anything else.
std::optional<std::array<long, 3>> version_numbers(const std::string& text) {
    std::array<long, 3> v{};
    std::size_t pos = 0;
    for (std::size_t k = 0; k < 3; ++k) {
        std::size_t used = 0;
        if (pos >= text.size() || text[pos] < '0' || text[pos] > '9') return std::nullopt;
        try {
            v[k] = std::stol(text.substr(pos), &used);
        } catch (const std::exception&) {
            return std::nullopt;
        }
        pos += used;
        if (k < 2 && (pos >= text.size() || text[pos++] != '.')) return std::nullopt;
    }
    return pos == text.size() ? std::optional(v) : std::nullopt;
}

// The first version whose OUT layout this one reads: 0.2.0 renamed the files under slices/
// and added the manifest's geometry, keys and output_png (docs/output.md, section
// "Versions"). Empty when `written` has this layout, else why it is refused.
std::string layout_refusal(const std::string& written) {
    constexpr std::array<long, 3> k_layout_since{0, 2, 0};
    const auto w = version_numbers(written);
    const auto self = version_numbers(version());
    if (w && *w >= k_layout_since && self && *w <= *self) return "";
    if (w && *w < k_layout_since)
        return "written by lessmore " + written + ", whose output layout (slice file names, manifest fields) " +
               "is older than this version's (" + version() + "); reduce it again with --force";
    return "written by lessmore " + written + ", not a layout lessmore " + version() + " knows; use lessmore " +
           written + " with it, or reduce it again with --force";
}

}  // namespace

std::optional<RunFile> OutputStore::read_run() const {
    const auto root = folder();
    if (!root) return std::nullopt;
    const auto text = root->read_file(k_run);
    if (!text) return std::nullopt;
    const std::string where = path_text(root->path_of(k_run));
    try {
        const Json j = parse_json(*text);
        // The version names OUT's layout (docs/output.md, section "Versions"): what a version
        // of another layout wrote is refused as a whole, before any of its records or names
        // is read.
        if (j.is_object() && j.contains("version") && j["version"].is_string()) {
            const std::string written = j["version"].get<std::string>();
            const std::string refusal = layout_refusal(written);
            if (!refusal.empty()) throw UsageError(where + ": " + refusal);
        }
        return run_file_from_json(j);
    } catch (const RecordFormatError& e) {
        throw UsageError(where + ": not a lessmore run (" + e.what() + ")");
    }
}

void OutputStore::write_record(const SourceRecord& record) const {
    const std::string rel = record_name(record.source);
    write_file_atomic(open_root().make(k_records), rel.substr(rel.rfind('/') + 1), dump_json(to_json(record)) + "\n",
                      true);
}

SourceRecord OutputStore::parse_record(const Folder& root, const std::string& rel) const {
    const auto text = root.read_file(rel);
    if (!text) throw RecordFormatError(path_text(root.path_of(rel)) + ": missing");
    try {
        return source_record_from_json(parse_json(*text));
    } catch (const RecordFormatError& e) {
        throw RecordFormatError(path_text(root.path_of(rel)) + ": damaged record (" + e.what() + ")");
    }
}

std::optional<SourceRecord> OutputStore::read_record(const std::string& source_id, std::string* damage) const {
    const auto root = folder();
    const std::string rel = record_name(source_id);
    if (!root || root->kind(rel) == EntryKind::Missing) return std::nullopt;
    try {
        SourceRecord r = parse_record(*root, rel);
        if (r.source == source_id) return r;
        if (damage) *damage = path_text(root->path_of(rel)) + ": the record of another source (" + r.source + ")";
    } catch (const RecordFormatError& e) {
        // Never written half (atomic), but never trusted when damaged or forged.
        if (damage) *damage = e.what();
    }
    return std::nullopt;
}

SourceRecord OutputStore::load_record(const std::string& source_id) const {
    const Folder root = open_root();
    const std::string rel = record_name(source_id);
    if (root.kind(rel) == EntryKind::Missing) {
        throw UsageError(path_text(m_root) + ": has no record of " + source_id + " (unfinished run?)");
    }
    try {
        SourceRecord r = parse_record(root, rel);
        if (r.source != source_id) {
            throw UsageError(path_text(root.path_of(rel)) + ": field 'source' is '" + r.source + "', not " + source_id);
        }
        return r;
    } catch (const RecordFormatError& e) {
        throw UsageError(e.what());
    }
}

void OutputStore::remove_outputs(const SourceRecord& record) const {
    for (const VolumeRecord& v : record.volumes) {
        for (const SliceRecord& s : v.slices)
            for (const std::string* rel : {&s.output, &s.output_npy})
                if (!rel->empty()) remove_output(*rel);
        for (const UnitRecord& u : v.units)
            for (const std::string* rel : {&u.output, &u.output_npy})
                if (!rel->empty()) remove_output(*rel);
    }
}

void OutputStore::remove_output(const std::string& rel) const {
    if (const auto root = folder()) root->remove_file(checked(rel));
}

void OutputStore::remove_empty_folder(const std::string& rel) const {
    if (const auto root = folder()) root->remove_if_empty(checked(rel));
}

std::vector<SourceRecord> OutputStore::read_all_records() const {
    const Folder root = open_root();
    const auto records = root.find(k_records);
    if (!records) throw UsageError(path_text(root.path_of(k_records)) + ": missing (not a lessmore run)");
    std::vector<SourceRecord> out;
    for (const FolderEntry& e : records->list()) {
        if (fs::path(e.name).extension() != ".json" || e.name[0] == '.') continue;
        try {
            out.push_back(parse_record(root, std::string(k_records) + "/" + e.name));
        } catch (const RecordFormatError& err) {
            throw UsageError(err.what());
        }
    }
    // The listing comes in the file system's order.
    std::sort(out.begin(), out.end(), [](const SourceRecord& a, const SourceRecord& b) { return a.source < b.source; });
    return out;
}

std::optional<MergeJournal> OutputStore::read_journal() const {
    const auto root = folder();
    const auto text = root ? root->read_file(k_journal) : std::nullopt;
    if (!text) return std::nullopt;
    try {
        return merge_journal_from_json(parse_json(*text));
    } catch (const RecordFormatError& e) {
        throw UsageError(path_text(root->path_of(k_journal)) + ": damaged (" + e.what() + ")");
    }
}

void OutputStore::write_journal(const MergeJournal& journal) const {
    write_file_atomic(open_root().make(".lessmore"), "merge.json", dump_json(to_json(journal)) + "\n", true);
}

void OutputStore::remove_journal() const { open_root().remove_file(k_journal); }

void OutputStore::write_manifests(const Json& header, const RunParameters& parameters,
                                  const std::vector<std::string>& source_ids,
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
        if (!record)
            throw Error(path_text(m_root / record_name(id)) + ": the record of " + id + " is missing or damaged");
        for (const VolumeRecord& v : record->volumes) {
            VolumeSummary vs;
            vs.id = v.info.id;
            vs.slices = v.unit.empty() ? v.slices.size() : v.units.size();  // a unit run counts units
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
        s.across_volumes = true;
        s.removed_across = scope->removed_count();
        result.duplicates = scope->duplicates;
        s.duplicate_volumes = result.duplicates.size();
    }

    // Pass 2: stream the CSV and the JSON together, one record at a time (sources are in
    // id order; the volumes of one DICOM folder are in id order within its record).
    Json head = header;
    head["summary"] = to_json(s);
    head["errors"] = to_json(result.errors);
    head["skipped"] = skipped_json(result.skipped);
    if (s.across_volumes) head["duplicates"] = duplicates_json(result.duplicates);
    std::string text = dump_json(head);
    text.pop_back();  // the closing brace
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    const Folder root = open_root();
    AtomicFile csv(root, "manifest.csv");
    AtomicFile json(root, "manifest.json");
    const bool units = parameters.unit != "slice";
    csv.write(units ? manifest_unit_csv_header() : manifest_csv_header());
    json.write(text + ",\n \"volumes\": [");
    bool first = true;
    for (const std::string& id : source_ids) {
        auto record = read_record(id);
        if (!record)
            throw Error(path_text(m_root / record_name(id)) + ": the record of " + id + " is missing or damaged");
        for (VolumeRecord& v : record->volumes) {
            const Json vj = scoped ? manifest_volume_json(std::move(v), *scope, parameters.patient_depth)
                                   : manifest_volume_json(std::move(v), ScopeOutcome{}, parameters.patient_depth);
            csv.write(units ? manifest_unit_csv_rows(vj) : manifest_csv_rows(vj));
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
