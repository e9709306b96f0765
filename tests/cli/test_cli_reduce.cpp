// End to end through the binary: manifests, outputs, determinism, reference behaviour.
#include "test_support.hpp"

#include <lessmore/dhash.hpp>

#include <opencv2/imgcodecs.hpp>

#include <map>
#include <set>

namespace lessmore {
namespace {

using nlohmann::json;

int popcount_distance(const std::string& a, const std::string& b) {
    return __builtin_popcountll(std::stoull(a, nullptr, 16) ^ std::stoull(b, nullptr, 16));
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
        const auto end = s.find('\n', pos);
        out.push_back(s.substr(pos, end - pos));
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return out;
}

TEST(CliReduce, BundledSampleManifestAndOutputs) {
    test::TempDir dir;
    const auto out = dir / "out";
    const auto r =
        test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", out.string(), "--threshold", "6"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("example_ct_sm.nii.gz"), std::string::npos);
    const json m = test::read_json(out / "manifest.json");
    EXPECT_EQ(m["tool"], "lessmore");
    EXPECT_FALSE(m["version"].get<std::string>().empty());
    EXPECT_EQ(m["parameters"]["method"], "hash");
    EXPECT_EQ(m["parameters"]["threshold"], 6);
    EXPECT_EQ(m["parameters"]["strategy"], "leader");
    EXPECT_EQ(m["parameters"]["hash_size"], 8);
    EXPECT_EQ(m["run"]["command"].size(), 7u);  // argv[0] included
    ASSERT_EQ(m["volumes"].size(), 1u);
    const json& v = m["volumes"][0];
    EXPECT_EQ(v["id"], "example_ct_sm.nii.gz");
    EXPECT_EQ(v["format"], "nifti");
    EXPECT_EQ(v["size"], json({122, 101, 30}));
    EXPECT_EQ(v["slices"].size(), 30u);
    std::size_t kept = 0;
    std::vector<std::string> kept_hashes;
    for (const json& s : v["slices"]) {
        EXPECT_TRUE(s["file"].is_null());
        EXPECT_EQ(s["hash"].get<std::string>().size(), 16u);
        if (s["kept"]) {
            ++kept;
            kept_hashes.push_back(s["hash"]);
            EXPECT_TRUE(s["match"].is_null());
            const auto file = out / s["output"].get<std::string>();
            EXPECT_TRUE(test::fs::exists(file)) << file;
            // The folder never ends in .nii.gz; the names are zero-padded to the 30 slices.
            const int index = s["index"].get<int>();
            const std::string name = (index < 10 ? "0" : "") + std::to_string(index);
            EXPECT_EQ(s["output"], "slices/example_ct_sm.nii.gz.d/" + name + ".png");
            EXPECT_EQ(s["output_png"], s["output"]);
            EXPECT_TRUE(s["output_npy"].is_null());
        } else {
            EXPECT_TRUE(s["output"].is_null());
            const auto match = s["match"].get<std::size_t>();
            EXPECT_TRUE(v["slices"][match]["kept"].get<bool>());
            EXPECT_LT(match, s["index"].get<std::size_t>());
            EXPECT_LE(s["score"].get<int>(), 6);
            EXPECT_EQ(s["score"].get<int>(), popcount_distance(s["hash"], v["slices"][match]["hash"]));
        }
    }
    EXPECT_EQ(v["kept"], kept);
    EXPECT_EQ(m["summary"]["kept"], kept);
    EXPECT_EQ(m["summary"]["slices"], 30);
    EXPECT_EQ(m["summary"]["failed"], 0);
    EXPECT_GT(kept, 1u);
    EXPECT_LT(kept, 30u);
    // Leader: kept slices end up pairwise dissimilar.
    for (std::size_t a = 0; a < kept_hashes.size(); ++a)
        for (std::size_t b = a + 1; b < kept_hashes.size(); ++b)
            EXPECT_GT(popcount_distance(kept_hashes[a], kept_hashes[b]), 6);
    // Only the kept slices were written, nothing else (no temporaries).
    std::size_t files = 0;
    for (const auto& e : test::fs::recursive_directory_iterator(out / "slices"))
        if (e.is_regular_file()) ++files;
    EXPECT_EQ(files, kept);

    // The CSV has the same rows.
    const auto lines = split_lines(test::read_file(out / "manifest.csv"));
    ASSERT_EQ(lines.size(), 31u);
    EXPECT_EQ(lines[0],
              "volume,index,file,z,kept,match,match_volume,score,hash,output,output_npy,output_png,source,format,"
              "patient,study,series,dtype,position_x,position_y,position_z,row_cosine_x,row_cosine_y,row_cosine_z,"
              "column_cosine_x,column_cosine_y,column_cosine_z,column_spacing,row_spacing,slice_spacing,png_offset");
    std::size_t csv_kept = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) csv_kept += lines[i].find(",true,") != std::string::npos;
    EXPECT_EQ(csv_kept, kept);
}

TEST(CliReduce, PngIsTheEightBitImageTheMetricSaw) {
    test::TempDir dir;
    const auto out = dir / "out";
    ASSERT_EQ(
        test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", out.string(), "-t", "0", "-q"}).exit_code,
        0);
    const json golden = test::read_json(test::source_dir() / "tests/golden/dhash_golden.json");
    std::map<int, std::string> sha;
    for (const auto& gv : golden["volumes"])
        if (gv["dataset"] == "nifti/example_ct_sm.nii.gz")
            for (const auto& s : gv["slices"]) sha[s["index"].get<int>()] = s["minmax_sha256"];
    const json m = test::read_json(out / "manifest.json");
    int checked = 0;
    for (const json& s : m["volumes"][0]["slices"]) {
        if (!s["kept"]) continue;
        const cv::Mat png = cv::imread((out / s["output"].get<std::string>()).string(), cv::IMREAD_UNCHANGED);
        ASSERT_EQ(png.type(), CV_8UC1);
        EXPECT_EQ(test::sha256_hex(png.data, png.total()), sha.at(s["index"].get<int>()));
        ++checked;
    }
    EXPECT_GT(checked, 20);  // threshold 0 keeps every slice with a distinct hash
}

TEST(CliReduce, ThreadCountNeverChangesTheManifest) {
    test::TempDir dir;
    for (const char* strategy : {"leader", "pairs"}) {
        std::vector<std::string> extra = std::string(strategy) == "leader"
                                             ? std::vector<std::string>{"--threshold", "6"}
                                             : std::vector<std::string>{"--fraction", "0.2"};
        std::map<std::string, std::string> csv;
        std::map<std::string, json> manifests;
        for (const char* threads : {"1", "2", "3"}) {
            const auto out = dir / (std::string(strategy) + threads);
            std::vector<std::string> args = {
                "reduce", test::ct_data().string(), "-o", out.string(), "--threads", threads, "--format", "both", "-q"};
            args.insert(args.end(), extra.begin(), extra.end());
            const auto r = test::run_lessmore(args);
            ASSERT_EQ(r.exit_code, 0) << r.err;
            csv[threads] = test::read_file(out / "manifest.csv");
            manifests[threads] = test::stable_manifest(test::read_json(out / "manifest.json"));
            EXPECT_EQ(manifests[threads]["parameters"]["strategy"], strategy);
        }
        EXPECT_EQ(csv["1"], csv["2"]) << strategy;
        EXPECT_EQ(csv["1"], csv["3"]) << strategy;
        EXPECT_EQ(manifests["1"].dump(), manifests["2"].dump()) << strategy;
        EXPECT_EQ(manifests["1"].dump(), manifests["3"].dump()) << strategy;
        EXPECT_EQ(manifests["1"]["volumes"].size(), 3u);
    }
}

// The authors' released loop, computed here from the golden (Pillow) hashes.
std::vector<std::string> authors_leader(const std::vector<std::pair<std::string, std::string>>& file_hash, int t) {
    std::vector<std::string> kept, kept_hash;
    for (const auto& [file, hash] : file_hash) {
        bool similar = false;
        for (const auto& k : kept_hash) similar |= popcount_distance(hash, k) <= t;
        if (!similar) {
            kept.push_back(file);
            kept_hash.push_back(hash);
        }
    }
    return kept;
}

TEST(CliReduce, NameOrderReproducesTheReleasedScript) {
    const json golden = test::read_json(test::source_dir() / "tests/golden/dhash_golden.json");
    for (const auto& gv : golden["volumes"]) {
        if (gv["kind"] != "dicom") continue;
        std::vector<std::pair<std::string, std::string>> by_name;  // golden slices are in sorted name order
        std::vector<std::pair<double, std::pair<std::string, std::string>>> by_z;
        for (const auto& s : gv["slices"]) {
            by_name.emplace_back(s["file"], s["hash"]);
            by_z.push_back({s["z"].get<double>(), {s["file"], s["hash"]}});
        }
        std::sort(by_z.begin(), by_z.end());
        std::vector<std::pair<std::string, std::string>> position;
        for (auto& e : by_z) position.push_back(e.second);
        for (int t : {3, 6, 12}) {
            for (const char* order : {"name", "position"}) {
                test::TempDir dir;
                const auto r = test::run_lessmore(
                    {"reduce", (test::ct_data() / gv["dataset"].get<std::string>()).string(), "-o",
                     (dir / "o").string(), "-t", std::to_string(t), "--order", order, "--format", "none", "-q"});
                ASSERT_EQ(r.exit_code, 0) << r.err;
                const json m = test::read_json(dir / "o" / "manifest.json");
                std::vector<std::string> kept;
                for (const auto& s : m["volumes"][0]["slices"])
                    if (s["kept"]) kept.push_back(s["file"]);
                const auto expected = authors_leader(std::string(order) == "name" ? by_name : position, t);
                EXPECT_EQ(kept, expected) << gv["dataset"] << " t=" << t << " order=" << order;
            }
        }
    }
}

TEST(CliReduce, PairsFractionKeepsCeilOfTheFraction) {
    test::TempDir dir;
    const auto out = dir / "o";
    const auto r = test::run_lessmore(
        {"reduce", test::bundled_sample().string(), "-o", out.string(), "--fraction", "0.1", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json summary = json::parse(r.out);  // stdout holds only the JSON
    EXPECT_EQ(summary["summary"]["kept"], 3);
    const json m = test::read_json(out / "manifest.json");
    EXPECT_EQ(m["parameters"]["strategy"], "pairs");
    for (const auto& s : m["volumes"][0]["slices"]) {
        if (s["kept"]) continue;
        // A removed slice points at its most similar kept slice.
        const auto match = s["match"].get<std::size_t>();
        for (const auto& k : m["volumes"][0]["slices"]) {
            if (k["kept"]) {
                EXPECT_LE(s["score"].get<int>(), popcount_distance(s["hash"], k["hash"]));
            }
        }
        EXPECT_TRUE(m["volumes"][0]["slices"][match]["kept"].get<bool>());
    }
}

TEST(CliReduce, PairsThresholdLeavesNoSimilarPair) {
    test::TempDir dir;
    const auto out = dir / "o";
    ASSERT_EQ(test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", out.string(), "-t", "8",
                                  "--strategy", "pairs", "-q"})
                  .exit_code,
              0);
    const json m = test::read_json(out / "manifest.json");
    std::vector<std::string> kept;
    for (const auto& s : m["volumes"][0]["slices"])
        if (s["kept"]) kept.push_back(s["hash"]);
    for (std::size_t a = 0; a < kept.size(); ++a)
        for (std::size_t b = a + 1; b < kept.size(); ++b) EXPECT_GT(popcount_distance(kept[a], kept[b]), 8);
}

TEST(CliReduce, EveryNByCountAndByFraction) {
    test::TempDir dir;
    ASSERT_EQ(test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", (dir / "a").string(), "--method",
                                  "everyn", "--every", "7", "-q"})
                  .exit_code,
              0);
    const json a = test::read_json(dir / "a" / "manifest.json");
    std::vector<int> kept;
    for (const auto& s : a["volumes"][0]["slices"])
        if (s["kept"]) kept.push_back(s["index"]);
    EXPECT_EQ(kept, (std::vector<int>{0, 7, 14, 21, 28}));
    EXPECT_EQ(a["volumes"][0]["slices"][9]["match"], 7);
    EXPECT_TRUE(a["volumes"][0]["slices"][0]["hash"].is_null());  // no HASH run
    ASSERT_EQ(test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", (dir / "b").string(), "--method",
                                  "everyn", "--fraction", "0.1", "-q"})
                  .exit_code,
              0);
    EXPECT_EQ(test::read_json(dir / "b" / "manifest.json")["summary"]["kept"], 3);  // every 10th of 30
}

TEST(CliReduce, NpyBothAndFlatLayouts) {
    test::TempDir dir;
    const auto out = dir / "o";
    ASSERT_EQ(test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", out.string(), "-t", "6", "--format",
                                  "both", "--flat", "-q"})
                  .exit_code,
              0);
    const json m = test::read_json(out / "manifest.json");
    for (const auto& s : m["volumes"][0]["slices"]) {
        if (!s["kept"]) continue;
        const int index = s["index"].get<int>();
        const std::string stem =
            "slices/example_ct_sm.nii.gz.d_" + std::string(index < 10 ? "0" : "") + std::to_string(index);
        EXPECT_EQ(s["output"], stem + ".png");
        EXPECT_EQ(s["output_npy"], stem + ".npy");
        const std::string npy = test::read_file(out / (stem + ".npy"));
        EXPECT_NE(npy.find("'descr': '<i2'"), std::string::npos);
        EXPECT_NE(npy.find("'shape': (101, 122)"), std::string::npos);
        EXPECT_EQ(npy.size() % 2, 0u);
        EXPECT_EQ(npy.size(), 128u + 101u * 122u * 2u);
    }
}

TEST(CliReduce, DatasetFolderWithSeveralFormats) {
    test::TempDir dir;
    const auto r = test::run_lessmore(
        {"reduce", test::ct_data().string(), "-o", (dir / "o").string(), "-t", "6", "--format", "none", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json s = json::parse(r.out);
    std::vector<std::string> ids;
    for (const auto& v : s["volumes"]) ids.push_back(v["id"]);
    EXPECT_EQ(ids, (std::vector<std::string>{"ge-head-tilt", "nifti/example_ct.nii.gz", "pancreas-ct-cb-001"}));
    EXPECT_EQ(s["summary"]["slices"], 16 + 28 + 112);
}

TEST(CliInfo, ListsVolumesAsTableAndJson) {
    const auto r = test::run_lessmore({"info", test::bundled_sample().string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    ASSERT_EQ(j["volumes"].size(), 1u);
    EXPECT_EQ(j["volumes"][0]["size"], json({122, 101, 30}));
    EXPECT_EQ(j["volumes"][0]["dtype"], "int16");
    const auto t = test::run_lessmore({"info", test::bundled_sample().string()});
    EXPECT_NE(t.out.find("122x101x30"), std::string::npos);
}

}  // namespace
}  // namespace lessmore

namespace lessmore {
namespace {

// The PNGs lessmore writes are the 8-bit images it hashed: reduced again as a folder of
// 8-bit images with --intensity none, they give the same hashes.
TEST(CliReduce, WrittenPngsRehashIdenticallyWithIntensityNone) {
    test::TempDir dir;
    ASSERT_EQ(
        test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", (dir / "a").string(), "-t", "0", "-q"})
            .exit_code,
        0);
    const nlohmann::json a = test::read_json(dir / "a" / "manifest.json");
    const auto pngs = dir / "a" / "slices" / "example_ct_sm.nii.gz.d";
    const auto r = test::run_lessmore({"reduce", pngs.string(), "-o", (dir / "b").string(), "-t", "0", "--intensity",
                                       "none", "--format", "none", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json b = test::read_json(dir / "b" / "manifest.json");
    std::map<std::string, std::string> hash_of_file;
    for (const auto& s : b["volumes"][0]["slices"]) hash_of_file[s["file"]] = s["hash"];
    std::size_t checked = 0;
    for (const auto& s : a["volumes"][0]["slices"]) {
        if (!s["kept"]) continue;
        const std::string name = test::fs::path(s["output"].get<std::string>()).filename().string();
        EXPECT_EQ(hash_of_file.at(name), s["hash"]);
        ++checked;
    }
    EXPECT_GT(checked, 20u);
    EXPECT_EQ(b["volumes"][0]["format"], "images");
    EXPECT_EQ(b["volumes"][0]["dtype"], "uint8");
}

}  // namespace
}  // namespace lessmore
