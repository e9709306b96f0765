// SSIM and MI through the CLI: reduce with both strategies and modes, thread-count
// independence, and `lessmore score` matrices checked against scikit-image's values.
#include "test_support.hpp"

#include <cmath>
#include <cstring>
#include <map>

namespace lessmore {
namespace {

using nlohmann::json;

// The scikit-image SSIM and NMI of every pair of the bundled sample.
struct GoldenMatrix {
    std::map<std::pair<int, int>, double> ssim, nmi;
    double at(const std::map<std::pair<int, int>, double>& m, int i, int j) const {
        return m.at({std::min(i, j), std::max(i, j)});
    }
};

GoldenMatrix golden_sample() {
    const json g = test::read_json(test::source_dir() / "tests/golden/similarity_golden.json");
    GoldenMatrix out;
    for (const auto& v : g["volumes"]) {
        if (v["dataset"] != "sample/example_ct_sm.nii.gz") continue;
        for (const auto& p : v["pairs"]) {
            out.ssim[{p["i"], p["j"]}] = p["ssim"];
            out.nmi[{p["i"], p["j"]}] = p["nmi"];
        }
    }
    return out;
}

// The authors' leader walk on a similarity matrix.
std::vector<int> leader(int n, const std::function<double(int, int)>& score, double t) {
    std::vector<int> kept;
    for (int i = 0; i < n; ++i) {
        bool similar = false;
        for (int k : kept) similar |= score(i, k) >= t;
        if (!similar) kept.push_back(i);
    }
    return kept;
}

std::vector<int> kept_of(const json& manifest) {
    std::vector<int> kept;
    for (const auto& s : manifest["volumes"][0]["slices"])
        if (s["kept"]) kept.push_back(s["index"]);
    return kept;
}

// Reads a 2-D float64 .npy written by lessmore.
std::vector<double> read_npy_f64(const test::fs::path& p, std::size_t& rows, std::size_t& cols) {
    const std::string npy = test::read_file(p);
    const std::size_t len = static_cast<unsigned char>(npy[8]) | (static_cast<unsigned char>(npy[9]) << 8);
    const std::string header = npy.substr(10, len);
    EXPECT_NE(header.find("'descr': '<f8'"), std::string::npos) << header;
    const auto shape = header.find("'shape': (");
    rows = std::stoul(header.substr(shape + 10));
    cols = std::stoul(header.substr(header.find(", ", shape) + 2));
    std::vector<double> v(rows * cols);
    std::memcpy(v.data(), npy.data() + 10 + len, v.size() * sizeof(double));
    return v;
}

TEST(CliSimilarity, LeaderMatchesTheWalkOnScikitImageScores) {
    const GoldenMatrix g = golden_sample();
    ASSERT_EQ(g.ssim.size(), 435u + 4u);
    struct Case {
        const char* method;
        double threshold;
        const std::map<std::pair<int, int>, double>* scores;
    };
    for (const Case& c :
         {Case{"ssim", 0.8, &g.ssim}, Case{"ssim", 0.6, &g.ssim}, Case{"mi", 1.3, &g.nmi}, Case{"mi", 1.2, &g.nmi}}) {
        test::TempDir dir;
        const auto r =
            test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", (dir / "o").string(), "--method",
                                c.method, "-t", std::to_string(c.threshold), "--format", "none", "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const json m = test::read_json(dir / "o" / "manifest.json");
        const auto expected = leader(
            30, [&](int i, int j) { return g.at(*c.scores, i, j); }, c.threshold);
        EXPECT_EQ(kept_of(m), expected) << c.method << " " << c.threshold;
        EXPECT_EQ(m["parameters"]["method"], c.method);
        for (const auto& s : m["volumes"][0]["slices"]) {
            if (s["kept"]) continue;
            // The match is a kept slice and its score is the scikit-image value.
            EXPECT_NEAR(s["score"].get<double>(), g.at(*c.scores, s["index"], s["match"]), 1e-5);
            EXPECT_GE(s["score"].get<double>(), c.threshold);
        }
    }
}

TEST(CliSimilarity, PairsStrategyThresholdAndFraction) {
    const GoldenMatrix g = golden_sample();
    for (const char* method : {"ssim", "mi"}) {
        test::TempDir dir;
        const double t = std::string(method) == "ssim" ? 0.7 : 1.25;
        auto r = test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", (dir / "t").string(), "--method",
                                     method, "-t", std::to_string(t), "--strategy", "pairs", "--format", "none", "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto kept = kept_of(test::read_json(dir / "t" / "manifest.json"));
        const auto& scores = std::string(method) == "ssim" ? g.ssim : g.nmi;
        for (std::size_t a = 0; a < kept.size(); ++a)
            for (std::size_t b = a + 1; b < kept.size(); ++b) EXPECT_LT(g.at(scores, kept[a], kept[b]), t) << method;
        r = test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", (dir / "f").string(), "--method",
                                method, "-f", "0.2", "--format", "none", "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const json m = test::read_json(dir / "f" / "manifest.json");
        EXPECT_EQ(kept_of(m).size(), 6u);  // ceil(0.2 * 30)
        EXPECT_EQ(m["volumes"][0]["pairs"], 435);
    }
}

TEST(CliSimilarity, ThreadCountNeverChangesTheResult) {
    for (const char* method : {"ssim", "mi"}) {
        for (const char* mode : {"-t", "-f"}) {
            std::string first;
            for (const char* threads : {"1", "2", "3"}) {
                test::TempDir dir;
                const auto r = test::run_lessmore(
                    {"reduce", test::bundled_sample().string(), "-o", (dir / "o").string(), "--method", method, mode,
                     std::string(mode) == "-f" ? "0.3" : (std::string(method) == "ssim" ? "0.75" : "1.3"), "--threads",
                     threads, "--format", "none", "-q"});
                ASSERT_EQ(r.exit_code, 0) << r.err;
                const std::string now = test::stable_manifest(test::read_json(dir / "o" / "manifest.json")).dump() +
                                        test::read_file(dir / "o" / "manifest.csv");
                if (first.empty()) {
                    first = now;
                } else {
                    EXPECT_EQ(now, first) << method << " " << mode << " threads " << threads;
                }
            }
        }
    }
}

TEST(CliSimilarity, NeighboursLimitsComparisons) {
    test::TempDir dir;
    const auto r =
        test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", (dir / "o").string(), "--method", "ssim",
                            "-t", "0.95", "--neighbours", "2", "--format", "none", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(dir / "o" / "manifest.json");
    EXPECT_EQ(m["parameters"]["neighbours"], 2);
    for (const auto& s : m["volumes"][0]["slices"]) {
        if (!s["kept"]) {
            EXPECT_LE(s["index"].get<int>() - s["match"].get<int>(), 2);
        }
    }
    EXPECT_LE(m["volumes"][0]["pairs"].get<int>(), 2 * 30);
}

TEST(CliScore, NpyAndCsvMatricesEqualScikitImage) {
    const GoldenMatrix g = golden_sample();
    test::TempDir dir;
    for (const char* method : {"ssim", "mi"}) {
        const auto npy = dir / (std::string(method) + ".npy");
        const auto r =
            test::run_lessmore({"score", test::bundled_sample().string(), "--method", method, "-o", npy.string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_NE(r.out.find("30 x 30"), std::string::npos) << r.out;
        std::size_t rows = 0, cols = 0;
        const auto v = read_npy_f64(npy, rows, cols);
        ASSERT_EQ(rows, 30u);
        ASSERT_EQ(cols, 30u);
        const auto& scores = std::string(method) == "ssim" ? g.ssim : g.nmi;
        for (int i = 0; i < 30; ++i) {
            for (int j = 0; j < 30; ++j) {
                EXPECT_EQ(v[static_cast<std::size_t>(i * 30 + j)], v[static_cast<std::size_t>(j * 30 + i)]);
                if (i != j) {
                    EXPECT_NEAR(v[static_cast<std::size_t>(i * 30 + j)], g.at(scores, i, j), 1e-5);
                }
            }
        }
        EXPECT_NEAR(v[0], std::string(method) == "ssim" ? 1.0 : 2.0, 1e-9);  // self-similarity on the diagonal
    }
    // CSV with a range: rows and columns are slices 5..14.
    const auto csv = dir / "r.csv";
    ASSERT_EQ(test::run_lessmore(
                  {"score", test::bundled_sample().string(), "--method", "ssim", "--range", "5:15", "-o", csv.string()})
                  .exit_code,
              0);
    const std::string text = test::read_file(csv);
    EXPECT_EQ(text.substr(0, text.find('\n')), "slice,5,6,7,8,9,10,11,12,13,14");
    const auto row6 = text.find("\n6,");
    ASSERT_NE(row6, std::string::npos);
    const double s6_5 = std::stod(text.substr(row6 + 3));
    EXPECT_NEAR(s6_5, g.at(g.ssim, 6, 5), 1e-5);
}

TEST(CliScore, HashScoresAreHammingDistances) {
    test::TempDir dir;
    ASSERT_EQ(test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", (dir / "o").string(), "-t", "0",
                                  "--format", "none", "-q"})
                  .exit_code,
              0);
    const json m = test::read_json(dir / "o" / "manifest.json");
    ASSERT_EQ(test::run_lessmore({"score", test::bundled_sample().string(), "-o", (dir / "h.npy").string()}).exit_code,
              0);
    std::size_t rows = 0, cols = 0;
    const auto v = read_npy_f64(dir / "h.npy", rows, cols);
    const auto& sl = m["volumes"][0]["slices"];
    for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t j = 0; j < cols; ++j) {
            const int d = __builtin_popcountll(std::stoull(sl[i]["hash"].get<std::string>(), nullptr, 16) ^
                                               std::stoull(sl[j]["hash"].get<std::string>(), nullptr, 16));
            EXPECT_EQ(v[i * cols + j], d);
        }
    }
}

TEST(CliScore, UsageErrors) {
    test::TempDir dir;
    const std::string in = test::bundled_sample().string();
    struct Case {
        std::vector<std::string> args;
        std::string mention;
    };
    const std::vector<Case> cases = {
        {{"score", in, "-o", (dir / "m.txt").string()}, ".npy or .csv"},
        {{"score", in, "-o", (dir / "m.npy").string(), "--range", "0:99"}, "--range"},
        {{"score", in, "-o", (dir / "m.npy").string(), "--range", "x:3"}, "--range"},
        {{"score", in, "-o", (dir / "m.npy").string(), "--method", "everyn"}, "everyn"},
        {{"score", test::source_dir().string() + "/tests/data/dicom", "-o", (dir / "m.npy").string()}, "--volume"},
        {{"score", in, "-o", (dir / "m.npy").string(), "--method", "mi", "--bins", "1"}, "--bins"},
        {{"reduce", in, "-o", (dir / "o").string(), "--method", "ssim", "-t", "1.5"}, "--threshold"},
        {{"reduce", in, "-o", (dir / "o").string(), "--method", "mi", "-t", "0.9"}, "--threshold"},
        {{"reduce", in, "-o", (dir / "o").string(), "--method", "mi", "-t", "1.5", "--bins", "1"}, "--bins"},
        {{"reduce", in, "-o", (dir / "o").string(), "-t", "6", "--resize", "64"}, "--resize"},
        {{"reduce", in, "-o", (dir / "o").string(), "--method", "ssim", "-t", "0.9", "--resize", "8"}, "--resize"},
        {{"reduce", in, "-o", (dir / "o").string(), "--method", "ssim", "-t", "0.9", "--neighbours", "0"},
         "--neighbours"},
    };
    for (const Case& c : cases) {
        const auto r = test::run_lessmore(c.args);
        EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.mention << "\n" << r.err;
        EXPECT_NE(r.err.find(c.mention), std::string::npos) << r.err;
    }
    EXPECT_FALSE(test::fs::exists(dir / "m.npy"));
    EXPECT_FALSE(test::fs::exists(dir / "o"));
}

TEST(CliScore, PicksOneVolumeOfSeveral) {
    test::TempDir dir;
    const auto r = test::run_lessmore({"score", (test::source_dir() / "tests/data/dicom").string(), "--volume",
                                       "two-series#5", "--method", "mi", "-o", (dir / "m.npy").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::size_t rows = 0, cols = 0;
    read_npy_f64(dir / "m.npy", rows, cols);
    EXPECT_EQ(rows, 8u);
}

}  // namespace
}  // namespace lessmore
