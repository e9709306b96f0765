// 3-D unit kernels against scikit-image (tests/golden/make_unit_golden.py): SSIM and NMI
// on synthetic and real CT units, the one min-max over a unit, slab HASH distances.
#include "test_support.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/dhash.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/unit_similarity.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>

namespace lessmore {
namespace {

using nlohmann::json;

constexpr double k_parity = 1e-8;

json golden() { return test::read_json(test::source_dir() / "tests/golden/unit_golden.json"); }

std::unique_ptr<Volume> load_volume(const test::fs::path& path) {
    const Discovery d = discover({path.string()});
    ThreadPool pool(2);
    CancelToken cancel;
    auto loaded = load_source(d.sources.at(0), LoadOptions{}, pool, cancel);
    return std::move(loaded.at(0).volume);
}

void expect_nmi(double ours, const json& expected, const std::string& what) {
    if (expected.is_null()) {
        EXPECT_TRUE(std::isnan(ours)) << what << ": scikit-image gives NaN, we give " << ours;
    } else {
        EXPECT_NEAR(ours, expected.get<double>(), k_parity) << what;
    }
}

Unit8 decode(const json& c, const char* key) {
    const auto shape = c["shape"];
    Unit8 u(shape[0], shape[1], shape[2]);
    const auto bytes = test::base64_decode(c[key]);
    u.voxels.assign(bytes.begin(), bytes.end());
    return u;
}

TEST(UnitSimilarityGolden, SyntheticUnits) {
    const json g = golden();
    ASSERT_GE(g["synthetic"].size(), 10u);
    for (const auto& c : g["synthetic"]) {
        const std::string name = c["name"];
        SCOPED_TRACE(name);
        const Unit8 a = decode(c, "a_b64"), b = decode(c, "b_b64");
        if (c["ssim"].is_null()) {
            try {
                ssim3d(a, b);
                ADD_FAILURE() << "scikit-image refuses this unit, lessmore accepted it";
            } catch (const InputError& e) {
                EXPECT_NE(std::string(e.what()).find("smaller than the 7x7x7 window"), std::string::npos) << e.what();
            }
        } else {
            EXPECT_NEAR(ssim3d(a, b), c["ssim"].get<double>(), k_parity);
        }
        expect_nmi(normalized_mutual_information_3d(a, b, 100), c["nmi"], name);
    }
}

// A unit's voxels from a loaded volume: its slices (by index), cropped, one min-max.
Unit8 unit_of(const Volume& v, const std::vector<std::size_t>& slices, const json& origin, const json& size) {
    std::vector<SliceView> views;
    for (std::size_t k : slices) views.push_back(v.slice(k));
    return to_8bit_block(views, origin[2], origin[1], size[2], size[1], IntensityMapping{});
}

// Checks every pair of a golden volume; `slices_of(pair, "a")` gives unit a's slice indexes.
// Returns the worst SSIM difference from scikit-image.
template <typename SlicesOf>
double check_volume(const Volume& v, const json& gv, SlicesOf slices_of) {
    DHasher hasher;
    double worst = 0.0;
    for (const auto& p : gv["pairs"]) {
        const std::string what = gv["dataset"].get<std::string>() + " " + p["a_origin"].dump() + " vs " +
                                 p["b_origin"].dump() + " size " + p["size"].dump();
        SCOPED_TRACE(what);
        const auto sa = slices_of(p, "a"), sb = slices_of(p, "b");
        const Unit8 a = unit_of(v, sa, p["a_origin"], p["size"]);
        const Unit8 b = unit_of(v, sb, p["b_origin"], p["size"]);
        EXPECT_EQ(test::sha256_hex(a.voxels.data(), a.size()), p["a_sha256"]);  // one min-max per unit
        EXPECT_EQ(test::sha256_hex(b.voxels.data(), b.size()), p["b_sha256"]);
        const Ssim3dStats stats_a = ssim3d_prepare(a), stats_b = ssim3d_prepare(b);
        const double ours = ssim3d_compare(stats_a, stats_b);
        EXPECT_NEAR(ours, p["ssim"].get<double>(), k_parity);
        worst = std::max(worst, std::fabs(ours - p["ssim"].get<double>()));
        expect_nmi(mi3d_compare(mi3d_prepare(a), mi3d_prepare(b)), p["nmi"], what);
        if (!p.contains("hash_max")) continue;
        std::vector<DHash> ha, hb;
        for (std::size_t k : sa) ha.push_back(hasher(to_8bit(v.slice(k), IntensityMapping{})));
        for (std::size_t k : sb) hb.push_back(hasher(to_8bit(v.slice(k), IntensityMapping{})));
        for (std::size_t k = 0; k < ha.size(); ++k) {
            EXPECT_EQ(ha[k].hex(), p["a_hashes"][k]);
            EXPECT_EQ(hb[k].hex(), p["b_hashes"][k]);
        }
        EXPECT_EQ(slab_hash_max_distance(ha, hb), p["hash_max"].get<int>());
        EXPECT_EQ(slab_hash_mean_distance(ha, hb), p["hash_mean"].get<double>());
    }
    return worst;
}

TEST(UnitSimilarityGolden, RealCtSlabsAndPatches) {
    const json g = golden();
    const auto pancreas = load_volume(test::ct_data() / "pancreas-ct-cb-001");
    std::map<std::string, std::size_t> by_file;
    for (std::size_t i = 0; i < pancreas->slice_count(); ++i) by_file[pancreas->info().slices[i].file] = i;
    ASSERT_EQ(g["pancreas"]["pairs"].size(), 7u);
    // Exact window sums: rounding-level differences only, far inside the 1e-8 parity.
    EXPECT_LT(check_volume(*pancreas, g["pancreas"],
                           [&](const json& p, const std::string& unit) {
                               std::vector<std::size_t> slices;
                               for (const auto& f : p[unit + "_files"])
                                   slices.push_back(by_file.at(f.get<std::string>()));
                               return slices;
                           }),
              1e-11);
    const auto sample = load_volume(test::bundled_sample());
    ASSERT_EQ(g["sample"]["pairs"].size(), 5u);
    EXPECT_LT(check_volume(*sample, g["sample"],
                           [](const json& p, const std::string& unit) {
                               std::vector<std::size_t> slices;
                               const int z0 = p[unit + "_origin"][0], depth = p["size"][0];
                               for (int z = z0; z < z0 + depth; ++z) slices.push_back(static_cast<std::size_t>(z));
                               return slices;
                           }),
              1e-11);
}

TEST(UnitSimilarity, RefusesUnitsTooSmallOrOfDifferentShapes) {
    EXPECT_THROW(ssim3d_prepare(Unit8(6, 64, 64)), InputError);
    EXPECT_THROW(ssim3d_prepare(Unit8(8, 6, 64)), InputError);
    EXPECT_THROW(ssim3d_prepare(Unit8(8, 64, 6)), InputError);
    EXPECT_NO_THROW(ssim3d_prepare(Unit8(7, 7, 7)));
    EXPECT_THROW(ssim3d(Unit8(8, 8, 8), Unit8(8, 8, 9)), InputError);
    EXPECT_THROW(normalized_mutual_information_3d(Unit8(8, 8, 8), Unit8(8, 9, 8)), InputError);
}

TEST(UnitSimilarity, OneMinMaxOverTheWholeBlock) {
    // Two 2x3 slices; the block is the right 2x2 of each: values 1..4 and 11..14 (min 1,
    // max 14), so slice 0's voxels map low and slice 1's high, unlike per-slice min-max.
    std::vector<std::int16_t> s0 = {100, 1, 2, -100, 3, 4}, s1 = {-500, 11, 12, 900, 13, 14};
    const std::vector<SliceView> views = {SliceView{s0.data(), VoxelType::Int16, 3, 2},
                                          SliceView{s1.data(), VoxelType::Int16, 3, 2}};
    const Unit8 u = to_8bit_block(views, 1, 0, 2, 2, IntensityMapping{});
    ASSERT_EQ(u.depth, 2);
    std::vector<int> expected;
    for (int v : {1, 2, 3, 4, 11, 12, 13, 14})
        expected.push_back(static_cast<int>(std::nearbyint((v - 1) / 13.0 * 255.0)));
    EXPECT_EQ(std::vector<int>(u.voxels.begin(), u.voxels.end()), expected);
    EXPECT_THROW(to_8bit_block(views, 2, 0, 2, 2, IntensityMapping{}), InputError);  // outside
    EXPECT_THROW(to_8bit_block({}, 0, 0, 1, 1, IntensityMapping{}), InputError);
    IntensityMapping none;
    none.kind = IntensityMapping::Kind::None;
    EXPECT_THROW(to_8bit_block(views, 0, 0, 1, 1, none), InputError);  // not 8-bit input
    std::vector<std::uint8_t> b0 = {9, 8, 7, 6};
    const Unit8 copied = to_8bit_block({SliceView{b0.data(), VoxelType::UInt8, 2, 2}}, 1, 0, 1, 2, none);
    EXPECT_EQ(std::vector<int>(copied.voxels.begin(), copied.voxels.end()), (std::vector<int>{8, 6}));
}

TEST(SlabHash, MaxAndMeanOfPositionDistances) {
    auto hash = [](std::uint64_t word) {
        DHash h;
        h.words = {word};
        return h;
    };
    const std::vector<DHash> a = {hash(0), hash(0xff), hash(0x1)};
    const std::vector<DHash> b = {hash(0x3), hash(0xff), hash(0xf0)};  // 2, 0, 5 bits
    EXPECT_EQ(slab_hash_max_distance(a, b), 5);
    EXPECT_DOUBLE_EQ(slab_hash_mean_distance(a, b), 7.0 / 3.0);
    EXPECT_EQ(slab_hash_max_distance(a, a), 0);
    EXPECT_THROW(slab_hash_max_distance(a, {hash(0)}), InputError);
    EXPECT_THROW(slab_hash_mean_distance({}, {}), InputError);
}

}  // namespace
}  // namespace lessmore
