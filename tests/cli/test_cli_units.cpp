// reduce --unit slab|patch end to end through the binary (docs/methods.md, section "3-D
// units"; docs/output.md, sections "Unit rows" and "Unit files"): what is refused before
// anything is written, a volume too small for a unit, the unit rows and files, slices
// unchanged. The values (scores, voxels, affines) are checked against scikit-image,
// dhash, nibabel and pydicom by tests/golden/check_units.py.
#include <lessmore/npy_writer.hpp>

#include "test_support.hpp"

#include <cmath>
#include <map>

namespace lessmore {
namespace {

using nlohmann::json;

std::string pancreas() { return (test::ct_data() / "pancreas-ct-cb-001").string(); }  // 16 slices, 512x512
std::string sample() { return test::bundled_sample().string(); }                      // 30 slices, 101x122

int count_lines(const std::string& text) {
    int n = 0;
    for (char c : text) n += c == '\n';
    return n;
}

TEST(CliUnits, UsageErrorsNameUnitAndWriteNothing) {
    test::TempDir dir;
    const std::string out = (dir / "out").string();
    struct Case {
        std::vector<std::string> extra;
        std::string mention;
    };
    const std::vector<Case> cases = {
        {{"--unit", "slab:4:0", "-m", "everyn", "--every", "2"}, "--unit"},
        {{"--unit", "slab:0", "-m", "everyn", "--every", "2"}, "--unit"},
        {{"--unit", "slab:x", "-m", "everyn", "--every", "2"}, "--unit"},
        {{"--unit", "patch:8,8", "-m", "everyn", "--every", "2"}, "--unit"},
        {{"--unit", "cube:8", "-m", "everyn", "--every", "2"}, "--unit"},
        {{"--unit", "slab:4", "--order", "name", "-m", "everyn", "--every", "2"}, "--order name"},
        {{"--unit", "slab:8", "-m", "deepnet", "-t", "0.9"}, "embeds 2-D slices"},  // the bundled 2-D model
        {{"--unit", "slab:8", "-m", "ssim", "-t", "0.9", "--format", "png"}, "--format png"},
        {{"--unit", "slab:8", "-m", "ssim", "-t", "0.9", "--resize", "64"}, "--resize"},
        {{"--unit", "slab:4", "-m", "ssim", "-t", "0.9"}, "at least 7 voxels"},
        {{"--unit", "patch:8,6,8", "-m", "ssim", "-t", "0.9"}, "at least 7 voxels"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> args = {"reduce", sample(), "-o", out};
        args.insert(args.end(), c.extra.begin(), c.extra.end());
        const auto r = test::run_lessmore(args);
        std::string shown;
        for (const auto& a : c.extra) shown += a + " ";
        EXPECT_EQ(r.exit_code, 2) << shown << r.err;
        EXPECT_NE(r.err.find("--unit"), std::string::npos) << shown << r.err;
        EXPECT_NE(r.err.find(c.mention), std::string::npos) << shown << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << shown << r.err;
        EXPECT_FALSE(test::fs::exists(out)) << shown;
    }
    // --format nifti writes units: refused for slices.
    const auto r = test::run_lessmore({"reduce", sample(), "-o", out, "-t", "6", "--format", "nifti"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--format nifti"), std::string::npos) << r.err;
    EXPECT_FALSE(test::fs::exists(out));
}

TEST(CliUnits, VolumeSmallerThanOneUnitIsSkippedAndTheRunGoesOn) {
    test::TempDir dir;
    const auto out = dir / "out";
    const auto r = test::run_lessmore({"reduce", pancreas(), sample(), "-o", out.string(), "--unit", "slab:20", "-m",
                                       "everyn", "--every", "1", "--progress", "none"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(out / "manifest.json");
    ASSERT_EQ(m["volumes"].size(), 1u);
    EXPECT_EQ(m["volumes"][0]["id"], "example_ct_sm.nii.gz");
    EXPECT_EQ(m["volumes"][0]["units"].size(), 1u);
    EXPECT_EQ(m["volumes"][0]["dropped_units"].size(), 1u);  // slices 20..29
    ASSERT_EQ(m["skipped"].size(), 1u);
    EXPECT_EQ(m["skipped"][0]["path"], pancreas());
    EXPECT_NE(m["skipped"][0]["reason"].get<std::string>().find("smaller than one unit"), std::string::npos);
    EXPECT_EQ(m["summary"]["failed"], 0);
    EXPECT_EQ(m["errors"].size(), 0u);
}

TEST(CliUnits, SlabRowsFilesAndDroppedUnits) {
    test::TempDir dir;
    const auto out = dir / "out";
    // 16 slices, slab:5 -> units at 0, 5, 10; slice 15 is a dropped partial slab.
    const auto r = test::run_lessmore({"reduce", pancreas(), "-o", out.string(), "--unit", "slab:5", "-m", "everyn",
                                       "--every", "2", "--format", "both", "--progress", "none"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(out / "manifest.json");
    EXPECT_EQ(m["parameters"]["unit"], "slab:5:5");
    EXPECT_EQ(m["parameters"]["format"], "both");
    const json& v = m["volumes"][0];
    EXPECT_FALSE(v.contains("slices"));
    EXPECT_EQ(v["unit"], "slab:5:5");
    ASSERT_EQ(v["units"].size(), 3u);
    EXPECT_EQ(v["kept"], 2);
    EXPECT_EQ(v["dropped_units"], json::parse(R"([{"origin": [15, 0, 0], "size": [1, 512, 512]}])"));
    for (std::size_t i = 0; i < 3; ++i) {
        const json& u = v["units"][i];
        EXPECT_EQ(u["origin"], json::array({5 * i, 0, 0}));
        EXPECT_EQ(u["size"], json::array({5, 512, 512}));
        EXPECT_EQ(u["first_slice"], 5 * i);
        EXPECT_EQ(u["end_slice"], 5 * i + 5);
        const bool kept = i % 2 == 0;
        EXPECT_EQ(u["kept"], kept);
        if (kept) {
            const std::string nii = "slices/pancreas-ct-cb-001/unit_" + std::to_string(i) + ".nii.gz";
            EXPECT_EQ(u["output"], nii);
            EXPECT_EQ(u["output_npy"], "slices/pancreas-ct-cb-001/unit_" + std::to_string(i) + ".npy");
            const std::string bytes = test::read_file(out / nii);
            ASSERT_GE(bytes.size(), 2u);
            EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);  // gzip
            EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
        } else {
            EXPECT_EQ(u["match"], i - 1);
            EXPECT_TRUE(u["output"].is_null());
            EXPECT_FALSE(test::fs::exists(out / ("slices/pancreas-ct-cb-001/unit_" + std::to_string(i) + ".nii.gz")));
        }
    }
    EXPECT_EQ(m["summary"]["slices"], 3);  // a unit run counts units
    EXPECT_EQ(m["summary"]["kept"], 2);
    const std::string csv = test::read_file(out / "manifest.csv");
    EXPECT_EQ(csv.rfind("volume,unit,first_slice,end_slice,origin_z,origin_y,origin_x,size_z,size_y,size_x,kept,", 0),
              0u);
    EXPECT_EQ(count_lines(csv), 4);  // header + 3 units
}

// --flat (docs/output.md, section "Unit files"): every kept unit directly in slices/ as
// <folders joined>_unit_<index>, the files the nested run writes, byte for byte.
TEST(CliUnits, FlatWritesTheSameUnitsInOneFolder) {
    test::TempDir dir;
    std::map<std::string, std::string> nested;
    std::map<std::string, std::string> flat;
    for (const bool is_flat : {false, true}) {
        const auto out = dir / (is_flat ? "flat" : "nested");
        std::vector<std::string> args{"reduce", pancreas(), sample(), "-o",         out.string(),
                                      "--unit", "slab:4",   "-m",     "hash",       "-t",
                                      "8",      "--format", "both",   "--progress", "none"};
        if (is_flat) args.push_back("--flat");
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const json m = test::read_json(out / "manifest.json");
        EXPECT_EQ(m["parameters"]["flat"], is_flat);
        for (const json& v : m["volumes"])
            for (const json& u : v["units"]) {
                if (!u["kept"]) continue;
                for (const char* field : {"output", "output_npy"}) {
                    const std::string rel = u[field];
                    const std::string key = v["id"].get<std::string>() + "/" + std::to_string(u["index"].get<int>()) +
                                            (std::string(field) == "output" ? ".nii.gz" : ".npy");
                    (is_flat ? flat : nested)[key] = test::read_file(out / rel);
                    if (is_flat) {
                        EXPECT_EQ(rel.find('/'), rel.rfind('/')) << rel;  // slices/<file>: no folder
                        EXPECT_NE(rel.find("_unit_"), std::string::npos) << rel;
                    }
                }
            }
    }
    EXPECT_FALSE(nested.empty());
    EXPECT_EQ(flat, nested);
    EXPECT_TRUE(test::fs::exists(dir / "flat" / "slices" / "pancreas-ct-cb-001_unit_0.nii.gz"));
}

TEST(CliUnits, MillimetreSlabsResolvePerVolume) {
    test::TempDir dir;
    const auto out = dir / "out";
    // 10 mm at 3 mm spacing: 3 slices (docs/methods.md, section "Unit geometry").
    const auto r = test::run_lessmore({"reduce", pancreas(), "-o", out.string(), "--unit", "slab:10mm", "-m", "everyn",
                                       "--every", "1", "--format", "none", "--progress", "none"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(out / "manifest.json");
    EXPECT_EQ(m["parameters"]["unit"], "slab:10mm:10mm");
    EXPECT_EQ(m["volumes"][0]["unit"], "slab:3:3");
    EXPECT_EQ(m["volumes"][0]["units"].size(), 5u);
    EXPECT_EQ(m["volumes"][0]["units"][4]["origin"], json::array({12, 0, 0}));
}

TEST(CliUnits, SsimUnitsAreTheSameForAnyThreadCount) {
    test::TempDir dir;
    json manifests[2];
    for (int k = 0; k < 2; ++k) {
        const auto out = dir / ("out" + std::to_string(k));
        const auto r = test::run_lessmore({"reduce", sample(), "-o", out.string(), "--unit", "patch:8,32,32:4,16,16",
                                           "-m", "ssim", "-t", "0.6", "-j", k == 0 ? "1" : "2", "--progress", "none"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        manifests[k] = test::stable_manifest(test::read_json(out / "manifest.json"));
    }
    EXPECT_EQ(manifests[0], manifests[1]);
    const json& units = manifests[0]["volumes"][0]["units"];
    EXPECT_GT(units.size(), 10u);
    std::size_t kept = 0;
    for (const json& u : units) kept += u["kept"].get<bool>();
    EXPECT_GT(kept, 0u);
    EXPECT_LT(kept, units.size());  // the threshold decides something
}

TEST(CliUnits, UnitSliceIsTodaysRun) {
    test::TempDir dir;
    const auto a = dir / "a";
    const auto b = dir / "b";
    ASSERT_EQ(test::run_lessmore({"reduce", sample(), "-o", a.string(), "-t", "6", "--progress", "none"}).exit_code, 0);
    ASSERT_EQ(
        test::run_lessmore({"reduce", sample(), "-o", b.string(), "-t", "6", "--unit", "slice", "--progress", "none"})
            .exit_code,
        0);
    EXPECT_EQ(test::read_file(a / "manifest.csv"), test::read_file(b / "manifest.csv"));
    EXPECT_EQ(test::stable_manifest(test::read_json(a / "manifest.json")),
              test::stable_manifest(test::read_json(b / "manifest.json")));
    EXPECT_FALSE(test::read_json(b / "manifest.json")["parameters"].contains("unit"));
    EXPECT_EQ(test::read_file(a / ".lessmore/run.json"), test::read_file(b / ".lessmore/run.json"));
}

// report, compare and split read a unit run back (tests/cli/test_cli_unit_runs.cpp checks
// what each makes of it).
TEST(CliUnits, CommandsThatReadRunsReadAUnitRun) {
    test::TempDir dir;
    const auto out = dir / "out";
    ASSERT_EQ(test::run_lessmore({"reduce", sample(), "-o", out.string(), "--unit", "slab:10", "-m", "everyn",
                                  "--every", "2", "--progress", "none"})
                  .exit_code,
              0);
    const std::vector<std::vector<std::string>> commands = {
        {"report", out.string()},
        {"compare", out.string(), out.string()},
        {"split", out.string(), "-o", (dir / "s.json").string(), "--fractions", "0.5,0.5"},
    };
    for (const auto& args : commands) {
        const auto r = test::run_lessmore(args);
        EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    }
    EXPECT_TRUE(test::fs::exists(dir / "s.json"));
    EXPECT_TRUE(test::fs::exists(out / "report.html"));
}

// --features on units: a row per unit (docs/models.md, section "Features of 3-D units");
// the values are checked against numpy by tests/golden/check_unit_features.py, what is
// refused here.
TEST(CliUnits, UnitFeaturesAreOneRowPerUnitAndBadRowsFailTheVolume) {
    test::TempDir dir;
    const auto feats = dir / "f";
    test::fs::create_directories(feats);
    test::write_file(feats / "index.csv", "volume,file,slices\nexample_ct_sm.nii.gz,example_ct_sm.nii.gz.npy,3\n");
    auto reduce_with = [&](const std::vector<float>& rows, std::size_t n) {
        test::write_file(feats / "example_ct_sm.nii.gz.npy", encode_npy_f32(rows.data(), n, 8));
        return test::run_lessmore({"reduce", sample(), "-o", (dir / "o").string(), "--force", "--unit", "slab:10", "-m",
                                   "deepnet", "--features", feats.string(), "-t", "0.9", "--format", "none",
                                   "--progress", "none"});
    };
    std::vector<float> rows(3 * 8);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>((i * 7) % 5) - 2.0f;
    const auto ok = reduce_with(rows, 3);  // 30 slices: 3 slabs of 10
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    const json m = test::read_json(dir / "o" / "manifest.json");
    EXPECT_EQ(m["volumes"][0]["units"].size(), 3u);
    EXPECT_EQ(m["parameters"]["model"], "features:" + feats.string());

    std::vector<float> per_slice(30 * 8, 1.0f);
    const auto slices = reduce_with(per_slice, 30);
    EXPECT_EQ(slices.exit_code, 1) << slices.err;
    EXPECT_NE(slices.err.find("example_ct_sm.nii.gz.npy: 30 rows, but volume 'example_ct_sm.nii.gz' has 3 units of "
                              "--unit slab:10:10 (one row per unit"),
              std::string::npos)
        << slices.err;
    EXPECT_EQ(count_lines(slices.err), 1) << slices.err;
    rows[1 * 8 + 2] = std::nanf("");
    const auto nan = reduce_with(rows, 3);
    EXPECT_EQ(nan.exit_code, 1) << nan.err;
    EXPECT_NE(nan.err.find("row 1 (unit 1), value 2 is not finite"), std::string::npos) << nan.err;
    test::write_file(feats / "index.csv", "volume,file,slices\nother.nii.gz,other.nii.gz.npy,3\n");
    test::write_file(feats / "other.nii.gz.npy", encode_npy_f32(per_slice.data(), 3, 8));
    const auto unlisted = reduce_with(per_slice, 3);
    EXPECT_EQ(unlisted.exit_code, 1) << unlisted.err;
    EXPECT_NE(unlisted.err.find("index.csv: no row for volume 'example_ct_sm.nii.gz'"), std::string::npos)
        << unlisted.err;
}

// --scope on units (docs/methods.md, section "Scope on units"): a copy of a volume loses
// every unit to the first, is listed as its duplicate, and its files go; the pass's values
// are checked against a Python replay by tests/golden/check_unit_features.py.
TEST(CliUnits, ScopeDatasetRemovesTheUnitsOfACopy) {
    test::TempDir dir;
    const auto in = dir / "in";
    test::fs::create_directories(in);
    test::fs::copy_file(sample(), in / "a.nii.gz");
    test::fs::copy_file(sample(), in / "b.nii.gz");
    const auto out = dir / "out";
    const auto r = test::run_lessmore({"reduce", in.string(), "-o", out.string(), "--unit", "slab:10", "-m", "hash",
                                       "-t", "2", "--scope", "dataset", "--format", "npy", "--progress", "none"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("b.nii.gz duplicates a.nii.gz (100.0% of its kept units)"), std::string::npos) << r.out;
    const json m = test::read_json(out / "manifest.json");
    ASSERT_EQ(m["volumes"].size(), 2u);
    const json& a = m["volumes"][0];
    const json& b = m["volumes"][1];
    EXPECT_EQ(a["kept"], 3);
    EXPECT_EQ(b["kept"], 0);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(a["units"][i]["match_volume"], nullptr);
        EXPECT_TRUE(test::fs::exists(out / a["units"][i]["output"].get<std::string>()));
        EXPECT_EQ(b["units"][i]["kept"], false);
        EXPECT_EQ(b["units"][i]["match_volume"], "a.nii.gz");
        EXPECT_EQ(b["units"][i]["match"], i);
        EXPECT_EQ(b["units"][i]["score"], 0.0);
        EXPECT_EQ(b["units"][i]["output"], nullptr);
    }
    EXPECT_FALSE(test::fs::exists(out / "slices" / "b.nii.gz.d"));
    EXPECT_EQ(m["duplicates"], json::array({{{"volume", "b.nii.gz"}, {"of", "a.nii.gz"}, {"fraction", 1.0}}}));
    // SSIM compares whole blocks: refused across volumes as for slices.
    const auto ssim = test::run_lessmore({"reduce", in.string(), "-o", (dir / "o2").string(), "--unit", "slab:10", "-m",
                                          "ssim", "-t", "0.9", "--scope", "dataset"});
    EXPECT_EQ(ssim.exit_code, 2) << ssim.err;
    EXPECT_NE(ssim.err.find("--scope dataset: not offered for --method ssim"), std::string::npos) << ssim.err;
    EXPECT_FALSE(test::fs::exists(dir / "o2"));
}

TEST(CliUnits, GridTooLargeFailsThatVolumeNamingIt) {
    test::TempDir dir;
    const auto out = dir / "out";
    // 16 x 256 x 256 = 1,048,576 patches: more than pairs' 16384-unit matrix may hold.
    const auto r = test::run_lessmore({"reduce", pancreas(), "-o", out.string(), "--unit", "patch:1,2,2", "-m", "mi",
                                       "-f", "0.5", "--format", "none", "--progress", "none"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("pancreas-ct-cb-001: --unit patch:1,2,2:1,2,2 gives 1048576 units, more than 16384"),
              std::string::npos)
        << r.err;
    const json m = test::read_json(out / "manifest.json");
    EXPECT_EQ(m["errors"].size(), 1u);
    EXPECT_EQ(m["volumes"].size(), 0u);
}

}  // namespace
}  // namespace lessmore
