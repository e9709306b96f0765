// NIfTI header/image pairs end to end: found by a folder scan and given directly, listed
// by info, reduced with the values nibabel reads (tests/data/nifti_golden.json, written by
// tests/data/make_nifti_golden.py); broken pairs fail named beside a good volume. And the
// files discovery skips (FIFOs) reach the manifest of a sharded run after merge.
#include "test_support.hpp"

#include <zlib.h>

#include <sys/stat.h>
#include <cstring>
#include <map>

namespace lessmore {
namespace {

using nlohmann::json;

const test::fs::path k_nifti = test::source_dir() / "tests" / "data" / "nifti";

const json& nibabel(const std::string& file) {
    static const json g = test::read_json(test::source_dir() / "tests" / "data" / "nifti_golden.json");
    for (const json& f : g["fixtures"])
        if (f["path"] == "tests/data/nifti/" + file) return f;
    throw std::runtime_error("no golden entry for " + file);
}

void copy_pairs(const test::fs::path& to) {
    test::fs::create_directories(to);
    for (const char* name : {"ct_pair.hdr", "ct_pair.img", "ct_pair_gz.hdr.gz", "ct_pair_gz.img.gz",
                             "ct_nifti2_pair.hdr", "ct_nifti2_pair.img"}) {
        test::fs::copy_file(k_nifti / name, to / name);
    }
}

// Every slice kept, as stored: the .npy files of a volume, in slice order, hold all its
// voxels x fastest, as nibabel's CRC-32 covers them.
void expect_nibabel_values(const json& volume, const test::fs::path& out, const std::string& file) {
    SCOPED_TRACE(file);
    const json& g = nibabel(file);
    EXPECT_EQ(volume["size"], g["shape"]);
    EXPECT_EQ(volume["dtype"], g["dtype"]);
    std::string values;
    for (const json& s : volume["slices"]) values += test::read_file(out / s["output"].get<std::string>()).substr(128);
    ASSERT_EQ(values.size(), 16u * 12u * 5u * 2u);
    EXPECT_EQ(crc32(0, reinterpret_cast<const Bytef*>(values.data()), static_cast<uInt>(values.size())),
              g["crc32"].get<std::uint32_t>());
    for (const json& p : g["samples"]) {
        const std::size_t i = ((p[2].get<std::size_t>() * 12) + p[1].get<std::size_t>()) * 16 + p[0].get<std::size_t>();
        std::int16_t v = 0;
        std::memcpy(&v, values.data() + 2 * i, 2);
        EXPECT_EQ(v, p[3].get<int>()) << p.dump();
    }
}

const std::vector<std::string> k_every_slice = {"--method", "everyn", "--every", "1", "--format", "npy", "-q"};

std::vector<std::string> reduce_args(const test::fs::path& in, const test::fs::path& out) {
    std::vector<std::string> args = {"reduce", in.string(), "-o", out.string()};
    args.insert(args.end(), k_every_slice.begin(), k_every_slice.end());
    return args;
}

TEST(CliVolumeFiles, NiftiPairsInAFolderAreOneVolumeEachWithNibabelsValues) {
    test::TempDir dir;
    copy_pairs(dir / "data" / "pairs");
    test::copy_tree(test::bundled_sample().parent_path(), dir / "data" / "good");
    const auto info = test::run_lessmore({"info", (dir / "data").string(), "--json"});
    ASSERT_EQ(info.exit_code, 0) << info.err;
    const json listed = json::parse(info.out);
    std::vector<std::string> ids;
    for (const json& v : listed["volumes"]) {
        ids.push_back(v["id"]);
        if (v["id"] != "good/example_ct_sm.nii.gz") {
            EXPECT_EQ(v["format"], "nifti");
        }
    }
    EXPECT_EQ(ids, (std::vector<std::string>{"good/example_ct_sm.nii.gz", "pairs/ct_nifti2_pair.hdr",
                                             "pairs/ct_pair.hdr", "pairs/ct_pair_gz.hdr.gz"}));
    EXPECT_TRUE(listed["errors"].empty()) << listed["errors"].dump();
    EXPECT_TRUE(listed["skipped"].empty()) << listed["skipped"].dump();

    const auto r = test::run_lessmore(reduce_args(dir / "data", dir / "out"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    std::map<std::string, json> vols;
    for (const json& v : m["volumes"]) vols[v["id"]] = v;
    ASSERT_EQ(vols.size(), 4u);
    expect_nibabel_values(vols["pairs/ct_pair.hdr"], dir / "out", "ct_pair.hdr");
    expect_nibabel_values(vols["pairs/ct_pair_gz.hdr.gz"], dir / "out", "ct_pair_gz.hdr.gz");
    expect_nibabel_values(vols["pairs/ct_nifti2_pair.hdr"], dir / "out", "ct_nifti2_pair.hdr");
}

TEST(CliVolumeFiles, AHeaderGivenDirectlyIsItsPairsVolume) {
    test::TempDir dir;
    copy_pairs(dir / "data");
    for (const char* given : {"ct_pair.hdr", "ct_pair.img"}) {
        SCOPED_TRACE(given);
        const auto info = test::run_lessmore({"info", (dir / "data" / given).string(), "--json"});
        ASSERT_EQ(info.exit_code, 0) << info.err;
        const json listed = json::parse(info.out);
        ASSERT_EQ(listed["volumes"].size(), 1u);
        EXPECT_EQ(listed["volumes"][0]["id"], "ct_pair.hdr");
        EXPECT_EQ(listed["volumes"][0]["size"], nibabel("ct_pair.hdr")["shape"]);
        const auto out = dir / (std::string("out-") + given);
        const auto r = test::run_lessmore(reduce_args(dir / "data" / given, out));
        ASSERT_EQ(r.exit_code, 0) << r.err;
        expect_nibabel_values(test::read_json(out / "manifest.json")["volumes"][0], out, "ct_pair.hdr");
    }
}

// A header without its image, an Analyze 7.5 header (not NIfTI) and an image without its
// header, beside a good volume: the first two fail naming the file at fault, the image is
// skipped with the reason; the good volume is reduced.
TEST(CliVolumeFiles, BrokenPairsFailNamedBesideAGoodVolume) {
    test::TempDir dir;
    const auto data = dir / "data";
    test::copy_tree(test::bundled_sample().parent_path(), data / "good");
    test::fs::copy_file(k_nifti / "ct_pair.hdr", data / "lonely.hdr");
    std::string analyze = test::read_file(k_nifti / "ct_pair.hdr");
    analyze.replace(344, 4, std::string(4, '\0'));
    test::write_file(data / "analyze.hdr", analyze);
    test::fs::copy_file(k_nifti / "ct_pair.img", data / "analyze.img");
    test::fs::copy_file(k_nifti / "ct_pair.img", data / "orphan.img");
    const auto r = test::run_lessmore(reduce_args(data, dir / "out"));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    ASSERT_EQ(m["volumes"].size(), 1u);
    EXPECT_EQ(m["volumes"][0]["id"], "good/example_ct_sm.nii.gz");
    ASSERT_EQ(m["errors"].size(), 2u) << m["errors"].dump();
    EXPECT_EQ(m["errors"][0]["path"], (data / "analyze.hdr").string());
    EXPECT_EQ(m["errors"][0]["message"],
              "not a NIfTI-1 file: magic \"\\x00\\x00\\x00\\x00\" (Analyze 7.5 is not read)");
    EXPECT_EQ(m["errors"][1]["path"], (data / "lonely.hdr").string());
    EXPECT_EQ(m["errors"][1]["message"], "lonely.img: cannot open: No such file or directory");
    ASSERT_EQ(m["skipped"].size(), 1u);
    EXPECT_EQ(m["skipped"][0]["path"], (data / "orphan.img").string());
    EXPECT_EQ(m["summary"]["skipped"], 1);
}

// Shards each discover every file; the skipped ones reach the merged manifest once.
TEST(CliVolumeFiles, SkippedFilesReachTheMergedManifest) {
    test::TempDir dir;
    const auto data = dir / "data";
    copy_pairs(data);
    ASSERT_EQ(::mkfifo((data / "pipe.nrrd").c_str(), 0600), 0);
    for (const char* shard : {"1/2", "2/2"}) {
        const auto out = dir / (std::string("shard") + shard[0]);
        std::vector<std::string> args = reduce_args(data, out);
        args.insert(args.end(), {"--shard", shard});
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    const auto r = test::run_lessmore(
        {"merge", (dir / "shard1").string(), (dir / "shard2").string(), "-o", (dir / "merged").string(), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(dir / "merged" / "manifest.json");
    EXPECT_EQ(m["volumes"].size(), 3u);
    ASSERT_EQ(m["skipped"].size(), 1u) << m["skipped"].dump();
    EXPECT_EQ(m["skipped"][0]["path"], (data / "pipe.nrrd").string());
    EXPECT_EQ(m["skipped"][0]["reason"], "a FIFO (not a regular file)");
    EXPECT_EQ(m["summary"]["skipped"], 1);
}

}  // namespace
}  // namespace lessmore
