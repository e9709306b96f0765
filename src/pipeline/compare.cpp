#include <lessmore/compare.hpp>
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/number_format.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

using Json = nlohmann::json;

// One run's decisions: volume id -> kept flag per slice index.
using Decisions = std::map<std::string, std::vector<char>>;

Decisions read_decisions(const std::string& dir) {
    const fs::path path = fs::path(dir) / "manifest.json";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw UsageError(dir + ": no such folder");
    std::ifstream in(path);
    if (!in) throw UsageError(dir + ": no manifest.json (not a finished lessmore run)");
    // Only what decisions need is kept while parsing: a manifest of a million slices
    // parses in a few hundred MB instead of several GB.
    static const std::set<std::string> k_keep = {"tool", "volumes", "id", "slices", "index", "kept"};
    const Json::parser_callback_t keep = [](int, Json::parse_event_t event, Json& parsed) {
        return event != Json::parse_event_t::key || k_keep.count(parsed.get<std::string>()) > 0;
    };
    const Json j = Json::parse(in, keep, false);
    // "tool" compared as JSON: value("tool", "") throws when it is not a string.
    if (j.is_discarded() || !j.is_object() || !j.contains("tool") || j["tool"] != "lessmore" || !j.contains("volumes") ||
        !j["volumes"].is_array()) {
        throw UsageError(path_text(path) + ": not a lessmore manifest");
    }
    Decisions out;
    for (const Json& v : j["volumes"]) {
        if (!v.contains("id") || !v["id"].is_string() || !v.contains("slices") || !v["slices"].is_array()) {
            throw UsageError(path_text(path) + ": a volume without id or slices");
        }
        std::vector<char>& kept = out[v["id"].get<std::string>()];
        const Json& slices = v["slices"];
        for (const Json& s : slices) {
            if (!s.contains("index") || !s["index"].is_number_unsigned() || !s.contains("kept") || !s["kept"].is_boolean()) {
                throw UsageError(path_text(path) + ": a slice of " + v["id"].get<std::string>() + " without index or kept");
            }
            // A manifest lists every slice of a volume, so indices stay below their count
            // (and memory below the manifest's own size: one large index per volume made
            // a 1 KB manifest take gigabytes).
            const auto i = s["index"].get<std::size_t>();
            if (i >= slices.size()) {
                throw UsageError(path_text(path) + ": slice index " + std::to_string(i) + " of " + v["id"].get<std::string>() +
                                 ", which lists " + std::to_string(slices.size()) + " slices");
            }
            if (kept.size() <= i) kept.resize(i + 1, 0);
            kept[i] = s["kept"].get<bool>() ? 1 : 0;
        }
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
    const Decisions a = read_decisions(c.a);
    const Decisions b = read_decisions(c.b);
    CompareResult r;
    r.total.id = "total";
    for (const auto& [id, kept] : a) {
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
        const std::vector<char>& other = it->second;
        v.slices = std::max(kept.size(), other.size());
        for (std::size_t i = 0; i < v.slices; ++i) {
            const bool x = i < kept.size() && kept[i], y = i < other.size() && other[i];
            v.kept_a += x;
            v.kept_b += y;
            v.both += x && y;
            v.only_a += x && !y;
            v.only_b += y && !x;
        }
        if (kept.size() != other.size()) r.changed += v.slices;  // not the same volume any more
        else r.changed += v.only_a + v.only_b;
        v.overlap = overlap(v);
        add_to(r.total, v);
        r.volumes.push_back(std::move(v));
    }
    for (const auto& [id, kept] : b) {
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

}  // namespace lessmore
