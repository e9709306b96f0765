// The small committed DICOM fixtures (tests/data/dicom, made by make_dicom_fixtures.py
// with pydicom/Pillow): Philips-style names, two series in one folder, -2000 padding,
// rescale slope, constant slices. These always run.
#include "test_support.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/dhash.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/natural_order.hpp>
#include <lessmore/thread_pool.hpp>

#include <numeric>

namespace lessmore {
namespace {

using nlohmann::json;

std::vector<LoadedVolume> load_folder(const std::string& name) {
    const Discovery d = discover({(test::dicom_fixtures() / name).string()});
    ThreadPool pool(2);
    CancelToken cancel;
    std::vector<LoadedVolume> out;
    for (const Source& s : d.sources)
        for (auto& v : load_source(s, LoadOptions{}, pool, cancel)) out.push_back(std::move(v));
    return out;
}

void check_series(const json& g, const Volume& v) {
    const VolumeInfo& info = v.info();
    ASSERT_EQ(info.slice_count(), g["slices"].size());
    EXPECT_EQ(info.width, g["columns"].get<int>());
    EXPECT_EQ(info.height, g["rows"].get<int>());
    EXPECT_DOUBLE_EQ(info.spacing[0], g["pixel_spacing"][1].get<double>());
    for (std::size_t i = 0; i < info.slice_count(); ++i) {
        const json& gs = g["slices"][i];
        SCOPED_TRACE(gs["file"].get<std::string>());
        EXPECT_EQ(info.slices[i].file, gs["file"]);
        EXPECT_NEAR(*info.slices[i].z, gs["z"].get<double>(), 1e-6);
        const SliceView s = v.slice(i);
        // int16, or int32 for a series with a rescale whose range int16 cannot hold.
        ASSERT_TRUE(s.type == VoxelType::Int16 || s.type == VoxelType::Int32) << voxel_type_name(s.type);
        std::vector<long long> hu(s.pixels());
        for (std::size_t p = 0; p < hu.size(); ++p) {
            hu[p] = s.type == VoxelType::Int16 ? static_cast<const std::int16_t*>(s.data)[p]
                                               : static_cast<const std::int32_t*>(s.data)[p];
        }
        EXPECT_EQ(std::accumulate(hu.begin(), hu.end(), 0LL), gs["hu_sum"].get<long long>());
        EXPECT_EQ(*std::min_element(hu.begin(), hu.end()), gs["hu_min"].get<int>());
        EXPECT_EQ(*std::max_element(hu.begin(), hu.end()), gs["hu_max"].get<int>());
        const Image8 img = to_8bit(s, IntensityMapping{});
        EXPECT_EQ(std::accumulate(img.pixels.begin(), img.pixels.end(), 0LL), gs["u8_sum"].get<long long>());
        EXPECT_EQ(dhash(img).hex(), gs["hash"]);
    }
}

json golden_series(const std::string& folder, const std::string& number) {
    const json g = test::read_json(test::dicom_fixtures() / "golden.json");
    for (const auto& s : g["series"])
        if (s["folder"] == folder && (number.empty() || s["series_number"] == number)) return s;
    throw std::runtime_error("no golden series " + folder);
}

TEST(DicomFixtures, PhilipsNamesWithoutExtensionBesideDirfile) {
    auto vols = load_folder("philips");
    ASSERT_EQ(vols.size(), 1u);
    ASSERT_TRUE(vols[0].volume) << vols[0].error;
    EXPECT_EQ(vols[0].id, "philips");
    check_series(golden_series("philips", ""), *vols[0].volume);
}

TEST(DicomFixtures, TwoSeriesInOneFolderAreTwoVolumes) {
    auto vols = load_folder("two-series");
    ASSERT_EQ(vols.size(), 2u);
    ASSERT_TRUE(vols[0].volume && vols[1].volume);
    // Labelled by SeriesNumber (unique in the folder), never by patient tags.
    EXPECT_EQ(vols[0].id, "two-series#3");
    EXPECT_EQ(vols[1].id, "two-series#5");
    check_series(golden_series("two-series", "3"), *vols[0].volume);
    check_series(golden_series("two-series", "5"), *vols[1].volume);
}

TEST(DicomFixtures, PaddingAndRescaleSlopeFollowTheAuthors) {
    auto vols = load_folder("padded");
    ASSERT_EQ(vols.size(), 1u);
    ASSERT_TRUE(vols[0].volume) << vols[0].error;
    check_series(golden_series("padded", ""), *vols[0].volume);
}

TEST(DicomFixtures, ConstantSlicesMapToZerosAndOneHash) {
    auto vols = load_folder("constant");
    ASSERT_TRUE(vols[0].volume) << vols[0].error;
    check_series(golden_series("constant", ""), *vols[0].volume);
}

}  // namespace
}  // namespace lessmore
