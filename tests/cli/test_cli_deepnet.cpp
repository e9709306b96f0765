// DeepNet through the CLI: strategies and modes, thread-count independence, score, the
// manifest's record of the model, and model errors as usage errors.
#include "test_support.hpp"

#include <lessmore/sha256.hpp>

#include <cstring>

namespace lessmore {
namespace {

using nlohmann::json;

TEST(CliDeepNet, WorksOutOfTheBoxAndRecordsTheModel) {
    test::TempDir dir;
    const auto r = test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", (dir / "o").string(),
                                       "--method", "deepnet", "-t", "0.95", "--format", "none", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(dir / "o" / "manifest.json");
    const json& p = m["parameters"];
    EXPECT_EQ(p["method"], "deepnet");
    EXPECT_EQ(p["model"], "bundled:mobilenet_v1_0.25_224_imagenet_embed.onnx");
    const std::string bytes = test::read_file(test::source_dir() / "models/mobilenet_v1_0.25_224_imagenet_embed.onnx");
    EXPECT_EQ(p["model_sha256"], sha256_hex(bytes.data(), bytes.size()));
    EXPECT_EQ(p["input_size"], json({224, 224}));
    EXPECT_EQ(p["embedding_size"], 256);
    EXPECT_EQ(p["model_output"], "embedding");
    std::size_t kept = 0;
    for (const auto& s : m["volumes"][0]["slices"]) {
        kept += s["kept"].get<bool>();
        if (!s["kept"]) {
            EXPECT_GE(s["score"].get<double>(), 0.95);
        }
    }
    EXPECT_GT(kept, 1u);
    EXPECT_LT(kept, 30u);
}

TEST(CliDeepNet, StrategiesModesAndThreadIndependence) {
    for (const std::vector<std::string>& mode :
         {std::vector<std::string>{"-t", "0.93"}, std::vector<std::string>{"-t", "0.9", "--strategy", "pairs"},
          std::vector<std::string>{"-f", "0.2"}}) {
        std::string first;
        for (const char* threads : {"1", "2", "3"}) {
            test::TempDir dir;
            std::vector<std::string> args = {"reduce",    test::bundled_sample().string(),
                                             "-o",        (dir / "o").string(),
                                             "--method",  "deepnet",
                                             "--threads", threads,
                                             "--batch",   "4",
                                             "--format",  "npy",
                                             "-q"};
            args.insert(args.end(), mode.begin(), mode.end());
            const auto r = test::run_lessmore(args);
            ASSERT_EQ(r.exit_code, 0) << r.err;
            const json m = test::read_json(dir / "o" / "manifest.json");
            if (mode[0] == "-f") {
                EXPECT_EQ(m["summary"]["kept"], 6);
            }
            const std::string now = test::stable_manifest(m).dump() + test::read_file(dir / "o" / "manifest.csv");
            if (first.empty()) {
                first = now;
            } else {
                EXPECT_EQ(now, first) << mode[0] << " threads " << threads;
            }
        }
    }
}

TEST(CliDeepNet, ScoreWritesCosines) {
    test::TempDir dir;
    const auto r = test::run_lessmore(
        {"score", test::bundled_sample().string(), "--method", "deepnet", "-o", (dir / "c.npy").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json g = test::read_json(test::source_dir() / "tests/golden/deepnet_golden.json");
    const std::string npy = test::read_file(dir / "c.npy");
    const std::size_t len = static_cast<unsigned char>(npy[8]) | (static_cast<unsigned char>(npy[9]) << 8);
    std::vector<double> v(30 * 30);
    ASSERT_EQ(npy.size(), 10 + len + v.size() * 8);
    std::memcpy(v.data(), npy.data() + 10 + len, v.size() * 8);
    const auto& idx = g["cosine"]["indices"];
    for (std::size_t a = 0; a < idx.size(); ++a)
        for (std::size_t b = 0; b < idx.size(); ++b)
            EXPECT_NEAR(v[idx[a].get<std::size_t>() * 30 + idx[b].get<std::size_t>()],
                        g["cosine"]["matrix"][a][b].get<double>(), 1e-5);
}

TEST(CliDeepNet, ModelProblemsAreUsageErrors) {
    test::TempDir dir;
    const std::string in = test::bundled_sample().string();
    const std::string models = (test::source_dir() / "tests/data/models").string();
    struct Case {
        std::vector<std::string> extra;
        std::string mention;
    };
    const std::vector<Case> cases = {
        {{"--model", (dir / "nope.onnx").string()}, "no such file"},
        {{"--model", models + "/tiny_one_channel.onnx", "--channels", "3"}, "has 1 channel but 3 are given"},
        {{"--model", models + "/tiny_nhwc_bgr.onnx", "--values", "hu", "--window", "5,1"}, "--window"},
        {{"--layer", "nowhere"}, "nowhere"},
        {{"--batch", "2000"}, "--batch"},
        {{"--mean", "1,2"}, "--mean"},
        {{"--channel-order", "GRB"}, "--channel-order"},
        {{"-t", "1.5"}, "--threshold"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> args = {"reduce", in, "-o", (dir / "o").string(), "--method", "deepnet"};
        args.insert(args.end(), c.extra.begin(), c.extra.end());
        if (c.extra[0] != "-t") args.insert(args.end(), {"-t", "0.9"});
        const auto r = test::run_lessmore(args);
        EXPECT_EQ(r.exit_code, 2) << c.mention << "\n" << r.err;
        EXPECT_NE(r.err.find(c.mention), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("[ERROR"), std::string::npos) << "OpenCV log leaked: " << r.err;
        EXPECT_FALSE(test::fs::exists(dir / "o"));
    }
    const auto r = test::run_lessmore({"reduce", in, "-o", (dir / "o").string(), "-t", "6", "--model", "x.onnx"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("only for --method deepnet"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lessmore
