// Torch models end to end: what Debian's torch exports during the test run
// (tests/data/export_torch_models.py, the TorchModels.Export fixture) runs through lessmore
// as ONNX and as TorchScript, and its embeddings (written with --save-features) equal torch's
// own forward pass on the same preprocessed input; families OpenCV's DNN cannot run are
// refused naming the operator; inputs that disagree with the model are usage errors.
#include "test_support.hpp"

#include <cmath>
#include <cstring>

namespace lessmore {
namespace {

using nlohmann::json;

const test::fs::path k_models = LESSMORE_TORCH_MODELS;

const json& expected() {
    static const json e = test::read_json(k_models / "expected.json");
    return e;
}

// The expected.json entry of a model file: resnet18_opset12.onnx is resnet18's.
const json& entry(const std::string& model) {
    std::string key = model.substr(0, model.find('.'));
    if (key.rfind("resnet18_", 0) == 0) key = "resnet18";
    return expected()["models"][key];
}

#define REQUIRE_TORCH_MODELS()                                                   \
    if (!test::fs::exists(k_models / "expected.json"))                           \
    GTEST_SKIP() << "no models exported to " << k_models                         \
                 << ": python3-torch and python3-torchvision are not installed " \
                    "(bash scripts/setup.sh test installs them)"

// Runs reduce with the model and returns the embeddings it saved (rows of the one volume).
std::vector<std::vector<float>> lessmore_embeddings(const std::string& model,
                                                    const std::vector<std::string>& extra = {}) {
    test::TempDir dir;
    const json& m = entry(model);
    const bool hu = m["channels"] == 1;
    const std::string input = hu ? (k_models / "hu" / "volume.nii.gz").string()
                                 : (k_models / "images" / std::to_string(m["size"].get<int>())).string();
    std::vector<std::string> args = {"reduce",
                                     input,
                                     "-o",
                                     (dir / "o").string(),
                                     "--method",
                                     "deepnet",
                                     "--model",
                                     (k_models / model).string(),
                                     "-t",
                                     "0.99",
                                     "--format",
                                     "none",
                                     "--save-features",
                                     (dir / "f").string(),
                                     "-q"};
    if (!hu) args.insert(args.end(), {"--intensity", "none"});  // the PNGs are the 8-bit slices as they are
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = test::run_lessmore(args);
    EXPECT_EQ(r.exit_code, 0) << model << ": " << r.err;
    std::vector<std::vector<float>> rows;
    for (const auto& entry : test::fs::directory_iterator(dir / "f")) {
        if (entry.path().extension() != ".npy") continue;
        const std::string npy = test::read_file(entry.path());
        const std::size_t len = static_cast<unsigned char>(npy[8]) | (static_cast<unsigned char>(npy[9]) << 8);
        std::size_t n = 0, d = 0;
        std::sscanf(npy.c_str() + 10 + npy.substr(10, len).find('(') + 1, "%zu, %zu", &n, &d);
        for (std::size_t i = 0; i < n; ++i) {
            rows.emplace_back(d);
            std::memcpy(rows.back().data(), npy.data() + 10 + len + i * d * 4, d * 4);
        }
    }
    return rows;
}

// Max abs difference <= 1e-4 and cosine >= 1 - 1e-6 on every slice.
void expect_torchs_embeddings(const std::string& model, const std::vector<std::vector<float>>& got) {
    const json& want = entry(model)["embeddings"];
    ASSERT_EQ(got.size(), want.size()) << model;
    for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].size(), want[i].size()) << model;
        double worst = 0, ab = 0, aa = 0, bb = 0;
        for (std::size_t k = 0; k < got[i].size(); ++k) {
            const double a = got[i][k], b = want[i][k].get<double>();
            worst = std::max(worst, std::fabs(a - b));
            ab += a * b;
            aa += a * a;
            bb += b * b;
        }
        EXPECT_LE(worst, 1e-4) << model << " slice " << i;
        EXPECT_GE(ab / std::sqrt(aa * bb), 1.0 - 1e-6) << model << " slice " << i;
    }
}

TEST(TorchModels, OnnxExportsMatchTorchsForwardPass) {
    REQUIRE_TORCH_MODELS();
    // ResNet18 at opset 11, ResNet50 at 13, the 1-channel HU encoder at 17.
    for (const char* model : {"resnet18.onnx", "resnet50.onnx", "ct_cnn.onnx"})
        expect_torchs_embeddings(model, lessmore_embeddings(model));
}

TEST(TorchModels, ResNet18AtEveryOpsetTracedOrScriptedMatchesTorch) {
    REQUIRE_TORCH_MODELS();
    const auto& variants = expected()["resnet18_variants"];
    ASSERT_EQ(variants.size(), 7u);  // opsets 12-17 and torch.jit.script; opset 11 is resnet18.onnx
    for (const auto& v : variants)
        expect_torchs_embeddings(v.get<std::string>() + ".onnx", lessmore_embeddings(v.get<std::string>() + ".onnx"));
}

TEST(TorchModels, TorchScriptMatchesTorchsForwardPass) {
    REQUIRE_TORCH_MODELS();
    if (!test::fs::exists(test::binary().parent_path().parent_path() / "modules" / "lessmore_torch.so")) {
        GTEST_SKIP() << "this build has no TorchScript module (libtorch-dev was not installed when it was configured)";
    }
    for (const char* model : {"resnet18.pt", "resnet50.pt", "convnext_tiny.pt", "vit_small.pt", "ct_cnn.pt"})
        expect_torchs_embeddings(model, lessmore_embeddings(model));
    // The same for any thread count and batch size.
    const auto one = lessmore_embeddings("vit_small.pt", {"--threads", "1", "--batch", "1"});
    EXPECT_EQ(lessmore_embeddings("vit_small.pt", {"--threads", "2", "--batch", "4"}), one);
}

TEST(TorchModels, FamiliesOpenCvCannotRunAreRefusedNamingTheOperator) {
    REQUIRE_TORCH_MODELS();
    struct Case {
        const char* model;
        const char* mention;
    };
    for (const Case& c : {Case{"convnext_tiny.onnx", "operator Div (node /classifier/classifier.0/Div)"},
                          Case{"vit_small.onnx", "operator Mul (node /Mul_1)"}}) {
        test::TempDir dir;
        const auto r =
            test::run_lessmore({"reduce", (k_models / "images" / "64").string(), "-o", (dir / "o").string(), "--method",
                                "deepnet", "--model", (k_models / c.model).string(), "-t", "0.9"});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find(c.mention), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("--model MODEL.pt"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
        EXPECT_FALSE(test::fs::exists(dir / "o"));
    }
}

TEST(TorchModels, InputsThatDisagreeWithTheModelAreUsageErrors) {
    REQUIRE_TORCH_MODELS();
    struct Case {
        std::vector<std::string> args;
        const char* mention;
    };
    const std::string hu = (k_models / "hu" / "volume.nii.gz").string();
    const std::vector<Case> cases = {
        {{"--model", (k_models / "ct_cnn.onnx").string(), "--channels", "3"}, "has 1 channel but 3 are given"},
        {{"--model", (k_models / "resnet18.onnx").string(), "--input-size", "100"},
         "the graph's input is 224x224 but the input size given is 100x100"},
        {{"--model", (k_models / "ct_cnn.pt").string(), "--channels", "3"},
         "the TorchScript model failed on a batch of 1 x 3"},
        {{"--model", (k_models / "ct_cnn.onnx").string(), "--values", "8bit", "--window", "0,1"}, "only with values"},
    };
    for (const Case& c : cases) {
        if (std::string(c.args[1]).find(".pt") != std::string::npos &&
            !test::fs::exists(test::binary().parent_path().parent_path() / "modules" / "lessmore_torch.so")) {
            continue;
        }
        test::TempDir dir;
        std::vector<std::string> args = {"reduce", hu, "-o", (dir / "o").string(), "--method", "deepnet", "-t", "0.9"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        const auto r = test::run_lessmore(args);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find(c.mention), std::string::npos) << r.err;
        EXPECT_FALSE(test::fs::exists(dir / "o"));
    }
}

}  // namespace
}  // namespace lessmore
