#include "pipeline/run_record.hpp"

#include "pipeline/record_json.hpp"

#include <lessmore/manifest.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/unit.hpp>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <type_traits>
#include <vector>

namespace lessmore {
using namespace record_json;

namespace {

// id, source, format (and in a manifest the patient, study and series keys) first.
Json volume_head(const VolumeInfo& info) {
    Json j;
    j["id"] = info.id;
    j["source"] = info.source;
    j["format"] = info.format;
    return j;
}

void add_volume_shape(const VolumeInfo& info, Json& j) {
    j["size"] = {info.width, info.height, info.slice_count()};
    j["spacing"] = {info.spacing[0], info.spacing[1], info.spacing[2]};
    j["orientation"] = info.orientation ? Json(*info.orientation) : Json(nullptr);
    j["dtype"] = voxel_type_name(info.type);
}

bool ends_with(const std::string& text, const char* suffix) {
    const std::size_t n = std::char_traits<char>::length(suffix);
    return text.size() >= n && text.compare(text.size() - n, n, suffix) == 0;
}

Json box_json(const UnitBox& b) { return {{"origin", b.origin}, {"size", b.size}}; }

// A unit run's volume: its unit and one row per unit (the records add a kept unit's feature
// with --scope, the manifest the cross-volume match's volume), and the partial units
// dropped at its edges.
void add_units(const VolumeRecord& v, Json& vj, bool record) {
    vj["unit"] = v.unit;
    Json units = Json::array();
    for (const UnitRecord& u : v.units) {
        Json uj;
        uj["index"] = u.index;
        uj["origin"] = u.origin;
        uj["size"] = u.size;
        uj["first_slice"] = u.origin[0];
        uj["end_slice"] = u.origin[0] + u.size[0];
        uj["kept"] = u.kept;
        uj["match"] = optional_json(u.match);
        if (!record) uj["match_volume"] = optional_json(u.match_volume);
        uj["score"] = number_or_null(u.score);
        if (record && u.feature) uj["feature"] = *u.feature;
        uj["output"] = text_or_null(u.output);
        uj["output_npy"] = text_or_null(u.output_npy);
        units.push_back(std::move(uj));
    }
    vj["units"] = std::move(units);
    Json dropped = Json::array();
    for (const UnitBox& b : v.dropped_units) dropped.push_back(box_json(b));
    vj["dropped_units"] = std::move(dropped);
}

}  // namespace

Json volume_info_json(const VolumeInfo& info) {
    Json j = volume_head(info);
    add_volume_shape(info, j);
    return j;
}

Json to_json(const VolumeRecord& v, RecordView view, int patient_depth) {
    const bool record = view == RecordView::Record;
    Json vj = volume_head(v.info);
    if (v.png_offset) vj["png_offset"] = *v.png_offset;
    if (record) {
        // Records keep the digests themselves (empty ones left out); the manifest the keys.
        for (const auto& [key, digest] : {std::pair{"patient", &v.info.patient}, std::pair{"study", &v.info.study},
                                          std::pair{"series", &v.info.series}})
            if (!digest->empty()) vj[key] = *digest;
    } else {
        vj["patient"] = patient_key(v.info, patient_depth);
        vj["study"] = text_or_null(v.info.study);
        vj["series"] = text_or_null(v.info.series);
    }
    add_volume_shape(v.info, vj);
    vj["kept"] = v.kept;
    vj["pairs"] = v.pairs_computed;
    vj["seconds"] = v.seconds;
    if (!v.unit.empty()) {
        add_units(v, vj, record);
        return vj;
    }
    Json slices = Json::array();
    for (const SliceRecord& s : v.slices) {
        const auto& position = s.index < v.info.slices.size() ? v.info.slices[s.index].position : std::nullopt;
        Json sj;
        sj["index"] = s.index;
        sj["file"] = text_or_null(s.file);
        sj["z"] = optional_json(s.z);
        sj["position"] = position ? Json(*position) : Json(nullptr);
        sj["kept"] = s.kept;
        sj["match"] = optional_json(s.match);
        if (record) {
            sj["score"] = number_or_null(s.score);
            if (s.description) sj["hash"] = *s.description;
            if (s.feature) sj["feature"] = *s.feature;
            sj["output"] = text_or_null(s.output);
            if (!s.output_npy.empty()) sj["output_npy"] = s.output_npy;
        } else {
            // Every field on every slice: output is the PNG when one was written, else the
            // NPY; output_png and output_npy name each format's file (docs/output.md).
            sj["match_volume"] = optional_json(s.match_volume);
            sj["score"] = number_or_null(s.score);
            sj["hash"] = s.description ? Json(*s.description) : Json(nullptr);
            sj["output"] = text_or_null(s.output);
            const std::string& npy = ends_with(s.output, ".npy") ? s.output : s.output_npy;
            sj["output_png"] = text_or_null(ends_with(s.output, ".png") ? s.output : std::string());
            sj["output_npy"] = text_or_null(npy);
        }
        slices.push_back(std::move(sj));
    }
    vj["slices"] = std::move(slices);
    return vj;
}

void refuse_unit_run(const RunParameters& p, const std::string& where) {
    if (p.unit == "slice") return;
    throw UsageError(where + ": a run made with --unit " + p.unit +
                     "; this command reads slice runs only (units are not supported here yet)");
}

namespace {

std::array<int, 3> box_side(const Json& j, const char* key) {
    const auto side = get<std::array<int, 3>>(j, key);
    for (int n : side)
        if (n < 0) throw RecordFormatError(std::string("field '") + key + "' is negative");
    return side;
}

void units_from_json(const Json& j, VolumeRecord& v) {
    v.unit = get<std::string>(j, "unit");
    for (const Json& uj : array_field(j, "units")) {
        UnitRecord u;
        u.index = get<std::size_t>(uj, "index");
        u.origin = box_side(uj, "origin");
        u.size = box_side(uj, "size");
        u.kept = get<bool>(uj, "kept");
        u.match = get_optional<std::size_t>(uj, "match");
        u.score = get_optional<double>(uj, "score");
        u.feature = get_optional<std::string>(uj, "feature");
        u.output = text_or_empty(uj, "output");
        u.output_npy = text_or_empty(uj, "output_npy");
        v.units.push_back(std::move(u));
    }
    for (const Json& bj : array_field(j, "dropped_units"))
        v.dropped_units.push_back({box_side(bj, "origin"), box_side(bj, "size")});
}

VolumeRecord volume_record_from_json(const Json& j) {
    VolumeRecord v;
    VolumeInfo& info = v.info;
    info.id = get<std::string>(j, "id");
    info.source = get<std::string>(j, "source");
    info.format = get<std::string>(j, "format");
    const auto size = get<std::vector<std::size_t>>(j, "size");
    const auto spacing = get<std::vector<double>>(j, "spacing");
    if (size.size() != 3 || spacing.size() != 3)
        throw RecordFormatError("field 'size' or 'spacing' does not have 3 values");
    if (size[0] > INT_MAX || size[1] > INT_MAX) throw RecordFormatError("field 'size' is implausible");
    info.width = static_cast<int>(size[0]);
    info.height = static_cast<int>(size[1]);
    info.spacing = {spacing[0], spacing[1], spacing[2]};
    info.orientation = get_optional<std::array<double, 6>>(j, "orientation");
    info.type = voxel_type_of(get<std::string>(j, "dtype"));
    info.patient = get_optional<std::string>(j, "patient").value_or("");
    info.study = get_optional<std::string>(j, "study").value_or("");
    info.series = get_optional<std::string>(j, "series").value_or("");
    v.png_offset = get_optional<std::int64_t>(j, "png_offset");
    v.kept = get<std::size_t>(j, "kept");
    v.pairs_computed = get<std::size_t>(j, "pairs");
    v.seconds = get<double>(j, "seconds");
    if (j.contains("unit")) {
        // A unit run keeps no slice rows: the volume's slice count is its size alone.
        if (size[2] > (std::size_t{1} << 24)) throw RecordFormatError("field 'size' is implausible");
        info.slices.resize(size[2]);
        units_from_json(j, v);
        return v;
    }
    for (const Json& sj : array_field(j, "slices")) {
        SliceRecord s;
        s.index = get<std::size_t>(sj, "index");
        s.file = text_or_empty(sj, "file");
        s.z = get_optional<double>(sj, "z");
        s.kept = get<bool>(sj, "kept");
        s.match = get_optional<std::size_t>(sj, "match");
        s.score = get_optional<double>(sj, "score");
        s.description = get_optional<std::string>(sj, "hash");
        s.feature = get_optional<std::string>(sj, "feature");
        s.output = text_or_empty(sj, "output");
        s.output_npy = text_or_empty(sj, "output_npy");
        info.slices.push_back({s.file, s.z, get_optional<std::array<double, 3>>(sj, "position")});
        v.slices.push_back(std::move(s));
    }
    if (v.slices.size() != size[2]) throw RecordFormatError("field 'slices' does not hold 'size'[2] slices");
    return v;
}

}  // namespace

Json to_json(const SourceRecord& r) {
    Json j;
    j["source"] = r.source;
    j["fingerprint"] = r.fingerprint;
    j["volumes"] = Json::array();
    for (const VolumeRecord& v : r.volumes) j["volumes"].push_back(to_json(v, RecordView::Record));
    j["errors"] = to_json(r.errors);
    j["skipped"] = skipped_json(r.skipped);
    return j;
}

SourceRecord source_record_from_json(const Json& j) {
    SourceRecord r;
    r.source = get<std::string>(j, "source");
    r.fingerprint = text_or_empty(j, "fingerprint");
    for (const Json& v : array_field(j, "volumes")) r.volumes.push_back(volume_record_from_json(v));
    r.errors = errors_from_json(array_field(j, "errors"));
    for (const Json& e : array_field(j, "skipped"))
        r.skipped.push_back({get<std::string>(e, "path"), get<std::string>(e, "reason")});
    validate(r);
    return r;
}

namespace {

const char* merge_state_name(MergeState s) {
    switch (s) {
    case MergeState::Linking:
        return "linking";
    case MergeState::Committed:
        return "committed";
    case MergeState::Moved:
        return "moved";
    }
    return "?";
}

}  // namespace

Json to_json(const MergeJournal& m) {
    Json j = tool_stamp();
    j["shards"] = m.shards;
    j["move"] = m.move;
    j["state"] = merge_state_name(m.state);
    return j;
}

MergeJournal merge_journal_from_json(const Json& j) {
    if (get<std::string>(j, "tool") != "lessmore") throw RecordFormatError("not written by lessmore");
    MergeJournal m;
    m.shards = get<std::vector<std::string>>(j, "shards");
    m.move = get<bool>(j, "move");
    m.state = named(get<std::string>(j, "state"), {MergeState::Linking, MergeState::Committed, MergeState::Moved},
                    &merge_state_name, "state");
    return m;
}

std::string patient_key(const VolumeInfo& info, int depth) {
    if (!info.patient.empty()) return "patient:" + info.patient;
    std::string group;
    std::size_t start = 0;
    for (int level = 0; level < depth && start <= info.id.size(); ++level) {
        const std::size_t slash = info.id.find('/', start);
        const std::string part = info.id.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        group += (level ? "/" : "") + part.substr(0, part.find('#'));  // '#' only ever marks a series
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return "folder:" + group;
}

Json to_json(const RunSummary& s) {
    Json j = {{"volumes", s.volumes}, {"slices", s.slices},   {"kept", s.kept},      {"pairs", s.pairs},
              {"failed", s.failed},   {"skipped", s.skipped}, {"seconds", s.seconds}};
    if (s.across_volumes) {
        j["removed_across_volumes"] = s.removed_across;
        j["duplicate_volumes"] = s.duplicate_volumes;
    }
    return j;
}

Json duplicates_json(const std::vector<VolumeDuplicate>& duplicates) {
    Json out = Json::array();
    for (const VolumeDuplicate& d : duplicates)
        out.push_back({{"volume", d.volume}, {"of", d.of}, {"fraction", d.fraction}});
    return out;
}

Json skipped_json(const std::vector<InputFailure>& skipped) {
    Json out = Json::array();
    for (const InputFailure& e : skipped) out.push_back({{"path", e.path}, {"reason", e.message}});
    return out;
}

Json to_json(const std::vector<InputFailure>& errors) {
    Json out = Json::array();
    for (const InputFailure& e : errors) out.push_back({{"path", e.path}, {"message", e.message}});
    return out;
}

std::string dump_json(const Json& j) { return j.dump(1, ' ', false, Json::error_handler_t::replace); }

Json tool_stamp() { return {{"tool", "lessmore"}, {"version", version()}}; }

}  // namespace lessmore
