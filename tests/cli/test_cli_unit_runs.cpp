// The commands that read a unit run back (docs/split.md, section "Unit runs"; docs/output.md,
// section "Unit rows"): split deals the kept units by patient, each row naming its unit's
// file and place, checked here against manifest.json's units and the files on disk.
#include "test_support.hpp"

#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace lessmore {
namespace {

using nlohmann::json;

std::string sample() { return test::bundled_sample().string(); }  // 30 slices, 101x122

// p1 holds two volumes (one patient), p2..p4 one each: five volumes of the sample.
test::fs::path make_dataset(const test::fs::path& root) {
    for (const char* rel : {"p1/a.nii.gz", "p1/b.nii.gz", "p2/ct.nii.gz", "p3/ct.nii.gz", "p4/ct.nii.gz"}) {
        test::fs::create_directories((root / rel).parent_path());
        test::fs::copy_file(sample(), root / rel);
    }
    return root;
}

test::RunResult reduce_units(const test::fs::path& in, const test::fs::path& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"reduce", in.string(), "-o",     out.string(), "-q", "--unit",
                                     "slab:4", "-m",        "everyn", "--every",    "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_lessmore(args);
}

// --unit as the run records it (UnitSpec::to_string()).
std::string parse_unit(const std::string& text) {
    if (text == "slab:8:4") return text;
    if (text == "slab:20") return "slab:20:20";
    return text + ":" + text.substr(text.find(':') + 1);  // patch:Z,Y,X -> patch:Z,Y,X:Z,Y,X
}

std::vector<std::string> csv_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

TEST(CliUnitRuns, SplitDealsKeptUnitsByPatientWithTheirFiles) {
    test::TempDir dir;
    const auto data = make_dataset(dir / "data");
    const auto out = dir / "out";
    ASSERT_EQ(reduce_units(data, out, {"--format", "both"}).exit_code, 0);
    const json m = test::read_json(out / "manifest.json");
    // (volume, unit) -> the manifest's unit row, for kept units.
    std::map<std::pair<std::string, std::size_t>, json> kept;
    std::map<std::string, std::string> patient_of;
    for (const json& v : m["volumes"]) {
        patient_of[v["id"]] = v["patient"];
        for (const json& u : v["units"])
            if (u["kept"].get<bool>()) kept[{v["id"], u["index"]}] = u;
    }
    ASSERT_EQ(kept.size(), 5u * 4u);  // 7 slabs of 4 per volume, every 2nd kept
    const auto r = test::run_lessmore(
        {"split", out.string(), "-o", (dir / "s.json").string(), "--fractions", "0.5,0.3,0.2", "--seed", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("--unit slab:4:4 run"), std::string::npos) << r.out;
    const json s = test::read_json(dir / "s.json");
    EXPECT_EQ(s["lessmore"]["unit"], "slab:4:4");
    EXPECT_TRUE(s["lessmore"]["threshold"].is_null());
    EXPECT_TRUE(s["lessmore"]["floor"].is_null());
    EXPECT_EQ(s["lessmore"]["units"], 4);  // patients
    EXPECT_EQ(s["lessmore"]["groups"], 4);
    EXPECT_EQ(s["excluded"].size(), 0u);
    std::map<std::string, std::string> split_of_patient;
    std::set<std::pair<std::string, std::size_t>> seen;
    std::size_t rows = 0;
    std::vector<std::string> expected_csv = {
        "split,image,volume,patient,unit,first_slice,end_slice,origin_z,origin_y,origin_x,size_z,size_y,size_x,group"};
    for (const char* name : {"training", "validation", "test"}) {
        for (const json& e : s[name]) {
            ++rows;
            const std::string volume = e["volume"];
            const std::size_t unit = e["unit"];
            ASSERT_TRUE(kept.count({volume, unit})) << volume << " " << unit;
            const json& u = kept.at({volume, unit});
            EXPECT_TRUE(seen.insert({volume, unit}).second);
            EXPECT_EQ(e["patient"], patient_of.at(volume));
            EXPECT_EQ(e["origin"], u["origin"]);
            EXPECT_EQ(e["size"], u["size"]);
            EXPECT_EQ(e["first_slice"], u["first_slice"]);
            EXPECT_EQ(e["end_slice"], u["end_slice"]);
            EXPECT_FALSE(e.contains("slice"));
            // The NIfTI the run wrote, relative to the datalist's folder.
            EXPECT_EQ(e["image"], "out/" + u["output"].get<std::string>());
            EXPECT_TRUE(test::fs::is_regular_file(dir / e["image"].get<std::string>()));
            // No patient crosses splits.
            const auto [it, fresh] = split_of_patient.emplace(e["patient"], name);
            EXPECT_EQ(it->second, name) << e["patient"] << " is in " << it->second << " and " << name;
            std::string line = std::string(name) + "," + e["image"].get<std::string>() + "," + volume + "," +
                               e["patient"].get<std::string>() + "," + std::to_string(unit) + "," +
                               std::to_string(e["first_slice"].get<int>()) + "," +
                               std::to_string(e["end_slice"].get<int>());
            for (const char* key : {"origin", "size"})
                for (const json& n : e[key]) line += "," + std::to_string(n.get<int>());
            expected_csv.push_back(line + "," + std::to_string(e["group"].get<int>()));
        }
    }
    EXPECT_EQ(rows, kept.size());  // every kept unit once
    EXPECT_EQ(split_of_patient.size(), 4u);
    EXPECT_EQ(csv_lines(test::read_file(dir / "s.csv")), expected_csv);
    // The summary's per-split unit counts agree with the rows.
    std::size_t counted = 0;
    for (const auto& [name, part] : s["lessmore"]["splits"].items()) {
        EXPECT_EQ(part["slices"].get<std::size_t>(), s[name].size()) << name;
        counted += part["slices"].get<std::size_t>();
    }
    EXPECT_EQ(counted, rows);
}

TEST(CliUnitRuns, SplitByVolumeAndWithoutFilesNamesTheSource) {
    test::TempDir dir;
    const auto data = make_dataset(dir / "data");
    const auto out = dir / "out";
    ASSERT_EQ(reduce_units(data, out, {"--format", "none"}).exit_code, 0);
    const auto r = test::run_lessmore(
        {"split", out.string(), "-o", (dir / "s.json").string(), "--fractions", "0.5,0.5", "--by", "volume"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json s = test::read_json(dir / "s.json");
    EXPECT_EQ(s["lessmore"]["units"], 5);  // volumes
    std::map<std::string, std::string> split_of_volume;
    for (const char* name : {"training", "validation"}) {
        for (const json& e : s[name]) {
            // Nothing written: the row names the source volume file.
            const std::string volume = e["volume"];
            EXPECT_EQ(e["image"], "data/" + volume);
            const auto [it, fresh] = split_of_volume.emplace(volume, name);
            EXPECT_EQ(it->second, name);
        }
    }
    EXPECT_EQ(split_of_volume.size(), 5u);
}

TEST(CliUnitRuns, SplitRefusesThresholdAndFloorOnOneLine) {
    test::TempDir dir;
    const auto data = make_dataset(dir / "data");
    const auto out = dir / "out";
    ASSERT_EQ(reduce_units(data, out, {"--format", "none"}).exit_code, 0);
    for (const auto& [option, value] : {std::pair{"--threshold", "6"}, std::pair{"--floor", "3"}}) {
        const auto r = test::run_lessmore(
            {"split", out.string(), "-o", (dir / "s.json").string(), "--fractions", "0.5,0.5", option, value});
        EXPECT_EQ(r.exit_code, 2) << option;
        EXPECT_EQ(r.err.rfind(std::string("lessmore: error: ") + option + ":", 0), 0u) << r.err;
        EXPECT_NE(r.err.find("--unit slab:4:4"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
        EXPECT_FALSE(test::fs::exists(dir / "s.json"));
    }
}

// Two unit runs of the same --unit: per-unit agreement, computed here from the manifests.
TEST(CliUnitRuns, CompareCountsUnitDecisions) {
    test::TempDir dir;
    const auto data = make_dataset(dir / "data");
    ASSERT_EQ(reduce_units(data, dir / "a", {"--format", "none"}).exit_code, 0);
    ASSERT_EQ(test::run_lessmore({"reduce", data.string(), "-o", (dir / "b").string(), "-q", "--unit", "slab:4:4", "-m",
                                  "everyn", "--every", "3", "--format", "none"})
                  .exit_code,
              0);
    const json ma = test::read_json(dir / "a" / "manifest.json"), mb = test::read_json(dir / "b" / "manifest.json");
    std::size_t units = 0, both = 0, only_a = 0, only_b = 0;
    for (std::size_t k = 0; k < ma["volumes"].size(); ++k) {
        const json &ua = ma["volumes"][k]["units"], &ub = mb["volumes"][k]["units"];
        ASSERT_EQ(ua.size(), ub.size());
        for (std::size_t i = 0; i < ua.size(); ++i) {
            const bool x = ua[i]["kept"], y = ub[i]["kept"];
            ++units;
            both += x && y;
            only_a += x && !y;
            only_b += y && !x;
        }
    }
    ASSERT_GT(only_a + only_b, 0u);
    const auto r = test::run_lessmore({"compare", (dir / "a").string(), (dir / "b").string(), "--json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json c = json::parse(r.out);
    EXPECT_EQ(c["unit"], "slab:4:4");
    EXPECT_EQ(c["total"]["slices"], units);
    EXPECT_EQ(c["total"]["both"], both);
    EXPECT_EQ(c["total"]["only_a"], only_a);
    EXPECT_EQ(c["total"]["only_b"], only_b);
    EXPECT_EQ(c["changed_slices"], only_a + only_b);
    const auto text = test::run_lessmore({"compare", (dir / "a").string(), (dir / "b").string()});
    EXPECT_NE(text.out.find(std::to_string(only_a + only_b) + " of " + std::to_string(units) + " units differ"),
              std::string::npos)
        << text.out;
    const auto same = test::run_lessmore({"compare", (dir / "a").string(), (dir / "a").string()});
    EXPECT_EQ(same.exit_code, 0) << same.err;
    EXPECT_NE(same.out.find("identical (" + std::to_string(units) + " units)"), std::string::npos) << same.out;
    // A unit moved in B: not the same units any more, the whole volume counts as changed.
    json moved = ma;
    moved["volumes"][0]["units"][1]["origin"][0] = 3;
    test::write_file(dir / "moved" / "manifest.json", moved.dump(1));
    const auto m = test::run_lessmore({"compare", (dir / "a").string(), (dir / "moved").string(), "--json"});
    EXPECT_EQ(m.exit_code, 1) << m.err;
    EXPECT_EQ(json::parse(m.out)["changed_slices"], ma["volumes"][0]["units"].size());
}

TEST(CliUnitRuns, CompareRefusesOtherUnitsAndDamagedUnitRowsOnOneLine) {
    test::TempDir dir;
    const auto data = make_dataset(dir / "data");
    ASSERT_EQ(reduce_units(data, dir / "a", {"--format", "none"}).exit_code, 0);
    ASSERT_EQ(test::run_lessmore({"reduce", data.string(), "-o", (dir / "b").string(), "-q", "--unit", "slab:5", "-m",
                                  "everyn", "--every", "2", "--format", "none"})
                  .exit_code,
              0);
    ASSERT_EQ(test::run_lessmore({"reduce", data.string(), "-o", (dir / "s").string(), "-q", "-m", "everyn", "--every",
                                  "2", "--format", "none"})
                  .exit_code,
              0);
    const json ma = test::read_json(dir / "a" / "manifest.json");
    std::vector<std::pair<std::string, std::string>> cases = {
        {"b", "--unit slab:4:4 and " + (dir / "b").string() + " with --unit slab:5:5"},
        {"s", "with --unit slice"},
    };
    const std::vector<std::pair<std::string, std::function<void(json&)>>> damages = {
        {"unit 1: field 'index' is 7", [](json& m) { m["volumes"][0]["units"][1]["index"] = 7; }},
        {"unit 0: field 'origin'",
         [](json& m) {
             m["volumes"][0]["units"][0]["origin"] = json::array({0, -1, 0});
         }},
        {"unit 2: field 'size'", [](json& m) { m["volumes"][1]["units"][2].erase("size"); }},
        {"field 'kept' is 9", [](json& m) { m["volumes"][0]["kept"] = 9; }},
        {"field 'units' is missing", [](json& m) { m["volumes"][0].erase("units"); }},
        {"field 'unit' is missing", [](json& m) { m["volumes"][0].erase("unit"); }},
    };
    for (std::size_t k = 0; k < damages.size(); ++k) {
        json m = ma;
        damages[k].second(m);
        test::write_file(dir / ("d" + std::to_string(k)) / "manifest.json", m.dump(1));
        cases.push_back({"d" + std::to_string(k), "manifest.json: volume '"});
        cases.push_back({"d" + std::to_string(k), damages[k].first});
    }
    for (const auto& [run, message] : cases) {
        const auto r = test::run_lessmore({"compare", (dir / "a").string(), (dir / run).string()});
        EXPECT_EQ(r.exit_code, 2) << run << ": " << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << run << ": " << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    }
}

// report on a unit run: one sheet per volume, counts in units, no heat map; a source changed
// since the run (fewer slices) gets no pictures. The pictures themselves are checked against
// nibabel by tests/golden/check_unit_report.py.
TEST(CliUnitRuns, ReportShowsUnitsAndNoPicturesForAChangedSource) {
    test::TempDir dir;
    const auto data = make_dataset(dir / "data");
    const auto out = dir / "out";
    ASSERT_EQ(reduce_units(data, out, {"--format", "none"}).exit_code, 0);
    // p4's volume now has 6 slices: its units no longer describe it.
    test::write_nifti(data / "p4" / "ct.nii.gz", {8, 8, 6}, 4, std::string(8 * 8 * 6 * 2, '\0'));
    const auto r = test::run_lessmore({"report", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string html = test::read_file(out / "report.html");
    auto count = [&](const std::string& what) {
        std::size_t n = 0;
        for (std::size_t at = html.find(what); at != std::string::npos; at = html.find(what, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("class=\"sheet\""), 4u);
    EXPECT_EQ(count("class=\"heatmap\""), 0u);
    EXPECT_EQ(count("could not be read again"), 1u);
    EXPECT_NE(html.find("5 volumes, 35 units (--unit slab:4:4), 20 kept"), std::string::npos);
    EXPECT_NE(html.find("<th>units</th>"), std::string::npos);
    EXPECT_EQ(count("7 units (slab:4:4), 4 kept"), 5u);
}

// sweep --unit: each threshold's kept units per volume equal a separate reduce --unit run at
// that threshold (SSIM leader, MI pairs, EveryN); a volume smaller than one unit is skipped.
TEST(CliUnitRuns, SweepUnitsEqualsReduceAtEachThreshold) {
    test::TempDir dir;
    const std::string pancreas = (test::ct_data() / "pancreas-ct-cb-001").string();  // 16 slices
    struct Case {
        std::string unit, method, strategy;
        std::vector<std::string> thresholds;
    };
    const std::vector<Case> cases = {
        {"slab:8:4", "ssim", "leader", {"0.3", "0.6", "0.9"}},
        {"patch:8,32,32", "mi", "pairs", {"1.1", "1.2"}},
        {"slab:20", "everyn", "", {"1", "2"}},  // pancreas (16 slices) is skipped
    };
    for (const Case& c : cases) {
        std::string list;
        for (const auto& t : c.thresholds) list += (list.empty() ? "" : ",") + t;
        std::vector<std::string> args = {"sweep", sample(), pancreas,       "--unit", c.unit,
                                         "-m",    c.method, "--thresholds", list,     "--json"};
        if (!c.strategy.empty()) args.insert(args.end(), {"--strategy", c.strategy});
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << c.unit << ": " << r.err;
        const json sweep = json::parse(r.out);
        EXPECT_EQ(sweep["unit"], parse_unit(c.unit)) << c.unit;
        ASSERT_EQ(sweep["thresholds"].size(), c.thresholds.size());
        for (std::size_t k = 0; k < c.thresholds.size(); ++k) {
            const auto out = dir / (c.method + std::to_string(k));
            std::vector<std::string> reduce = {"reduce", sample(), pancreas, "-o",     out.string(), "-q",
                                               "--unit", c.unit,   "-m",     c.method, "--format",   "none"};
            if (c.method == "everyn")
                reduce.insert(reduce.end(), {"--every", c.thresholds[k]});
            else
                reduce.insert(reduce.end(), {"-t", c.thresholds[k], "--strategy", c.strategy});
            ASSERT_EQ(test::run_lessmore(reduce).exit_code, 0) << c.unit;
            const json m = test::read_json(out / "manifest.json");
            const json& row = sweep["thresholds"][k];
            std::size_t units = 0, kept = 0;
            for (const json& v : m["volumes"]) {
                EXPECT_EQ(row["volumes"][v["id"].get<std::string>()], v["kept"]) << c.unit << " " << v["id"];
                units += v["units"].size();
                kept += v["kept"].get<std::size_t>();
            }
            EXPECT_EQ(row["volumes"].size(), m["volumes"].size()) << c.unit;
            EXPECT_EQ(row["slices"], units) << c.unit;
            EXPECT_EQ(row["kept"], kept) << c.unit;
            EXPECT_EQ(sweep["skipped"].size(), m["skipped"].size()) << c.unit;
        }
    }
}

TEST(CliUnitRuns, SweepRefusesWhatReduceRefusesForUnitsOnOneLine) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--unit", "slab:4", "-m", "ssim"}, "at least 7 voxels"},
        {{"--unit", "slab:4:0", "-m", "everyn"}, "--unit"},
        {{"--unit", "slab:8", "-m", "deepnet"}, "deepnet"},
    };
    for (const auto& [extra, message] : cases) {
        std::vector<std::string> args = {"sweep", sample()};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = test::run_lessmore(args);
        EXPECT_EQ(r.exit_code, 2) << message << ": " << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    }
}

// score --unit (values against scikit-image and dhash: tests/golden/check_units.py): what
// it refuses, on one line and before writing; a volume smaller than one unit fails naming it.
TEST(CliUnitRuns, ScoreUnitsRefusesOnOneLineAndWritesNothing) {
    test::TempDir dir;
    const auto out = dir / "m.csv";
    const std::vector<std::tuple<std::vector<std::string>, int, std::string>> cases = {
        {{"--unit", "slab:4", "-m", "ssim"}, 2, "at least 7 voxels"},
        {{"--unit", "slab:4", "--range", "0:8"}, 2, "--range"},
        {{"--unit", "slab:4", "--order", "name"}, 2, "position order"},
        {{"--unit", "slab:8", "-m", "deepnet"}, 2, "deepnet"},
        {{"--unit", "slab:8", "-m", "ssim", "--resize", "64"}, 2, "--resize"},
        {{"--unit", "slab:40"}, 1, "smaller than one unit"},
    };
    for (const auto& [extra, code, message] : cases) {
        std::vector<std::string> args = {"score", sample(), "-o", out.string(), "-q"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = test::run_lessmore(args);
        EXPECT_EQ(r.exit_code, code) << message << ": " << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
        EXPECT_FALSE(test::fs::exists(out)) << message;
    }
    // A valid one: 7 slabs of 4 of the 30 slices, HASH distances (0 on the diagonal).
    const auto r = test::run_lessmore({"score", sample(), "-o", out.string(), "--unit", "slab:4", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("7 x 7 hash scores (units 0 to 6)"), std::string::npos) << r.out;
    const std::string csv = test::read_file(out);
    EXPECT_EQ(csv.rfind("unit,0,1,2,3,4,5,6\n0,0,", 0), 0u) << csv.substr(0, 80);
}

}  // namespace
}  // namespace lessmore
