// Features in and out (docs/models.md, "Features in and out"): --save-features writes what a
// run computed; --features reads embeddings computed elsewhere, and reduce, --scope, sweep,
// score and report give from them exactly what the in-process run gives; bad feature files
// fail their volume (exit 1) or, when the folder is unusable as a whole, the run (exit 2).
#include "test_support.hpp"

#include <lessmore/npy_writer.hpp>

#include <cmath>
#include <cstring>

namespace lessmore {
namespace {

using nlohmann::json;

// Two volumes: the bundled sample and a copy of it (so --scope dataset removes the copy).
test::fs::path two_volumes(const test::TempDir& dir) {
    const auto in = dir / "in";
    test::fs::create_directories(in);
    test::fs::copy_file(test::bundled_sample(), in / "a.nii.gz");
    test::fs::copy_file(test::bundled_sample(), in / "b.nii.gz");
    return in;
}

test::RunResult run(std::vector<std::string> args) {
    args.push_back("-q");
    return test::run_lessmore(args);
}

// The decisions of a manifest: per volume, per slice (kept, match, score, scope match).
json decisions(const test::fs::path& out) {
    const json m = test::read_json(out / "manifest.json");
    json d = json::array();
    for (const auto& v : m["volumes"]) {
        json slices = json::array();
        for (const auto& s : v["slices"]) {
            json t = s;
            t.erase("description");
            slices.push_back(t);
        }
        d.push_back({{"id", v["id"]}, {"slices", slices}});
    }
    return {{"volumes", d},
            {"summary", test::stable_manifest(m)["summary"]},
            {"duplicates", m.value("duplicate_volumes", json())}};
}

// A float32 .npy's values (2-D, C order) and shape.
std::vector<float> read_npy_f32(const test::fs::path& p, std::size_t& rows, std::size_t& cols) {
    const std::string npy = test::read_file(p);
    const std::size_t len = static_cast<unsigned char>(npy[8]) | (static_cast<unsigned char>(npy[9]) << 8);
    const std::string header = npy.substr(10, len);
    EXPECT_NE(header.find("'<f4'"), std::string::npos) << header;
    std::sscanf(header.c_str() + header.find('(') + 1, "%zu, %zu", &rows, &cols);
    std::vector<float> v(rows * cols);
    EXPECT_EQ(npy.size(), 10 + len + v.size() * 4);
    std::memcpy(v.data(), npy.data() + 10 + len, v.size() * 4);
    return v;
}

TEST(CliFeatures, RoundTripGivesTheInProcessDecisions) {
    test::TempDir dir;
    const auto in = two_volumes(dir).string();
    const auto saved = dir / "features";
    for (const char* scope : {"volume", "dataset"}) {
        for (const std::vector<std::string>& mode :
             {std::vector<std::string>{"-t", "0.95"}, std::vector<std::string>{"-f", "0.3"}}) {
            std::vector<std::string> common = {"--method", "deepnet", "--scope", scope, "--format", "none"};
            common.insert(common.end(), mode.begin(), mode.end());
            if (std::string(scope) == "dataset" && mode[0] == "-f")
                common.insert(common.end(), {"--scope-threshold", "0.95"});
            auto a = std::vector<std::string>{
                "reduce", in, "-o", (dir / "a").string(), "--force", "--save-features", saved.string()};
            a.insert(a.end(), common.begin(), common.end());
            auto r = run(a);
            ASSERT_EQ(r.exit_code, 0) << r.err;
            auto b = std::vector<std::string>{"reduce",  in,           "-o",          (dir / "b").string(),
                                              "--force", "--features", saved.string()};
            b.insert(b.end(), common.begin(), common.end());
            r = run(b);
            ASSERT_EQ(r.exit_code, 0) << r.err;
            EXPECT_EQ(decisions(dir / "b"), decisions(dir / "a")) << scope << " " << mode[0];
            const json p = test::read_json(dir / "b" / "manifest.json")["parameters"];
            EXPECT_EQ(p["model"], "features:" + saved.string());
            EXPECT_EQ(p["model_runtime"], "features");
            EXPECT_EQ(p["embedding_size"], 256);
            // And written again from the features read: identical files (round trip).
            b.insert(b.end(), {"--save-features", (dir / "again").string()});
            ASSERT_EQ(run(b).exit_code, 0);
            for (const char* f : {"index.csv", "a.nii.gz.npy", "b.nii.gz.npy"})
                EXPECT_EQ(test::read_file(dir / "again" / f), test::read_file(saved / f)) << f;
        }
    }
    EXPECT_EQ(test::read_file(saved / "index.csv"),
              "volume,file,slices\na.nii.gz,a.nii.gz.npy,30\nb.nii.gz,b.nii.gz.npy,30\n");
    std::size_t rows = 0, cols = 0;
    read_npy_f32(saved / "a.nii.gz.npy", rows, cols);
    EXPECT_EQ(rows, 30u);
    EXPECT_EQ(cols, 256u);
}

TEST(CliFeatures, SweepScoreAndReportWorkFromFeatures) {
    test::TempDir dir;
    const auto in = two_volumes(dir).string();
    const auto saved = (dir / "features").string();
    ASSERT_EQ(run({"reduce", in, "-o", (dir / "a").string(), "--method", "deepnet", "-t", "0.95", "--save-features",
                   saved, "--format", "none"})
                  .exit_code,
              0);
    const auto s1 = test::run_lessmore({"sweep", in, "--method", "deepnet", "--thresholds", "0.9,0.95,0.99", "--json"});
    const auto s2 = test::run_lessmore(
        {"sweep", in, "--method", "deepnet", "--features", saved, "--thresholds", "0.9,0.95,0.99", "--json"});
    ASSERT_EQ(s1.exit_code, 0) << s1.err;
    ASSERT_EQ(s2.exit_code, 0) << s2.err;
    json j1 = json::parse(s1.out), j2 = json::parse(s2.out);
    EXPECT_EQ(j1["volumes"], j2["volumes"]);
    const std::string one = (test::fs::path(in) / "a.nii.gz").string();
    ASSERT_EQ(test::run_lessmore(
                  {"score", in, "--volume", "a.nii.gz", "--method", "deepnet", "-o", (dir / "m1.npy").string()})
                  .exit_code,
              0);
    const auto r = test::run_lessmore({"score", in, "--volume", "a.nii.gz", "--method", "deepnet", "--features", saved,
                                       "-o", (dir / "m2.npy").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir / "m1.npy"), test::read_file(dir / "m2.npy"));
    ASSERT_EQ(run({"reduce", in, "-o", (dir / "b").string(), "--method", "deepnet", "-t", "0.95", "--features", saved,
                   "--format", "png", "--report"})
                  .exit_code,
              0);
    EXPECT_TRUE(test::fs::exists(dir / "b" / "report.html"));
}

TEST(CliFeatures, HashBitsAreSavedAsTheManifestsDigest) {
    test::TempDir dir;
    const auto r = run({"reduce", test::bundled_sample().string(), "-o", (dir / "o").string(), "-t", "6",
                        "--save-features", (dir / "f").string(), "--format", "none"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::size_t rows = 0, cols = 0;
    const auto v = read_npy_f32(dir / "f" / "example_ct_sm.nii.gz.npy", rows, cols);
    ASSERT_EQ(rows, 30u);
    ASSERT_EQ(cols, 64u);
    const json m = test::read_json(dir / "o" / "manifest.json");
    for (std::size_t i = 0; i < rows; ++i) {
        const std::string hex = m["volumes"][0]["slices"][i]["hash"];
        for (std::size_t b = 0; b < 64; ++b) {
            const int digit = std::stoi(hex.substr(b / 4, 1), nullptr, 16);
            EXPECT_EQ(v[i * 64 + b], static_cast<float>((digit >> (3 - b % 4)) & 1)) << i << " bit " << b;
        }
    }
    const auto ssim = run({"reduce", test::bundled_sample().string(), "-o", (dir / "s").string(), "--method", "ssim",
                           "-t", "0.9", "--save-features", (dir / "g").string()});
    EXPECT_EQ(ssim.exit_code, 2);
    EXPECT_NE(ssim.err.find("keeps no per-slice features"), std::string::npos) << ssim.err;
}

TEST(CliFeatures, BadFeaturesFailTheirVolumeOrTheRun) {
    test::TempDir dir;
    const auto in = two_volumes(dir).string();
    const auto good = dir / "good";
    ASSERT_EQ(run({"reduce", in, "-o", (dir / "a").string(), "--method", "deepnet", "-t", "0.95", "--save-features",
                   good.string(), "--format", "none"})
                  .exit_code,
              0);
    auto reduce_with = [&](const test::fs::path& features) {
        return test::run_lessmore({"reduce", in, "-o", (dir / "o").string(), "--force", "--method", "deepnet", "-t",
                                   "0.95", "--features", features.string(), "--format", "none", "-q"});
    };
    auto variant = [&](const std::string& name) {
        const auto d = dir / name;
        test::copy_tree(good, d);
        return d;
    };
    std::vector<float> nan_rows(30 * 256, 0.5f);
    nan_rows[7 * 256 + 3] = std::nanf("");
    struct VolumeCase {
        std::string name;
        std::string file_bytes;  // b.nii.gz.npy replaced by these ("" removes it)
        std::string mention;
    };
    std::vector<float> short_rows(29 * 256, 0.5f);
    const std::vector<VolumeCase> per_volume = {
        {"missing", "", "b.nii.gz.npy: cannot read"},
        {"rows", encode_npy_f32(short_rows.data(), 29, 256), "29 rows, but volume 'b.nii.gz' has 30 slices"},
        {"nan", encode_npy_f32(nan_rows.data(), 30, 256), "row 7 (slice 7), value 3 is not finite"},
        {"width", encode_npy_f32(short_rows.data(), 30, 128), "rows of 128 values"},
    };
    for (const VolumeCase& c : per_volume) {
        const auto d = variant(c.name);
        test::fs::remove(d / "b.nii.gz.npy");
        if (!c.file_bytes.empty()) test::write_file(d / "b.nii.gz.npy", c.file_bytes);
        const auto r = reduce_with(d);
        EXPECT_EQ(r.exit_code, 1) << c.name << "\n" << r.err;
        EXPECT_NE(r.err.find(c.mention), std::string::npos) << c.name << ": " << r.err;
        const json m = test::read_json(dir / "o" / "manifest.json");
        ASSERT_EQ(m["volumes"].size(), 1u) << c.name;  // a.nii.gz went on
        EXPECT_EQ(m["volumes"][0]["id"], "a.nii.gz");
    }
    // A volume the index does not list fails by name.
    {
        const auto d = variant("unlisted");
        test::write_file(d / "index.csv", "volume,file,slices\na.nii.gz,a.nii.gz.npy,30\n");
        const auto r = reduce_with(d);
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_NE(r.err.find("no row for volume 'b.nii.gz'"), std::string::npos) << r.err;
    }
    // float16 is read as well (numpy's astype(np.float16)).
    {
        const auto d = variant("half");
        for (const char* f : {"a.nii.gz.npy", "b.nii.gz.npy"}) {
            std::size_t rows = 0, cols = 0;
            const auto v = read_npy_f32(good / f, rows, cols);
            std::string header = "{'descr': '<f2', 'fortran_order': False, 'shape': (30, 256), }";
            header.append(128 - 10 - header.size() - 1, ' ');
            header += '\n';
            std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
            for (float x : v) {  // float32 -> float16 by truncation (values well inside the range)
                std::uint32_t u;
                std::memcpy(&u, &x, 4);
                const std::uint32_t sign = (u >> 16) & 0x8000u;
                const int exponent = static_cast<int>((u >> 23) & 0xff) - 127 + 15;
                std::uint16_t h = static_cast<std::uint16_t>(sign);
                if (exponent > 0 && exponent < 31)
                    h = static_cast<std::uint16_t>(sign | (exponent << 10) | ((u >> 13) & 0x3ff));
                bytes += static_cast<char>(h & 0xff);
                bytes += static_cast<char>(h >> 8);
            }
            test::write_file(d / f, bytes);
        }
        const auto r = reduce_with(d);
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    // Unusable as a whole: usage errors, nothing written.
    struct RunCase {
        std::string name;
        std::string index;  // "" removes it
        std::string mention;
    };
    const std::vector<RunCase> whole = {
        {"noindex", "", "no index"},
        {"header", "id,path\n", "header volume,file,slices"},
        {"twice", "volume,file,slices\na.nii.gz,a.nii.gz.npy,30\na.nii.gz,a.nii.gz.npy,30\n",
         "row 3: volume 'a.nii.gz' is listed twice"},
        {"elsewhere", "volume,file,slices\na.nii.gz,../good/a.nii.gz.npy,30\n",
         "row 2: volume 'a.nii.gz' has its features in 'a.nii.gz.npy'"},
        {"unreadable", "volume,file,slices\nx.nii.gz,x.nii.gz.npy,30\n", "none of the 1 files"},
    };
    for (const RunCase& c : whole) {
        const auto d = variant(c.name);
        test::fs::remove(d / "index.csv");
        if (!c.index.empty()) test::write_file(d / "index.csv", c.index);
        test::fs::remove_all(dir / "o");
        const auto r = reduce_with(d);
        EXPECT_EQ(r.exit_code, 2) << c.name << "\n" << r.err;
        EXPECT_NE(r.err.find(c.mention), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
        EXPECT_FALSE(test::fs::exists(dir / "o")) << c.name;
    }
    const auto both = test::run_lessmore({"reduce", in, "-o", (dir / "o").string(), "--method", "deepnet", "-t", "0.9",
                                          "--features", good.string(), "--model", "m.onnx"});
    EXPECT_EQ(both.exit_code, 2);
    EXPECT_NE(both.err.find("--model cannot be given with it"), std::string::npos) << both.err;
}

}  // namespace
}  // namespace lessmore
