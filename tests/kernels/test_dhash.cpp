// dhash bit-exact against imagehash/Pillow on real CT slices (golden file from
// tests/golden/make_dhash_golden.py), plus the 8-bit images themselves (SHA-256).
#include "test_support.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/dhash.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/natural_order.hpp>
#include <lessmore/thread_pool.hpp>

#include <map>

namespace lessmore {
namespace {

nlohmann::json golden() { return test::read_json(test::source_dir() / "tests/golden/dhash_golden.json"); }

std::unique_ptr<Volume> load_one(const test::fs::path& path) {
    const Discovery d = discover({path.string()});
    EXPECT_EQ(d.sources.size(), 1u);
    ThreadPool pool(2);
    CancelToken cancel;
    auto loaded = load_source(d.sources.at(0), LoadOptions{}, pool, cancel);
    EXPECT_EQ(loaded.size(), 1u);
    EXPECT_TRUE(loaded.at(0).volume) << loaded.at(0).error;
    return std::move(loaded.at(0).volume);
}

// Checks every slice of one golden volume; returns how many were checked.
std::size_t check_volume(const nlohmann::json& gv, const Volume& volume) {
    const bool dicom = gv.at("kind") == "dicom";
    std::map<std::string, std::size_t> by_file;
    for (std::size_t i = 0; i < volume.slice_count(); ++i) by_file[volume.info().slices[i].file] = i;
    const IntensityMapping minmax;
    const IntensityMapping window = IntensityMapping::from_string("window:40,400").value();
    std::size_t checked = 0;
    for (const auto& gs : gv.at("slices")) {
        const std::size_t i = dicom ? by_file.at(gs.at("file").get<std::string>()) : gs.at("index").get<std::size_t>();
        SCOPED_TRACE(gv.at("dataset").get<std::string>() + " slice " + std::to_string(i));
        const Image8 img = to_8bit(volume.slice(i), minmax);
        EXPECT_EQ(test::sha256_hex(img.pixels.data(), img.pixels.size()), gs.at("minmax_sha256"));
        EXPECT_EQ(dhash(img, 8).hex(), gs.at("hash"));
        EXPECT_EQ(dhash(img, 16).hex(), gs.at("hash16"));
        const Image8 win = to_8bit(volume.slice(i), window);
        EXPECT_EQ(test::sha256_hex(win.pixels.data(), win.pixels.size()), gs.at("window_sha256"));
        EXPECT_EQ(dhash(win, 8).hex(), gs.at("window_hash"));
        if (dicom) {
            EXPECT_TRUE(volume.info().slices[i].z.has_value());
            EXPECT_NEAR(volume.info().slices[i].z.value_or(0.0), gs.at("z").get<double>(), 1e-9);
        }
        ++checked;
    }
    return checked;
}

TEST(DHashGolden, BundledSampleEverySliceBitExact) {
    const auto volume = load_one(test::bundled_sample());
    const nlohmann::json g = golden();
    for (const auto& gv : g.at("volumes")) {
        if (gv.at("dataset") == "nifti/example_ct_sm.nii.gz") {
            EXPECT_EQ(check_volume(gv, *volume), 30u);
            return;
        }
    }
    FAIL() << "golden file has no entry for the bundled sample";
}

TEST(DHashGolden, RealCtEverySliceBitExact) {
    std::size_t total = 0;
    const nlohmann::json g = golden();
    for (const auto& gv : g.at("volumes")) {
        const std::string dataset = gv.at("dataset");
        // The small NIfTI is the bundled sample (data/sample/), the rest is in tests/data/ct.
        const auto volume =
            load_one(dataset == "nifti/example_ct_sm.nii.gz" ? test::bundled_sample() : test::ct_data() / dataset);
        EXPECT_EQ(volume->slice_count(), gv.at("slices").size());
        total += check_volume(gv, *volume);
    }
    EXPECT_EQ(total, 16u + 28u + 112u + 30u);
}

TEST(DHash, HexIsImagehashStringForm) {
    DHash h;
    h.hash_size = 8;
    h.words = {0x0123456789abcdefULL};
    EXPECT_EQ(h.hex(), "0123456789abcdef");
    EXPECT_EQ(h.bit(0), 0);
    EXPECT_EQ(h.bit(7), 1);   // 0x01: the eighth bit
    EXPECT_EQ(h.bit(63), 1);  // 0x...f
    // 3x3 = 9 bits -> 3 hex digits, big-endian over the bits: 1 0000 0001 -> "101".
    DHash small;
    small.hash_size = 3;
    small.words = {(std::uint64_t{1} << 63) | (std::uint64_t{1} << 55)};
    EXPECT_EQ(small.hex(), "101");
}

TEST(DHash, BitsFollowRightNeighbourBrighter) {
    // A horizontal ramp: every right neighbour is brighter -> all ones.
    Image8 ramp(90, 80);
    for (int y = 0; y < 80; ++y)
        for (int x = 0; x < 90; ++x) ramp.row(y)[x] = static_cast<std::uint8_t>(x * 2);
    EXPECT_EQ(dhash(ramp).hex(), "ffffffffffffffff");
    // The mirrored ramp -> all zeros; a flat image -> all zeros (not strictly brighter).
    Image8 down(90, 80);
    for (int y = 0; y < 80; ++y)
        for (int x = 0; x < 90; ++x) down.row(y)[x] = static_cast<std::uint8_t>(200 - x * 2);
    EXPECT_EQ(dhash(down).hex(), "0000000000000000");
    EXPECT_EQ(dhash(Image8(90, 80)).hex(), "0000000000000000");
    EXPECT_EQ(hamming_distance(dhash(ramp), dhash(down)), 64);
}

TEST(DHash, HashSizeChangesLength) {
    Image8 img(64, 64);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>((i * 31) % 251);
    EXPECT_EQ(dhash(img, 16).hex().size(), 64u);
    EXPECT_EQ(dhash(img, 5).hex().size(), 7u);  // ceil(25 / 4)
    EXPECT_THROW(hamming_distance(dhash(img, 8), dhash(img, 16)), std::invalid_argument);
}

}  // namespace
}  // namespace lessmore
