// DeepNet: embeddings against an independent numpy forward pass (tests/golden/
// make_deepnet_golden.py), the real ImageNet weights on a photograph, the sidecar path on
// tiny generated models (tests/data/make_tiny_models.py), and bad models.
#include "test_support.hpp"

#include "io/model_files.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/embedder.hpp>
#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/natural_order.hpp>
#include <lessmore/resize_area.hpp>
#include <lessmore/resize_pillow.hpp>
#include <lessmore/thread_pool.hpp>

#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>

namespace lessmore {
namespace {

// An embedder for a model on disk: its files read as the pipeline reads them.
std::unique_ptr<Embedder> embedder(ModelOptions o) {
    open_model(o);
    return std::make_unique<Embedder>(o);
}

using nlohmann::json;

test::fs::path models_dir() { return test::source_dir() / "tests/data/models"; }

std::vector<Image8> sample_slices() {
    const Discovery d = discover({test::bundled_sample().string()});
    ThreadPool pool(2);
    CancelToken cancel;
    auto loaded = load_source(d.sources.at(0), LoadOptions{}, pool, cancel);
    std::vector<Image8> out;
    for (std::size_t i = 0; i < loaded.at(0).volume->slice_count(); ++i)
        out.push_back(to_8bit(loaded.at(0).volume->slice(i), IntensityMapping{}));
    return out;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ab += static_cast<double>(a[i]) * b[i];
        aa += static_cast<double>(a[i]) * a[i];
        bb += static_cast<double>(b[i]) * b[i];
    }
    return ab / std::sqrt(aa * bb);
}

TEST(DeepNet, BundledEmbeddingsMatchAnIndependentNumpyForwardPass) {
    const json g = test::read_json(test::source_dir() / "tests/golden/deepnet_golden.json");
    const auto slices = sample_slices();
    const Embedder embedder(ModelOptions{});  // the bundled model, compiled in
    EXPECT_EQ(embedder.size(), 256u);
    std::vector<const Image8*> batch;
    for (const auto& s : g["slices"]) batch.push_back(&slices.at(s["index"].get<std::size_t>()));
    const auto embeddings = embedder.embed(batch);
    ASSERT_EQ(embeddings.size(), g["slices"].size());
    for (std::size_t k = 0; k < embeddings.size(); ++k) {
        const json& s = g["slices"][k];
        const Image8 resized = resize_area(*batch[k], 224, 224);
        EXPECT_EQ(test::sha256_hex(resized.pixels.data(), resized.pixels.size()), s["resized_sha256"]);
        const auto& expected = s["embedding"];
        ASSERT_EQ(embeddings[k].size(), expected.size());
        double worst = 0.0;
        for (std::size_t i = 0; i < expected.size(); ++i)
            worst = std::max(worst, std::fabs(embeddings[k][i] - expected[i].get<double>()));
        EXPECT_LT(worst, 1e-4) << "slice " << s["index"];
    }
    // The golden cosines, and batch composition does not matter.
    const auto& m = g["cosine"]["matrix"];
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 4; ++j)
            EXPECT_NEAR(cosine(embeddings[i], embeddings[j]), m[i][j].get<double>(), 1e-6);
    const auto single = embedder.embed({batch[2]});
    for (std::size_t i = 0; i < single[0].size(); ++i) EXPECT_NEAR(single[0][i], embeddings[2][i], 1e-5);
}

TEST(DeepNet, NeighbouringCtSlicesAreMoreSimilarThanDistantOnes) {
    const Discovery d = discover({(test::ct_data() / "pancreas-ct-cb-001").string()});
    ThreadPool pool(2);
    CancelToken cancel;
    auto loaded = load_source(d.sources.at(0), LoadOptions{}, pool, cancel);
    const Volume& v = *loaded.at(0).volume;
    std::vector<Image8> images;
    for (std::size_t k : {0u, 1u, 7u, 8u, 14u, 15u}) images.push_back(to_8bit(v.slice(k), IntensityMapping{}));
    std::vector<const Image8*> ptrs;
    for (const auto& i : images) ptrs.push_back(&i);
    const auto e = Embedder(ModelOptions{}).embed(ptrs);
    for (std::size_t a : {0u, 2u, 4u}) {
        const double neighbour = cosine(e[a], e[a + 1]);
        EXPECT_GT(neighbour, 0.97);
        for (std::size_t far = 0; far < e.size(); far += 2) {
            if (far != a) {
                EXPECT_GT(neighbour, cosine(e[a], e[far])) << a << " vs " << far;
            }
        }
    }
}

// The classifier variant of the bundled weights on a real photograph.
TEST(DeepNet, ClassifierWeightsAreRealImageNetWeights) {
    const test::fs::path dog = "/usr/share/darknet/data/dog.jpg";
    if (!test::fs::exists(dog)) GTEST_SKIP() << "SKIPPED: " << dog << " not found (Debian package darknet)";
    std::vector<std::string> labels;
    std::ifstream in(models_dir() / "imagenet_labels.txt");
    for (std::string line; std::getline(in, line);) labels.push_back(line);
    ASSERT_EQ(labels.size(), 1000u);
    // Colour, straight through OpenCV: the husky/malamute of the photo.
    cv::Mat bgr = cv::imread(dog.string()), rgb, small;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::resize(rgb, small, cv::Size(224, 224), 0, 0, cv::INTER_AREA);
    cv::dnn::Net net = cv::dnn::readNetFromONNX((models_dir() / "mobilenet_v1_0.25_224_imagenet.onnx").string());
    net.setInput(cv::dnn::blobFromImage(small, 1.0 / 127.5, cv::Size(), cv::Scalar(127.5, 127.5, 127.5)));
    const cv::Mat p = net.forward().reshape(1, 1);
    cv::Point best;
    cv::minMaxLoc(p, nullptr, nullptr, nullptr, &best);
    EXPECT_TRUE(labels[best.x] == "malamute" || labels[best.x] == "Siberian husky" || labels[best.x] == "Eskimo dog")
        << labels[best.x];
    // Grey, through lessmore's embedder with the classifier as --model: the dog classes
    // are still in the top five.
    cv::Mat grey = cv::imread(dog.string(), cv::IMREAD_GRAYSCALE);
    Image8 image(grey.cols, grey.rows);
    std::memcpy(image.pixels.data(), grey.data, image.pixels.size());
    ModelOptions o;
    o.path = (models_dir() / "mobilenet_v1_0.25_224_imagenet.onnx").string();
    o.input_size = std::make_pair(224, 224);
    o.scale = 1.0 / 127.5;
    o.mean = std::vector<double>{1.0};
    const auto scores = embedder(o)->embed({&image}).front();
    ASSERT_EQ(scores.size(), 1000u);
    std::vector<std::size_t> order(1000);
    for (std::size_t i = 0; i < 1000; ++i) order[i] = i;
    std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                      [&](auto a, auto b) { return scores[a] > scores[b]; });
    int dogs = 0;
    for (std::size_t k = 0; k < 5; ++k)
        dogs +=
            labels[order[k]] == "Siberian husky" || labels[order[k]] == "malamute" || labels[order[k]] == "Eskimo dog";
    EXPECT_GE(dogs, 2);
}

struct TinyImage {
    Image8 image;
    json expected;
};

std::vector<TinyImage> tiny_images() {
    const json t = test::read_json(models_dir() / "tiny_expected.json");
    std::vector<TinyImage> out;
    for (const auto& im : t["images"]) {
        TinyImage ti{Image8(im["width"], im["height"]), im};
        const auto bytes = test::base64_decode(im["base64"]);
        ti.image.pixels.assign(bytes.begin(), bytes.end());
        out.push_back(std::move(ti));
    }
    return out;
}

void expect_vector(const std::vector<float>& got, const json& expected, const std::string& what) {
    ASSERT_EQ(got.size(), expected.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_NEAR(got[i], expected[i].get<double>(), 1e-4) << what << " [" << i << "]";
}

TEST(DeepNet, SidecarWithNhwcBgrMeanStdAndNamedOutput) {
    ModelOptions o;
    o.path = (models_dir() / "tiny_nhwc_bgr.onnx").string();  // tiny_nhwc_bgr.json beside it
    const auto vector_out = embedder(o);
    o.output = "map";
    o.pool = true;
    const auto pooled_map = embedder(o);
    for (const TinyImage& t : tiny_images()) {
        expect_vector(vector_out->embed({&t.image}).front(), t.expected["nhwc_bgr"]["vector"], t.expected["name"]);
        expect_vector(pooled_map->embed({&t.image}).front(), t.expected["nhwc_bgr"]["map_pooled"], t.expected["name"]);
    }
    EXPECT_TRUE(vector_out->description().bgr);
    EXPECT_TRUE(vector_out->description().nhwc);
    EXPECT_EQ(vector_out->description().sidecar, (models_dir() / "tiny_nhwc_bgr.json").string());
}

TEST(DeepNet, FlagsOverrideAndBatchesOfSeveralImages) {
    // The dynamic-batch NCHW/RGB model has no sidecar: everything comes from flags.
    ModelOptions o;
    o.path = (models_dir() / "tiny_dynamic_batch.onnx").string();
    o.input_size = std::make_pair(6, 8);
    o.layout = "nchw";
    o.channel_order = "RGB";
    o.mean = std::vector<double>{10, 20, 30};
    o.std = std::vector<double>{2, 4, 8};
    o.scale = 1.0;
    o.output = "vector";
    const auto e = embedder(o);
    const auto images = tiny_images();
    std::vector<const Image8*> batch;
    for (const auto& t : images) batch.push_back(&t.image);
    const auto out = e->embed(batch);
    ASSERT_EQ(out.size(), images.size());
    for (std::size_t i = 0; i < images.size(); ++i)
        expect_vector(out[i], images[i].expected["nchw_rgb"]["vector"], "batch");
}

TEST(DeepNet, WeightsBehindIdentityNodesAreNormalisedAway) {
    // As torch.onnx.export writes shared weights: OpenCV 4.6 refuses the file as it is ...
    const auto path = models_dir() / "tiny_identity_weights.onnx";
    EXPECT_THROW(cv::dnn::readNetFromONNX(path.string()), cv::Exception);
    // ... and runs it once lessmore's io has normalised it (libonnx), with the outputs of
    // the same graph without the Identity.
    ModelOptions o;
    o.path = path.string();
    o.input_size = std::make_pair(6, 8);
    o.mean = std::vector<double>{10, 20, 30};
    o.std = std::vector<double>{2, 4, 8};
    o.scale = 1.0;
    o.output = "vector";
    const auto e = embedder(o);
    for (const TinyImage& t : tiny_images())
        expect_vector(e->embed({&t.image}).front(), t.expected["nchw_rgb"]["vector"], "identity");
    // The manifest's hash is the file's own, not the normalised graph's.
    const std::string bytes = test::read_file(path);
    EXPECT_EQ(e->description().sha256,
              test::sha256_hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

void expect_usage_error(const ModelOptions& o, const std::string& mention) {
    try {
        embedder(o);
        ADD_FAILURE() << "accepted; expected an error mentioning " << mention;
    } catch (const UsageError& err) {
        const std::string what = err.what();
        EXPECT_NE(what.find(mention), std::string::npos) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
}

TEST(DeepNet, BadModelsGiveClearErrors) {
    test::TempDir dir;
    ModelOptions o;
    o.path = (dir / "missing.onnx").string();
    expect_usage_error(o, "no such file");

    test::write_file(dir / "garbage.onnx", std::string(4096, '\x07'));
    o.path = (dir / "garbage.onnx").string();
    expect_usage_error(o, "not an ONNX model");

    const std::string real = test::read_file(test::source_dir() / "models/mobilenet_v1_0.25_224_imagenet_embed.onnx");
    test::write_file(dir / "truncated.onnx", real.substr(0, real.size() / 3));
    o.path = (dir / "truncated.onnx").string();
    expect_usage_error(o, "truncated.onnx");

    o.path = (models_dir() / "tiny_one_channel.onnx").string();
    o.channels = 3;  // the graph says 1
    expect_usage_error(o, "has 1 channel but 3 are given");
    o.channels.reset();
    o.window = std::make_pair(-100.0, 100.0);  // a window is for values "hu"
    expect_usage_error(o, "only with values");
    o.window.reset();

    o.path = (models_dir() / "tiny_nhwc_bgr.onnx").string();
    o.output = "no_such_layer";
    expect_usage_error(o, "no_such_layer");

    o.output.reset();
    o.pool = true;  // 'vector' is 2-D
    expect_usage_error(o, "--pool");
}

TEST(DeepNet, BadSidecarFieldsAreNamed) {
    test::TempDir dir;
    const std::string model = test::read_file(models_dir() / "tiny_nhwc_bgr.onnx");
    struct Case {
        std::string json;
        std::string mention;
    };
    const std::vector<Case> cases = {
        {R"({"input_size": [6, 8], "layout": "NHWC", "mean": [1, 2]})", "'mean'"},
        {R"({"input_size": [6, 8], "layout": "NHWC", "std": [1, 0, 1]})", "'std'"},
        {R"({"input_size": "big", "layout": "NHWC"})", "'input_size'"},
        {R"({"input_size": [6, 8], "layout": "NWHC"})", "'layout'"},
        {R"({"input_size": [6, 8], "layout": "NHWC", "channel_order": "RBG"})", "'channel_order'"},
        {R"({"input_size": [6, 8], "layout": "NHWC", "scale": 0})", "'scale'"},
        {R"({"input_size": [6, 8], "layout": "NHWC", "pool": "yes"})", "'pool'"},
        {R"({"input_size": [6, 8], "layuot": "NHWC"})", "unknown field 'layuot'"},
        {R"({"input_size": [6, 8], )", "not valid JSON"},
        {R"({"input_size": [7, 8], "layout": "NHWC"})", "input size"},
        {R"({"input_size": [6, 8], "layout": "NHWC", "depth": 0})", "'depth'"},
        {R"({"input_size": [6, 8], "layout": "NHWC", "depth": "all"})", "'depth'"},
        {R"({"input_size": [6, 8], "layout": "NHWC", "depth": 2.5})", "'depth'"},
        // docs/models.md, section "3-D models": OpenCV 4.6 cannot pool a 3-D network.
        {R"({"input_size": [6, 8], "layout": "NHWC", "depth": 8})", "export it as TorchScript"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto onnx = dir / ("m" + std::to_string(i) + ".onnx");
        test::write_file(onnx, model);
        test::write_file(dir / ("m" + std::to_string(i) + ".json"), cases[i].json);
        ModelOptions o;
        o.path = onnx.string();
        expect_usage_error(o, cases[i].mention);
    }
}

}  // namespace
}  // namespace lessmore

namespace lessmore {
namespace {

// A runner of the caller's (what the Python package's embed= callable becomes): it sees the
// preprocessed batch and returns its own output.
class RecordingRunner final : public ModelRunner {
public:
    OutputBatch run(const InputBatch& batch) const override {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_batches.push_back(batch);
        OutputBatch out;  // per image: the sum and the first value of each channel
        out.shape = {batch.count, 2 * batch.channels};
        const std::size_t plane = static_cast<std::size_t>(batch.height) * batch.width;
        for (int i = 0; i < batch.count; ++i)
            for (int c = 0; c < batch.channels; ++c) {
                const float* p = batch.values.data() + (static_cast<std::size_t>(i) * batch.channels + c) * plane;
                double sum = 0;
                for (std::size_t k = 0; k < plane; ++k) sum += p[k];
                out.values.push_back(static_cast<float>(sum));
                out.values.push_back(p[0]);
            }
        return out;
    }
    std::string runtime() const override { return "callback"; }
    std::vector<InputBatch> batches() const {
        std::lock_guard<std::mutex> lock(m_mutex);
        return m_batches;
    }

private:
    mutable std::mutex m_mutex;
    mutable std::vector<InputBatch> m_batches;
};

TEST(DeepNet, OneChannelModelSeesTheGreyImage) {
    // tiny_one_channel.onnx: 1 x 8 x 8 -> GlobalAveragePool -> its mean.
    ModelOptions o;
    o.path = (models_dir() / "tiny_one_channel.onnx").string();
    o.scale = 1.0;
    o.mean = std::vector<double>{10.0};
    o.std = std::vector<double>{4.0};
    const auto e = embedder(o);
    EXPECT_EQ(e->description().channels, 1);
    Image8 img(8, 8);
    double expected = 0;
    for (std::size_t i = 0; i < img.pixels.size(); ++i) {
        img.pixels[i] = static_cast<std::uint8_t>(i * 3);
        expected += (i * 3 - 10.0) / 4.0;
    }
    const auto out = e->embed({&img});
    ASSERT_EQ(out.at(0).size(), 1u);
    EXPECT_NEAR(out[0][0], expected / 64, 1e-5);
}

TEST(DeepNet, HuValuesAreClippedScaledAndResizedInFloat) {
    ModelOptions o;
    o.path = (models_dir() / "tiny_one_channel.onnx").string();
    o.values = "hu";
    o.window = std::make_pair(-1000.0, 400.0);
    o.scale = 0.001;
    o.mean = std::vector<double>{0.0};
    o.std = std::vector<double>{1.0};
    const auto e = embedder(o);
    EXPECT_TRUE(e->takes_values());
    EXPECT_TRUE(e->description().hu);
    // 16 x 16 int16 HU, area-resized to 8 x 8: 2 x 2 means (exact in float32 here).
    std::vector<std::int16_t> hu(256);
    for (std::size_t i = 0; i < hu.size(); ++i) hu[i] = static_cast<std::int16_t>(-1500 + static_cast<int>(i) * 13);
    const SliceView view{hu.data(), VoxelType::Int16, 16, 16};
    const InputBatch b = e->preprocess_values({view});
    ASSERT_EQ(b.values.size(), 64u);
    double mean = 0;
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
            double sum = 0;
            for (int dy = 0; dy < 2; ++dy)
                for (int dx = 0; dx < 2; ++dx)
                    sum += std::clamp<double>(hu[(2 * y + dy) * 16 + 2 * x + dx], -1000, 400);
            EXPECT_NEAR(b.values[static_cast<std::size_t>(y * 8 + x)], sum / 4 * 0.001, 1e-6) << x << "," << y;
            mean += sum / 4 * 0.001 / 64;
        }
    EXPECT_NEAR(e->embed_values({view}).at(0).at(0), mean, 1e-5);
}

TEST(DeepNet, ACallersRunnerGetsThePreprocessedBatch) {
    auto runner = std::make_shared<RecordingRunner>();
    ModelOptions o;
    o.path = "my-function";
    o.files = ModelFiles{};  // nothing to read: the runner is the model
    o.runner = runner;
    o.input_size = std::make_pair(4, 3);
    o.channels = 3;
    o.scale = 1.0;
    o.mean = std::vector<double>{1.0, 2.0, 3.0};
    o.std = std::vector<double>{1.0, 2.0, 4.0};
    o.batch = 2;
    const Embedder e(o);
    EXPECT_EQ(e.description().runtime, "callback");
    EXPECT_EQ(e.size(), 6u);
    Image8 a(4, 3), b(4, 3);
    std::fill(a.pixels.begin(), a.pixels.end(), 9);
    std::fill(b.pixels.begin(), b.pixels.end(), 5);
    const auto out = e.embed({&a, &b});
    const auto seen = runner->batches().back();
    EXPECT_EQ(seen.count, 2);
    EXPECT_EQ(seen.channels, 3);
    EXPECT_EQ(seen.height, 3);
    EXPECT_EQ(seen.width, 4);
    // Image a, channel 2 (B in RGB order): (9 - 3) / 4 everywhere.
    EXPECT_FLOAT_EQ(out.at(0).at(5), 1.5f);
    EXPECT_FLOAT_EQ(out.at(0).at(4), 12 * 1.5f);
    EXPECT_FLOAT_EQ(out.at(1).at(1), 4.0f);  // image b, channel 0: (5 - 1) / 1
}

// A 3-D model's runner (docs/models.md, section "3-D models"): per unit, the first value of
// each channel's slice, N x (C x D).
class FirstVoxelRunner final : public ModelRunner {
public:
    OutputBatch run(const InputBatch& b) const override {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_depths.push_back(b.depth);
        }
        OutputBatch out;
        out.shape = {b.count, b.channels * b.depth};
        const std::size_t plane = static_cast<std::size_t>(b.height) * b.width;
        for (int i = 0; i < b.count; ++i)
            for (int c = 0; c < b.channels; ++c)
                for (int z = 0; z < b.depth; ++z)
                    out.values.push_back(
                        b.values[((static_cast<std::size_t>(i) * b.channels + c) * b.depth + z) * plane]);
        return out;
    }
    std::string runtime() const override { return "callback"; }
    std::vector<int> depths() const {
        std::lock_guard<std::mutex> lock(m_mutex);
        return m_depths;
    }

private:
    mutable std::mutex m_mutex;
    mutable std::vector<int> m_depths;
};

TEST(DeepNet, ThreeDModelGetsEachUnitsBlockWithOneMappingOverTheUnit) {
    auto runner = std::make_shared<FirstVoxelRunner>();
    ModelOptions o;
    o.path = "unit-function";
    ModelFiles files;
    files.sidecar_path = "unit-function.json";
    files.sidecar_text = R"({"depth": "any", "input_size": [4, 4], "scale": 1, "mean": [1, 2, 3], "std": [1, 2, 4]})";
    o.files = files;
    o.runner = runner;
    o.unit_depth = 3;  // the run's unit depth: the trial's
    const Embedder e(o);
    EXPECT_EQ(e.description().depth, k_any_depth);
    EXPECT_EQ(e.size(), 9u);  // 3 channels x 3 slices
    EXPECT_EQ(runner->depths(), std::vector<int>{3});
    // Three 6 x 6 int16 slices, v = 100 + 10 z + x; the unit: columns 1-4, rows 2-5, so its
    // one min-max is 101 .. 124.
    std::vector<std::vector<std::int16_t>> voxels(3, std::vector<std::int16_t>(36));
    UnitCrop crop;
    for (int z = 0; z < 3; ++z) {
        for (int i = 0; i < 36; ++i)
            voxels[z][static_cast<std::size_t>(i)] = static_cast<std::int16_t>(100 + 10 * z + i % 6);
        crop.slices.push_back({voxels[z].data(), VoxelType::Int16, 6, 6});
    }
    crop.x0 = 1;
    crop.y0 = 2;
    crop.width = 4;
    crop.height = 4;
    const IntensityMapping minmax = IntensityMapping::from_string("minmax").value();
    const auto out = e.embed_units({crop, crop}, minmax);
    ASSERT_EQ(out.size(), 2u);
    const double u8[3] = {0, 111, 222};  // (10 z) / 23 * 255, rounded
    const double mean[3] = {1, 2, 3}, sd[3] = {1, 2, 4};
    for (int c = 0; c < 3; ++c)
        for (int z = 0; z < 3; ++z)
            EXPECT_FLOAT_EQ(out[1].at(static_cast<std::size_t>(c * 3 + z)),
                            static_cast<float>((u8[z] - mean[c]) / sd[c]))
                << c << "," << z;
    const InputBatch b = e.preprocess_units({crop}, minmax);
    EXPECT_EQ(b.depth, 3);
    EXPECT_EQ(b.values.size(), 3u * 3 * 16);
    // A unit of 2 slices gives 6 values, not the trial's 9: the volume's error, named.
    UnitCrop two = crop;
    two.slices.pop_back();
    try {
        e.embed_units({two}, minmax);
        ADD_FAILURE() << "accepted another embedding length";
    } catch (const InputError& err) {
        EXPECT_NE(std::string(err.what()).find("must pool"), std::string::npos) << err.what();
    }
}

}  // namespace
}  // namespace lessmore
