#include <lessmore/compare.hpp>
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/number_format.hpp>

#include "pipeline/run_record.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

using Json = nlohmann::json;

// One volume's decisions: a kept flag per slice (or unit) index, and in a unit run the
// volume's resolved unit and each unit's place (two volumes whose units differ are not the
// same volume any more).
struct VolumeDecisions {
    std::vector<char> kept;
    std::string layout;
};

// One run's decisions by volume id, and its --unit ("slice" for a slice run).
struct Decisions {
    std::map<std::string, VolumeDecisions> volumes;
    std::string unit = "slice";
};

// A run's manifest.json, only from a regular file (a FIFO or folder there is refused
// without blocking, a link never followed: docs/output.md, section "OUT's own state").
OwnedFd open_manifest(const std::string& dir) {
    const auto folder = Folder::open(dir);
    if (!folder) throw UsageError(dir + ": no such folder");
    auto file = folder->open_file("manifest.json");
    if (!file) throw UsageError(dir + ": no manifest.json (not a finished lessmore run)");
    return std::move(*file);
}

// One volume's decisions, checked as any record is (pipeline/run_record.hpp): its id, its
// slices numbered 0..n-1 in order, its kept count.
// A unit's place as text, "z,y,x+z,y,x" (origin, size), checked to be three whole numbers each.
std::string unit_place(const Json& u, const std::string& where) {
    std::string text;
    for (const char* key : {"origin", "size"}) {
        if (!u.contains(key) || !u[key].is_array() || u[key].size() != 3 ||
            !std::all_of(u[key].begin(), u[key].end(), [](const Json& n) { return n.is_number_unsigned(); })) {
            throw RecordFormatError(where + "field '" + key + "' is not three whole numbers");
        }
        text += (text.empty() ? "" : "+") + u[key][0].dump() + "," + u[key][1].dump() + "," + u[key][2].dump();
    }
    return text + ";";
}

// One volume's decisions over `rows` ("slices", or "units" in a unit run), numbered
// 0..n-1 in order (their "index"), its kept count the rows marked kept.
VolumeDecisions volume_decisions(const Json& v, bool units) {
    if (!v.is_object() || !v.contains("id") || !v["id"].is_string())
        throw RecordFormatError("a volume without field 'id'");
    const std::string id = v["id"].get<std::string>();
    check_volume_id(id, "id");
    const std::string where = "volume '" + id + "': ";
    const char* rows = units ? "units" : "slices";
    const char* row_name = units ? "unit " : "slice ";
    if (units != v.contains("unit")) {
        throw RecordFormatError(where + (units ? "field 'unit' is missing (the run was made with --unit)"
                                               : "field 'unit' in a run made without --unit"));
    }
    if (!v.contains(rows) || !v[rows].is_array()) throw RecordFormatError(where + "field '" + rows + "' is missing");
    if (!v.contains("kept") || !v["kept"].is_number_unsigned())
        throw RecordFormatError(where + "field 'kept' is missing");
    VolumeDecisions d;
    if (units) {
        if (!v["unit"].is_string()) throw RecordFormatError(where + "field 'unit' is not text");
        d.layout = v["unit"].get<std::string>() + ":";
    }
    std::vector<char>& kept = d.kept;
    for (const Json& s : v[rows]) {
        const std::string slice = where + row_name + std::to_string(kept.size()) + ": ";
        if (!s.is_object() || !s.contains("index") || !s["index"].is_number_unsigned() || !s.contains("kept") ||
            !s["kept"].is_boolean()) {
            throw RecordFormatError(slice + "field 'index' or 'kept' is missing");
        }
        if (s["index"].get<std::size_t>() != kept.size()) {
            throw RecordFormatError(slice + "field 'index' is " + s["index"].dump() + " (" + rows +
                                    " are numbered 0..n-1 in order)");
        }
        if (units) d.layout += unit_place(s, slice);
        kept.push_back(s["kept"].get<bool>() ? 1 : 0);
    }
    const auto count = static_cast<std::size_t>(std::count(kept.begin(), kept.end(), 1));
    if (v["kept"].get<std::size_t>() != count) {
        throw RecordFormatError(where + "field 'kept' is " + v["kept"].dump() + ", not the " + std::to_string(count) +
                                " " + rows + " marked kept");
    }
    return d;
}

// The run's --unit as its manifest's parameters give it: "slice" when absent (slice runs,
// and runs made before --unit, leave it out; compare needs no other parameter).
std::string run_unit(const Json& j) {
    if (!j.contains("parameters")) return "slice";
    const Json& p = j["parameters"];
    if (!p.is_object()) throw RecordFormatError("field 'parameters' is not an object");
    if (!p.contains("unit")) return "slice";
    if (!p["unit"].is_string()) throw RecordFormatError("field 'parameters.unit' is not text");
    return p["unit"].get<std::string>();
}

Decisions read_decisions(const std::string& dir) {
    OwnedFd file = open_manifest(dir);
    const std::string path = path_text(fs::path(dir) / "manifest.json");
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(::fdopen(file.fd(), "rb"), &std::fclose);
    if (!in) throw Error(path + ": cannot read: " + errno_text(errno));
    file.release();  // the FILE closes it
    // Only what decisions need is kept while parsing: a manifest of a million slices
    // parses in a few hundred MB instead of several GB. Slice files' paths are checked as
    // they pass and dropped.
    static const std::set<std::string> k_keep = {"tool",  "parameters", "volumes", "id",     "slices", "units",
                                                 "index", "kept",       "unit",    "origin", "size"};
    std::string key;  // the key whose value comes next
    const Json::parser_callback_t keep = [&](int, Json::parse_event_t event, Json& parsed) {
        if (event == Json::parse_event_t::key) {
            key = parsed.get<std::string>();
            return k_keep.count(key) > 0 || key == "output" || key == "output_npy" || key == "output_png";
        }
        if (event != Json::parse_event_t::value || (key != "output" && key != "output_npy" && key != "output_png"))
            return true;
        if (parsed.is_string())
            check_slice_path(parsed.get<std::string>(), key.c_str());
        else if (!parsed.is_null())
            throw RecordFormatError("field '" + key + "' is not a path");
        key.clear();
        return false;
    };
    Decisions out;
    try {
        const Json j = Json::parse(in.get(), keep, false);
        // "tool" compared as JSON: value("tool", "") throws when it is not a string.
        if (j.is_discarded() || !j.is_object() || !j.contains("tool") || j["tool"] != "lessmore" ||
            !j.contains("volumes") || !j["volumes"].is_array()) {
            throw UsageError(path + ": not a lessmore manifest");
        }
        out.unit = run_unit(j);
        for (const Json& v : j["volumes"]) {
            VolumeDecisions kept = volume_decisions(v, out.unit != "slice");
            if (!out.volumes.emplace(v["id"].get<std::string>(), std::move(kept)).second) {
                throw RecordFormatError("volume '" + v["id"].get<std::string>() + "' is listed twice");
            }
        }
    } catch (const RecordFormatError& e) {
        throw UsageError(path + ": " + e.what());
    }
    return out;
}

void add_to(VolumeComparison& total, const VolumeComparison& v) {
    total.slices += v.slices;
    total.kept_a += v.kept_a;
    total.kept_b += v.kept_b;
    total.both += v.both;
    total.only_a += v.only_a;
    total.only_b += v.only_b;
}

double overlap(const VolumeComparison& v) {
    const std::size_t most = std::max(v.kept_a, v.kept_b);
    return most == 0 ? 1.0 : static_cast<double>(v.both) / static_cast<double>(most);
}

}  // namespace

CompareResult compare_runs(const CompareConfig& c) {
    if (c.max_changed && !(*c.max_changed >= 0.0 && *c.max_changed <= 1.0)) {
        throw UsageError("--max-changed: must be from 0 to 1 (got " + format_number(*c.max_changed) + ")");
    }
    const Decisions da = read_decisions(c.a);
    const Decisions db = read_decisions(c.b);
    if (da.unit != db.unit) {
        // Slices and units, or units of two sizes, are not the same items (docs/usage.md,
        // section "compare").
        throw UsageError("compare: " + c.a + " was made with --unit " + da.unit + " and " + c.b + " with --unit " +
                         db.unit + "; compare runs made with the same --unit");
    }
    const std::map<std::string, VolumeDecisions>& a = da.volumes;
    const std::map<std::string, VolumeDecisions>& b = db.volumes;
    CompareResult r;
    r.unit = da.unit;
    r.total.id = "total";
    for (const auto& [id, volume] : a) {
        const std::vector<char>& kept = volume.kept;
        const auto it = b.find(id);
        VolumeComparison v;
        v.id = id;
        if (it == b.end()) {
            r.only_in_a.push_back(id);
            v.slices = kept.size();
            v.kept_a = static_cast<std::size_t>(std::count(kept.begin(), kept.end(), 1));
            v.only_a = v.kept_a;
            r.changed += v.slices;
            add_to(r.total, v);
            continue;
        }
        const std::vector<char>& other = it->second.kept;
        v.slices = std::max(kept.size(), other.size());
        for (std::size_t i = 0; i < v.slices; ++i) {
            const bool x = i < kept.size() && kept[i], y = i < other.size() && other[i];
            v.kept_a += x;
            v.kept_b += y;
            v.both += x && y;
            v.only_a += x && !y;
            v.only_b += y && !x;
        }
        if (kept.size() != other.size() || volume.layout != it->second.layout)
            r.changed += v.slices;  // not the same volume (or not the same units) any more
        else
            r.changed += v.only_a + v.only_b;
        v.overlap = overlap(v);
        add_to(r.total, v);
        r.volumes.push_back(std::move(v));
    }
    for (const auto& [id, volume] : b) {
        const std::vector<char>& kept = volume.kept;
        if (a.count(id)) continue;
        r.only_in_b.push_back(id);
        VolumeComparison v;
        v.slices = kept.size();
        v.kept_b = static_cast<std::size_t>(std::count(kept.begin(), kept.end(), 1));
        v.only_b = v.kept_b;
        r.changed += v.slices;
        add_to(r.total, v);
    }
    r.total.overlap = overlap(r.total);
    r.changed_fraction = r.total.slices ? static_cast<double>(r.changed) / static_cast<double>(r.total.slices) : 0.0;
    r.identical = r.changed == 0;
    r.within_tolerance = r.identical || (c.max_changed && r.changed_fraction <= *c.max_changed);
    return r;
}

namespace {

nlohmann::ordered_json row_json(const VolumeComparison& v) {
    return {{"id", v.id},     {"slices", v.slices}, {"kept_a", v.kept_a}, {"kept_b", v.kept_b},
            {"both", v.both}, {"only_a", v.only_a}, {"only_b", v.only_b}, {"overlap", v.overlap}};
}

}  // namespace

std::string compare_json(const CompareResult& r, const CompareConfig& c) {
    nlohmann::ordered_json j;
    j["a"] = c.a;
    j["b"] = c.b;
    if (r.unit != "slice") j["unit"] = r.unit;  // a unit run: the counts below are units
    j["identical"] = r.identical;
    j["changed_slices"] = r.changed;
    j["changed_fraction"] = r.changed_fraction;
    j["within_tolerance"] = r.within_tolerance;
    j["total"] = row_json(r.total);
    j["only_in_a"] = r.only_in_a;
    j["only_in_b"] = r.only_in_b;
    j["volumes"] = nlohmann::ordered_json::array();
    for (const VolumeComparison& v : r.volumes) j["volumes"].push_back(row_json(v));
    return j.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace lessmore
