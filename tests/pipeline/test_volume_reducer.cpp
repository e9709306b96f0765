// One volume through the reducer: decisions from the metric and strategy, per-slice
// records, and the kept slices written where the record says.
#include "test_support.hpp"

#include <lessmore/dhash.hpp>
#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>

#include "pipeline/volume_reducer.hpp"

#include <opencv2/imgcodecs.hpp>

namespace lessmore {
namespace {

// Slices 0-1 and 3-4-5 are copies; 2 differs from both groups.
Volume volume_with_copies() {
    VolumeInfo info;
    info.id = "case/a";
    info.source = "in/case/a.nii";
    info.format = "nifti";
    info.width = 32;
    info.height = 32;
    info.type = VoxelType::Int16;
    Volume v(info);
    for (int k = 0; k < 6; ++k) {
        const int pattern = k <= 1 ? 0 : k == 2 ? 1 : 2;
        Bytes bytes(32 * 32 * 2);
        auto* px = reinterpret_cast<std::int16_t*>(bytes.data());
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x)
                px[y * 32 + x] = static_cast<std::int16_t>(pattern == 0   ? x * 40
                                                           : pattern == 1 ? (x * y) % 500
                                                                          : 1000 - y * 30);
        v.info().slices.push_back({"", static_cast<double>(k), std::nullopt});
        v.add_chunk(std::move(bytes), 1);
    }
    return v;
}

ReduceConfig config(const std::string& method) {
    ReduceConfig c;
    c.metric.method = method;
    if (method == "everyn") {
        c.every = 2;
    } else {
        c.threshold = 0;
    }
    c.format = OutputFormat::Both;
    return c;
}

TEST(VolumeReducer, HashLeaderRemovesCopiesAndWritesTheKept) {
    test::TempDir out;
    const ReduceConfig c = config("hash");
    const auto metric = make_metric(c.metric);
    const Volume volume = volume_with_copies();
    ThreadPool pool(2);
    NullProgress quiet;
    CancelToken cancel;
    const VolumeRecord r = VolumeReducer(c, metric.get(), out.path()).run(volume, pool, quiet, cancel);
    ASSERT_EQ(r.slices.size(), 6u);
    EXPECT_EQ(r.kept, 3u);
    const std::vector<bool> kept = {r.slices[0].kept, r.slices[1].kept, r.slices[2].kept,
                                    r.slices[3].kept, r.slices[4].kept, r.slices[5].kept};
    EXPECT_EQ(kept, (std::vector<bool>{true, false, true, true, false, false}));
    EXPECT_EQ(r.slices[1].match, 0u);
    EXPECT_EQ(r.slices[5].match, 3u);
    EXPECT_EQ(r.slices[5].score, 0.0);
    // Every slice carries its hash, as dhash computes it on the 8-bit slice.
    const DHash h = dhash(to_8bit(volume.slice(2), IntensityMapping{}));
    EXPECT_EQ(r.slices[2].description, h.hex());
    EXPECT_EQ(r.slices[0].z, 0.0);
    // Kept slices are on disk as PNG and NPY; removed ones are not.
    EXPECT_EQ(r.slices[2].output, "slices/case/a/2.png");
    EXPECT_EQ(r.slices[2].output_npy, "slices/case/a/2.npy");
    const cv::Mat png = cv::imread((out / r.slices[2].output).string(), cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(png.empty());
    EXPECT_EQ(png.cols, 32);
    EXPECT_TRUE(r.slices[1].output.empty());
    EXPECT_FALSE(test::fs::exists(out / "slices" / "case" / "a" / "1.png"));
    EXPECT_TRUE(test::fs::exists(out / "slices" / "case" / "a" / "3.npy"));
}

TEST(VolumeReducer, PairsWithAFractionKeepsTheTargetCount) {
    test::TempDir out;
    ReduceConfig c = config("hash");
    c.threshold.reset();
    c.fraction = 0.5;
    c.format = OutputFormat::None;
    const auto metric = make_metric(c.metric);
    ThreadPool pool(1);
    NullProgress quiet;
    CancelToken cancel;
    const VolumeRecord r = VolumeReducer(c, metric.get(), out.path()).run(volume_with_copies(), pool, quiet, cancel);
    EXPECT_EQ(r.kept, 3u);
    EXPECT_EQ(r.pairs_computed, 15u);             // all 6 * 5 / 2 pairs scored
    EXPECT_TRUE(test::fs::is_empty(out.path()));  // --format none writes nothing
}

TEST(VolumeReducer, EveryNNeedsNoMetric) {
    test::TempDir out;
    ReduceConfig c = config("everyn");
    c.flat = true;
    c.format = OutputFormat::Npy;
    ThreadPool pool(1);
    NullProgress quiet;
    CancelToken cancel;
    const VolumeRecord r = VolumeReducer(c, nullptr, out.path()).run(volume_with_copies(), pool, quiet, cancel);
    EXPECT_EQ(r.kept, 3u);
    EXPECT_EQ(r.slices[4].output, "slices/case%2Fa_4.npy");
    EXPECT_FALSE(r.slices[0].description);
    EXPECT_TRUE(test::fs::exists(out / "slices" / "case%2Fa_4.npy"));
}

TEST(VolumeReducer, ASliceTooSmallForTheMetricFailsTheVolume) {
    test::TempDir out;
    ReduceConfig c = config("ssim");
    c.threshold = 0.9;
    const auto metric = make_metric(c.metric);
    VolumeInfo info;
    info.id = "tiny";
    info.width = 8;
    info.height = 8;
    info.type = VoxelType::UInt8;
    Volume v(info);
    for (int k = 0; k < 2; ++k) {
        v.info().slices.push_back({});
        v.add_chunk(Bytes(64), 1);
    }
    ThreadPool pool(1);
    NullProgress quiet;
    CancelToken cancel;
    EXPECT_THROW(VolumeReducer(c, metric.get(), out.path()).run(v, pool, quiet, cancel), InputError);
}

TEST(VolumeReducer, AnUnwritableOutIsAnErrorNamingThePath) {
    test::TempDir out;
    test::write_file(out / "slices", "a file where the folder should be");
    const ReduceConfig c = config("hash");
    const auto metric = make_metric(c.metric);
    ThreadPool pool(1);
    NullProgress quiet;
    CancelToken cancel;
    try {
        VolumeReducer(c, metric.get(), out.path()).run(volume_with_copies(), pool, quiet, cancel);
        ADD_FAILURE() << "wrote through a file";
    } catch (const InputError&) {
        ADD_FAILURE() << "an output problem is not the input's fault";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("slices"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lessmore
