// The readers against independent ones (pydicom, nibabel; tests/data/make_reader_fixtures.py
// wrote tests/data/readers_golden.json): Enhanced multi-frame CT in shuffled frame order
// with per-frame rescale, PET beyond int16, 13-bit signed data stored unsigned (natively
// and by a JPEG 2000 codestream), a series split over sibling folders, copies, duplicate
// instances, files without preamble, non-image objects and localizers, dcm2niix's NIfTI,
// and every file of the DICOM quirk corpus. Compressed data that disagrees with its
// header, JPEG data cut short, colour and odd-length pixel data
// (tests/data/make_decode_fixtures.py wrote tests/data/decode_golden.json).
#include "test_support.hpp"

#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/sha256.hpp>
#include <lessmore/thread_pool.hpp>

#include <cmath>
#include <map>

namespace lessmore {
namespace {

using nlohmann::json;

const test::fs::path k_readers = test::source_dir() / "tests" / "data" / "readers";

json golden() { return test::read_json(test::source_dir() / "tests" / "data" / "readers_golden.json"); }

struct Loaded {
    std::map<std::string, LoadedVolume> volumes;               // by id
    std::vector<std::pair<std::string, std::string>> skipped;  // path, reason
};

Loaded load_all(const test::fs::path& input) {
    const Discovery d = discover({input.string()});
    ThreadPool pool(2);
    CancelToken cancel;
    Loaded out;
    for (const Source& s : d.sources) {
        for (LoadedVolume& v : load_source(s, LoadOptions{}, pool, cancel)) {
            if (v.skipped) {
                out.skipped.emplace_back(v.path, v.error);
            } else {
                out.volumes[v.id] = std::move(v);
            }
        }
    }
    return out;
}

double value_at(const SliceView& s, std::size_t i) {
    switch (s.type) {
    case VoxelType::UInt8:
        return static_cast<const std::uint8_t*>(s.data)[i];
    case VoxelType::Int16:
        return static_cast<const std::int16_t*>(s.data)[i];
    case VoxelType::UInt16:
        return static_cast<const std::uint16_t*>(s.data)[i];
    case VoxelType::Int32:
        return static_cast<const std::int32_t*>(s.data)[i];
    case VoxelType::Float32:
        return static_cast<const float*>(s.data)[i];
    case VoxelType::Float64:
        return static_cast<const double*>(s.data)[i];
    }
    return 0;
}

// Slice order, positions and every slice's values and 8-bit image against the golden.
void check_volume(const json& g, const Volume& v) {
    const VolumeInfo& info = v.info();
    ASSERT_EQ(info.slice_count(), g["slices"].size());
    EXPECT_EQ(info.width, g["columns"].get<int>());
    EXPECT_EQ(info.height, g["rows"].get<int>());
    const bool multi = g["frames"].get<std::size_t>() > g["files"].size() && g.value("format", "") != "nifti";
    for (std::size_t i = 0; i < info.slice_count(); ++i) {
        const json& gs = g["slices"][i];
        SCOPED_TRACE("slice " + std::to_string(i));
        if (g.value("format", "") != "nifti") {
            const std::string file = test::fs::path(g["order"][i][0].get<std::string>()).filename().string();
            const int frame = g["order"][i][1].get<int>();
            EXPECT_EQ(test::fs::path(info.slices[i].file).filename().string(),
                      multi ? file + "#" + std::to_string(frame + 1) : file);
            ASSERT_TRUE(info.slices[i].z);
            EXPECT_NEAR(*info.slices[i].z, g["z"][i].get<double>(), 1e-6);
        }
        const SliceView s = v.slice(i);
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        for (std::size_t p = 0; p < s.pixels(); ++p) {
            const double x = value_at(s, p);
            lo = std::min(lo, x);
            hi = std::max(hi, x);
            sum += x;
        }
        const double tolerance =
            s.type == VoxelType::Float64 ? 1e-9 * std::max(1.0, std::fabs(gs["sum"].get<double>())) : 0.0;
        EXPECT_EQ(lo, gs["min"].get<double>());
        EXPECT_NEAR(hi, gs["max"].get<double>(), s.type == VoxelType::Float64 ? 1e-9 * std::fabs(hi) : 0.0);
        EXPECT_NEAR(sum, gs["sum"].get<double>(), tolerance);
        const Image8 u8 = to_8bit(s, IntensityMapping{});
        EXPECT_EQ(test::sha256_hex(u8.pixels.data(), u8.pixels.size()), gs["u8_sha256"].get<std::string>());
    }
}

const json& golden_volume(const json& g, const std::string& name) {
    for (const json& v : g["volumes"])
        if (v["volume"] == name) return v;
    throw std::runtime_error("no golden volume " + name);
}

// The one volume of a fixture folder against the golden volume `name`.
void check(const Loaded& loaded, const json& g, const std::string& name, VoxelType type) {
    SCOPED_TRACE(name);
    ASSERT_EQ(loaded.volumes.size(), 1u);
    const LoadedVolume& v = loaded.volumes.begin()->second;
    ASSERT_TRUE(v.volume) << v.path << ": " << v.error;
    EXPECT_EQ(v.volume->info().type, type) << voxel_type_name(v.volume->info().type);
    check_volume(golden_volume(g, name), *v.volume);
}

TEST(ReadersGolden, EnhancedCtFramesInPositionOrderWithTheirOwnRescale) {
    const json g = golden();
    check(load_all(k_readers / "enhanced-ct"), g, "enhanced-ct", VoxelType::Int16);
    check(load_all(k_readers / "enhanced-ct-rescale"), g, "enhanced-ct-rescale", VoxelType::Int16);
    // Frames in two orientations are not one stack: refused with the reason.
    const Loaded bad = load_all(k_readers / "enhanced-bad");
    ASSERT_EQ(bad.volumes.size(), 1u);
    EXPECT_FALSE(bad.volumes.begin()->second.volume);
    EXPECT_NE(bad.volumes.begin()->second.error.find("different orientations"), std::string::npos)
        << bad.volumes.begin()->second.error;
}

TEST(ReadersGolden, PetValuesBeyondInt16AreKeptExactly) {
    const json g = golden();
    check(load_all(k_readers / "pet"), g, "pet", VoxelType::Float64);
}

TEST(ReadersGolden, SignedThirteenBitStoredUnsignedIsSignExtended) {
    const json g = golden();
    for (const char* name : {"signed13", "signed13-j2k"}) {
        check(load_all(k_readers / name), g, name, VoxelType::Int16);
    }
}

TEST(ReadersGolden, FilesWithoutPreambleAreFoundByContent) {
    const json g = golden();
    check(load_all(k_readers / "headless"), g, "headless", VoxelType::Int16);
}

TEST(ReadersGolden, NonImagesLocalizersAndDuplicatesAreSkippedWithAReason) {
    const json g = golden();
    for (const char* name : {"with-seg", "duplicate-sop"}) {
        SCOPED_TRACE(name);
        const Loaded l = load_all(k_readers / name);
        check(l, g, name, VoxelType::Int16);
        const json& expected = golden_volume(g, name)["skipped"];
        ASSERT_EQ(l.skipped.size(), expected.size());
        for (const json& e : expected) {
            const std::string file = e["file"];
            const auto it = std::find_if(l.skipped.begin(), l.skipped.end(),
                                         [&](const auto& s) { return test::fs::path(s.first).filename() == file; });
            ASSERT_NE(it, l.skipped.end()) << file << " was not skipped";
            const std::string reason = e["reason"];
            const std::string word = reason == "rt"                         ? "RT"
                                     : reason == "sr"                       ? "structured report"
                                     : reason == "duplicate SOPInstanceUID" ? "duplicate"
                                                                            : reason;
            EXPECT_NE(it->second.find(word), std::string::npos) << file << ": " << it->second;
        }
    }
}

TEST(ReadersGolden, ASeriesSplitOverSiblingFoldersIsOneVolumeCopiesStaySeparate) {
    const json g = golden();
    {
        test::TempDir dir;
        for (const char* top : {"split", "copies", "far", "other"})
            test::copy_tree(k_readers / top, dir / "data" / top);
        const Loaded l = load_all(dir / "data");
        std::vector<std::string> ids;
        for (const auto& [id, v] : l.volumes) ids.push_back(id);
        EXPECT_EQ(ids, (std::vector<std::string>{"copies/a", "copies/b", "far/x/y", "other/z", "split"}));
        for (const auto& [id, v] : l.volumes) {
            SCOPED_TRACE(id);
            ASSERT_TRUE(v.volume) << v.error;
            check_volume(golden_volume(g, id), *v.volume);
        }
        // The split series' slices come from both parts, in position order.
        const VolumeInfo& split = l.volumes.at("split").volume->info();
        EXPECT_EQ(split.slices.front().file.rfind("part", 0), 0u);
    }
    // info names the volumes that share a SeriesInstanceUID.
    test::TempDir dir;
    test::copy_tree(k_readers / "copies", dir / "copies");
    test::copy_tree(k_readers / "far", dir / "far");
    test::copy_tree(k_readers / "other", dir / "other");
    const auto r = test::run_lessmore({"info", dir.path().string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json info = json::parse(r.out);
    std::map<std::string, json> shares;
    for (const json& v : info["volumes"]) shares[v["id"]] = v.value("shares_series_uid_with", json::array());
    EXPECT_EQ(shares["copies/a"], json::array({"copies/b"}));
    EXPECT_EQ(shares["far/x/y"], json::array({"other/z"}));
    EXPECT_NE(r.err.find("shares its SeriesInstanceUID"), std::string::npos) << r.err;
}

TEST(ReadersGolden, Dcm2niixNiftiReadsAsNibabelReadsIt) {
    const json g = golden();
    for (const char* name : {"dcm2niix/pancreas.nii.gz", "dcm2niix/ct_inter.nii.gz"}) {
        // int16 on disk with a whole-number intercept: int32 holds every value it allows.
        check(load_all(k_readers / name), g, name, VoxelType::Int32);
    }
}

TEST(ReadersGolden, EveryDicomQuirkFileAsPydicomDecodesIt) {
    const json g = golden();
    EXPECT_TRUE(g["dicom_quirks_not_decoded"].empty());
    for (const json& q : g["dicom_quirks"]) {
        const std::string rel = q["files"][0];
        SCOPED_TRACE(rel);
        const Loaded l = load_all(test::source_dir() / "tests" / "data" / "dicom-quirks" / rel);
        ASSERT_EQ(l.volumes.size(), 1u);
        const LoadedVolume& v = l.volumes.begin()->second;
        ASSERT_TRUE(v.volume) << v.path << ": " << v.error;
        check_volume(q, *v.volume);
    }
}

const test::fs::path k_decode = test::source_dir() / "tests" / "data" / "decode";

json decode_golden() { return test::read_json(test::source_dir() / "tests" / "data" / "decode_golden.json"); }

// A J2K, JPEG-LS, RLE and lossless JPEG slice in one series, baseline JPEG (one with
// restart markers), native data one byte longer than the image, and a file without
// PhotometricInterpretation: each read as pydicom reads it.
TEST(DecodeFixtures, GoodCompressedAndOddFilesReadAsPydicomReadsThem) {
    const json g = decode_golden();
    for (const json& v : g["volumes"]) {
        const std::string name = v["volume"];
        SCOPED_TRACE(name);
        const Loaded l = load_all(k_decode / name);
        ASSERT_EQ(l.volumes.size(), 1u);
        const LoadedVolume& lv = l.volumes.begin()->second;
        ASSERT_TRUE(lv.volume) << lv.path << ": " << lv.error;
        check_volume(v, *lv.volume);
    }
}

// Each refused file fails its volume with a reason naming what disagrees (the codestream's
// geometry and the header's, the data cut short, the colour interpretation, the length).
TEST(DecodeFixtures, DisagreeingOrDamagedFilesAreRefusedNamingTheMismatch) {
    const json g = decode_golden();
    for (const json& r : g["refused"]) {
        const std::string name = r["volume"];
        SCOPED_TRACE(name);
        const Loaded l = load_all(k_decode / name);
        ASSERT_EQ(l.volumes.size(), 1u);
        const LoadedVolume& lv = l.volumes.begin()->second;
        EXPECT_FALSE(lv.volume);
        EXPECT_NE(lv.path.find(r["file"].get<std::string>()), std::string::npos) << lv.path;
        for (const json& must : r["must_name"])
            EXPECT_NE(lv.error.find(must.get<std::string>()), std::string::npos) << lv.error;
    }
}

// 2-D JPEG slices: grey, colour and progressive decode as Pillow decodes them; data cut
// short, zero-filled, or cut with an end-of-image marker put back is refused.
TEST(DecodeFixtures, JpegSlicesAsPillowDecodesThemDamagedOnesRefused) {
    const json g = decode_golden()["slices"];
    const auto root = test::source_dir() / "tests" / "data" / "decode-slices";
    const Loaded good = load_all(root / "good");
    ASSERT_EQ(good.volumes.size(), 1u);
    const LoadedVolume& v = good.volumes.begin()->second;
    ASSERT_TRUE(v.volume) << v.error;
    ASSERT_EQ(v.volume->info().slice_count(), g["good"].size());
    for (std::size_t i = 0; i < g["good"].size(); ++i) {
        const json& gs = g["good"][i];
        SCOPED_TRACE(gs["file"].get<std::string>());
        const SliceView s = v.volume->slice(i);
        ASSERT_EQ(s.type, VoxelType::UInt8);
        EXPECT_EQ(v.volume->info().width, gs["columns"].get<int>());
        EXPECT_EQ(v.volume->info().height, gs["rows"].get<int>());
        EXPECT_EQ(test::sha256_hex(static_cast<const std::uint8_t*>(s.data), s.pixels()),
                  gs["pixels_sha256"].get<std::string>());
    }
    for (const json& bad : g["refused"]) {
        const Loaded l = load_all(root / bad.get<std::string>());
        ASSERT_EQ(l.volumes.size(), 1u);
        const LoadedVolume& lv = l.volumes.begin()->second;
        EXPECT_FALSE(lv.volume) << bad;
        EXPECT_NE(lv.error.find("JPEG"), std::string::npos) << lv.error;
    }
}

}  // namespace
}  // namespace lessmore
