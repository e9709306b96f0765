// Bad input: each gets a clear one-line error naming the culprit, or a sound result;
// nothing crashes, hangs, or leaves a half-written OUT.
#include "test_support.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <fstream>

namespace lessmore {
namespace {

using nlohmann::json;

// Every stderr line starts with "lessmore:"; no stack traces, no ITK banners.
void expect_clean_stderr(const std::string& err) {
    std::size_t pos = 0;
    while (pos < err.size()) {
        const auto end = err.find('\n', pos);
        const std::string line = err.substr(pos, end - pos);
        if (!line.empty() && line.rfind("Run 'lessmore", 0) != 0) {
            EXPECT_EQ(line.rfind("lessmore:", 0), 0u) << line;
        }
        if (end == std::string::npos) break;
        pos = end + 1;
    }
}

void expect_no_temporaries(const test::fs::path& out) {
    if (!test::fs::exists(out)) return;
    for (const auto& e : test::fs::recursive_directory_iterator(out))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

void good_nifti(const test::fs::path& p) { test::copy_tree(test::bundled_sample().parent_path(), p); }

struct UsageCase {
    std::vector<std::string> args;
    std::string must_mention;
};

TEST(CliErrors, UsageErrorsExitTwoNameTheOptionAndWriteNothing) {
    test::TempDir dir;
    const std::string in = test::bundled_sample().string();
    const std::string out = (dir / "out").string();
    const std::vector<UsageCase> cases = {
        {{"reduce", in, "-o", out}, "--threshold"},
        {{"reduce", in, "-o", out, "-t", "6", "-f", "0.1"}, "--threshold and --fraction"},
        {{"reduce", in, "-o", out, "-f", "0.1", "--strategy", "leader"}, "--strategy"},
        {{"reduce", in, "-o", out, "-t", "65"}, "--threshold"},
        {{"reduce", in, "-o", out, "-t", "-1"}, "--threshold"},
        {{"reduce", in, "-o", out, "-t", "2.5"}, "--threshold"},
        {{"reduce", in, "-o", out, "-f", "0"}, "--fraction"},
        {{"reduce", in, "-o", out, "-f", "1.5"}, "--fraction"},
        {{"reduce", in, "-o", out, "--method", "everyn", "--every", "0"}, "--every"},
        {{"reduce", in, "-o", out, "--method", "everyn", "-t", "3"}, "--threshold"},
        {{"reduce", in, "-o", out, "--method", "everyn"}, "--every"},
        {{"reduce", in, "-o", out, "--method", "hash", "--every", "3", "-t", "6"}, "--every"},
        {{"reduce", in, "-o", out, "--method", "sift", "-t", "6"}, "--method"},
        {{"reduce", in, "-o", out, "-t", "6", "--hash-size", "1"}, "--hash-size"},
        {{"reduce", in, "-o", out, "-t", "6", "--intensity", "window:40"}, "--intensity"},
        {{"reduce", in, "-o", out, "-t", "6", "--intensity", "none"}, "--intensity none"},
        {{"reduce", in, "-o", out, "-t", "6", "--format", "tiff"}, "--format"},
        {{"reduce", in, "-o", out, "-t", "6", "--format", "none", "--flat"}, "--flat"},
        {{"reduce", in, "-o", out, "-t", "abc"}, "--threshold"},
        {{"reduce", in, "-t", "6"}, "--output"},
        {{"reduce", (dir / "missing").string(), "-o", out, "-t", "6"}, "missing"},
        {{"frobnicate"}, "frobnicate"},
    };
    for (const UsageCase& c : cases) {
        const auto r = test::run_lessmore(c.args);
        std::string joined;
        for (const auto& a : c.args) joined += a + " ";
        EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
        EXPECT_NE(r.err.find(c.must_mention), std::string::npos) << joined << "\n" << r.err;
        EXPECT_TRUE(r.out.empty()) << joined;
        EXPECT_FALSE(test::fs::exists(out)) << joined;
        expect_clean_stderr(r.err);
    }
}

TEST(CliErrors, NonEmptyOutputIsRefusedUnlessForced) {
    test::TempDir dir;
    const auto out = dir / "out";
    test::write_file(out / "keep.txt", "user file");
    auto r = test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", out.string(), "-t", "6"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
    EXPECT_FALSE(test::fs::exists(out / "manifest.json"));
    r = test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", out.string(), "-t", "6", "--force", "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(test::fs::exists(out / "manifest.json"));
    EXPECT_TRUE(test::fs::exists(out / "keep.txt"));  // only lessmore's own outputs are replaced
    // A second forced run with fewer kept slices leaves no stale slice files.
    r = test::run_lessmore({"reduce", test::bundled_sample().string(), "-o", out.string(), "--method", "everyn",
                            "--every", "30", "--force", "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::size_t files = 0;
    for (const auto& e : test::fs::recursive_directory_iterator(out / "slices"))
        if (e.is_regular_file()) ++files;
    EXPECT_EQ(files, 1u);
}

TEST(CliErrors, OutputInsideInputIsRefused) {
    test::TempDir dir;
    good_nifti(dir / "data");
    const auto r =
        test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "data" / "out").string(), "-t", "6"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("inside INPUT"), std::string::npos) << r.err;
    EXPECT_FALSE(test::fs::exists(dir / "data" / "out"));
}

TEST(CliErrors, EmptyFolderIsReported) {
    test::TempDir dir;
    test::fs::create_directories(dir / "empty");
    const auto r = test::run_lessmore({"reduce", (dir / "empty").string(), "-o", (dir / "out").string(), "-t", "6"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no volumes found"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    EXPECT_EQ(m["summary"]["volumes"], 0);
    EXPECT_EQ(m["errors"].size(), 1u);
    expect_clean_stderr(r.err);
}

// One broken thing beside a good volume: exit 1, the good volume written, the culprit named.
void expect_isolated_failure(const test::fs::path& input, const test::fs::path& out, const std::string& culprit,
                             std::size_t good_volumes = 1) {
    const auto r = test::run_lessmore({"reduce", input.string(), "-o", out.string(), "-t", "6"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(culprit), std::string::npos) << r.err;
    expect_clean_stderr(r.err);
    const json m = test::read_json(out / "manifest.json");
    EXPECT_EQ(m["volumes"].size(), good_volumes);
    ASSERT_GE(m["errors"].size(), 1u);
    EXPECT_NE(m["errors"][0]["path"].get<std::string>().find(culprit), std::string::npos) << m["errors"];
    EXPECT_EQ(m["errors"][0]["message"].get<std::string>().find('\n'), std::string::npos);
    expect_no_temporaries(out);
}

TEST(CliErrors, TruncatedDicomFailsItsSeriesOnly) {
    test::TempDir dir;
    good_nifti(dir / "data" / "good");
    test::copy_tree(test::dicom_fixtures() / "padded", dir / "data" / "series");
    const auto victim = dir / "data" / "series" / "s3.dcm";
    const std::string bytes = test::read_file(victim);
    test::write_file(victim, bytes.substr(0, bytes.size() / 2));
    expect_isolated_failure(dir / "data", dir / "out", "s3.dcm");
}

TEST(CliErrors, ASeriesWithAnInconsistentFileFailsWhole) {
    // Rows 0, and a Rows that disagrees with the pixel data's length: the series fails
    // naming the file (never a series with a slice silently missing or garbled).
    for (const std::uint16_t rows : {std::uint16_t{0}, std::uint16_t{63}}) {
        test::TempDir dir;
        good_nifti(dir / "data" / "good");
        test::copy_tree(test::dicom_fixtures() / "padded", dir / "data" / "series");
        const auto bad = dir / "data" / "series" / "s3.dcm";
        test::write_file(bad, test::with_dicom_us(test::read_file(bad), 0x0028, 0x0010, rows));
        expect_isolated_failure(dir / "data", dir / "out", "s3.dcm");
        const json m = test::read_json(dir / "out" / "manifest.json");
        EXPECT_NE(m["errors"][0]["message"].get<std::string>().find(rows == 0 ? "rows" : "bytes"), std::string::npos)
            << m["errors"][0];
    }
}

TEST(CliErrors, AFileOfUnknownSeriesFailsEverySeriesOfItsFolder) {
    test::TempDir dir;
    good_nifti(dir / "data" / "good");
    test::copy_tree(test::dicom_fixtures() / "two-series", dir / "data" / "mixed");
    const std::string whole = test::read_file(dir / "data" / "mixed" / "a01.dcm");
    test::write_file(dir / "data" / "mixed" / "a01.dcm", whole.substr(0, 200));  // cut inside the header
    const auto r = test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "out").string(), "-t", "6"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    ASSERT_EQ(m["volumes"].size(), 1u);  // only the good volume
    EXPECT_EQ(m["errors"].size(), 2u);   // both series, each naming the cut file
    for (const auto& e : m["errors"]) EXPECT_NE(e["path"].get<std::string>().find("a01.dcm"), std::string::npos) << e;
}

TEST(CliErrors, NoFileDescriptorLeaks) {
    // Many volumes of every reader under a small descriptor limit: each file is closed
    // when read (the old NIfTI path leaked one per slab).
    test::TempDir dir;
    for (int i = 0; i < 12; ++i) {
        const auto p = dir / "data" / ("v" + std::to_string(i));
        good_nifti(p);
        test::copy_tree(test::dicom_fixtures() / "padded", p / "dicom");
        test::fs::create_directories(p / "rle");
        test::fs::copy_file(test::source_dir() / "tests" / "data" / "dicom-quirks" / "wg04-ct1" / "CT1_RLE",
                            p / "rle" / "CT1_RLE.dcm");
    }
    const std::string cmd = "ulimit -n 40 && '" + test::binary().string() + "' reduce '" + (dir / "data").string() +
                            "' -o '" + (dir / "out").string() + "' -t 6 -q -j 2 2> '" + (dir / "err.txt").string() +
                            "'";
    EXPECT_EQ(std::system(("bash -c \"" + cmd + "\"").c_str()), 0) << test::read_file(dir / "err.txt");
    EXPECT_EQ(test::read_json(dir / "out" / "manifest.json")["volumes"].size(), 36u);
}

TEST(CliErrors, TextFileNamedNiftiBesideAGoodVolume) {
    test::TempDir dir;
    good_nifti(dir / "data");
    test::write_file(dir / "data" / "broken.nii.gz", "this is not a NIfTI file\n");
    expect_isolated_failure(dir / "data", dir / "out", "broken.nii.gz");
}

TEST(CliErrors, AbsurdHeaderSizeIsRefusedBeforeAllocating) {
    test::TempDir dir;
    good_nifti(dir / "data");
    test::write_nifti(dir / "data" / "absurd.nii", {32000, 32000, 32000}, 4, std::string(64, '\0'));
    expect_isolated_failure(dir / "data", dir / "out", "absurd.nii");
}

TEST(CliErrors, SymlinkLoopIsReported) {
    test::TempDir dir;
    good_nifti(dir / "data" / "a");
    test::fs::create_directory_symlink("..", dir / "data" / "a" / "up");
    expect_isolated_failure(dir / "data", dir / "out", "up");
}

TEST(CliErrors, UnreadableFileIsReported) {
    if (::geteuid() == 0) GTEST_SKIP() << "SKIPPED: running as root, file permissions are not enforced";
    test::TempDir dir;
    good_nifti(dir / "data");
    test::copy_tree(test::dicom_fixtures() / "padded", dir / "data" / "series");
    test::fs::permissions(dir / "data" / "series" / "s2.dcm", test::fs::perms::none);
    expect_isolated_failure(dir / "data", dir / "out", "s2.dcm");
}

TEST(CliErrors, OddButValidVolumesGiveSoundResults) {
    test::TempDir dir;
    // A constant volume: every slice maps to zeros -> one slice kept.
    std::vector<std::int16_t> constant(16 * 16 * 5, 100);
    test::write_nifti(dir / "data" / "constant.nii", {16, 16, 5}, 4,
                      std::string(reinterpret_cast<char*>(constant.data()), constant.size() * 2));
    // A single slice.
    std::vector<std::int16_t> single(16 * 16);
    for (std::size_t i = 0; i < single.size(); ++i) single[i] = static_cast<std::int16_t>(i);
    test::write_nifti(dir / "data" / "single.nii", {16, 16, 1}, 4,
                      std::string(reinterpret_cast<char*>(single.data()), single.size() * 2));
    // NaN voxels in float data.
    std::vector<float> nan(16 * 16 * 3);
    for (std::size_t i = 0; i < nan.size(); ++i) nan[i] = i % 7 == 0 ? std::nanf("") : static_cast<float>(i % 50);
    test::write_nifti(dir / "data" / "nan.nii", {16, 16, 3}, 16,
                      std::string(reinterpret_cast<char*>(nan.data()), nan.size() * 4));
    // 2-D NIfTI (one slice, no third dimension).
    test::write_nifti(dir / "data" / "flat2d.nii", {16, 16}, 4,
                      std::string(reinterpret_cast<char*>(single.data()), single.size() * 2));

    for (const char* strategy : {"leader", "pairs"}) {
        const auto out = dir / (std::string("out-") + strategy);
        std::vector<std::string> args = {"reduce", (dir / "data").string(), "-o", out.string(), "--format", "both",
                                         "-q"};
        if (std::string(strategy) == "leader") {
            args.insert(args.end(), {"-t", "6"});
        } else {
            args.insert(args.end(), {"-f", "0.5"});
        }
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const json m = test::read_json(out / "manifest.json");
        std::map<std::string, json> vols;
        for (const auto& v : m["volumes"]) vols[v["id"]] = v;
        ASSERT_EQ(vols.size(), 4u);
        EXPECT_EQ(vols["constant.nii"]["kept"], std::string(strategy) == "leader" ? 1 : 3);
        EXPECT_EQ(vols["single.nii"]["kept"], 1);
        EXPECT_EQ(vols["flat2d.nii"]["kept"], 1);
        EXPECT_EQ(vols["nan.nii"]["dtype"], "float32");
        EXPECT_EQ(vols["constant.nii"]["slices"][0]["hash"], "0000000000000000");
    }
}

}  // namespace
}  // namespace lessmore

namespace lessmore {
namespace {

// A FIFO, socket or device is never opened (reading one could block forever or never
// end). Given as INPUT it is a usage error, like a path that does not exist; met in a
// scanned folder it is listed in the manifest's "skipped" with what it is.
TEST(CliErrors, FifoInputIsRefusedNotReadForever) {
    test::TempDir dir;
    const auto fifo = dir / "pipe.dcm";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const auto r = test::run_lessmore({"reduce", fifo.string(), "-o", (dir / "out").string(), "-t", "6"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("pipe.dcm: a FIFO (not a regular file); an INPUT must be a file or a folder"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(test::fs::exists(dir / "out"));
    // A symbolic link to a device given directly: the same.
    test::fs::create_symlink("/dev/zero", dir / "zero.nii");
    const auto z = test::run_lessmore({"info", (dir / "zero.nii").string()});
    EXPECT_EQ(z.exit_code, 2);
    EXPECT_NE(z.err.find("zero.nii: a character device (not a regular file)"), std::string::npos) << z.err;

    good_nifti(dir / "data");
    ASSERT_EQ(::mkfifo((dir / "data" / "pipe.dcm").c_str(), 0600), 0);
    ASSERT_EQ(::mkfifo((dir / "data" / "pipe.nii").c_str(), 0600), 0);
    test::fs::create_symlink("/dev/zero", dir / "data" / "zero.nrrd");
    test::fs::create_directories(dir / "data" / "sub");
    test::fs::create_symlink("/dev/null", dir / "data" / "sub" / "null");
    const auto r2 =
        test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "out2").string(), "-t", "6", "-q"});
    EXPECT_EQ(r2.exit_code, 0) << r2.err;  // skipping is not a failure
    const json m = test::read_json(dir / "out2" / "manifest.json");
    EXPECT_EQ(m["volumes"].size(), 1u);
    EXPECT_TRUE(m["errors"].empty()) << m["errors"].dump();
    const std::string d = (dir / "data").string();
    json skipped = json::array();
    for (const auto& [name, reason] : {std::pair{"pipe.dcm", "a FIFO"},
                                       {"pipe.nii", "a FIFO"},
                                       {"sub/null", "a character device"},
                                       {"zero.nrrd", "a character device"}}) {
        skipped.push_back({{"path", d + "/" + name}, {"reason", std::string(reason) + " (not a regular file)"}});
    }
    EXPECT_EQ(m["skipped"], skipped);
    EXPECT_EQ(m["summary"]["skipped"], 4);
    // info lists them too.
    const auto i = test::run_lessmore({"info", (dir / "data").string(), "--json"});
    EXPECT_EQ(i.exit_code, 0) << i.err;
    EXPECT_EQ(json::parse(i.out)["skipped"], m["skipped"]);
}

}  // namespace
}  // namespace lessmore

namespace lessmore {
namespace {

// ITK's readers would hand back whatever the buffer held for the missing voxels.
TEST(CliErrors, TruncatedVolumeFilesAreRefusedNotZeroFilled) {
    const std::string gz = test::read_file(test::bundled_sample());
    const std::string short_data(1000, '\x11');
    const std::vector<std::pair<std::string, std::string>> files = {
        {"cut.nii.gz", gz.substr(0, gz.size() / 2)},
        {"short.mha",
         "ObjectType = Image\nNDims = 3\nDimSize = 64 64 64\nElementType = MET_SHORT\n"
         "ElementDataFile = LOCAL\n" +
             short_data},
        {"short.nrrd",
         "NRRD0004\ntype: short\ndimension: 3\nsizes: 64 64 64\nencoding: raw\nendian: little\n\n" + short_data},
    };
    for (const auto& [name, bytes] : files) {
        test::TempDir dir;
        good_nifti(dir / "data" / "good");
        test::write_file(dir / "data" / name, bytes);
        expect_isolated_failure(dir / "data", dir / "out", name);
        // info reads headers only: a compressed file's header is whole, so it is listed;
        // raw data shorter than its header says is told by the file's size, so refused.
        const bool compressed = name == "cut.nii.gz";
        const auto r = test::run_lessmore({"info", (dir / "data").string(), "--json"});
        EXPECT_EQ(r.exit_code, compressed ? 0 : 1) << name << ": " << r.err;
        const nlohmann::json j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["volumes"].size(), compressed ? 2u : 1u) << name;
        if (!compressed) {
            ASSERT_EQ(j["errors"].size(), 1u) << name;
            EXPECT_EQ(j["errors"][0]["message"], "the file holds 1,000 of the 524,288 bytes of voxels its header needs")
                << name;
        }
    }
}

TEST(CliErrors, ErrorMessagesAreTheSameOnEveryRun) {
    test::TempDir dir;
    good_nifti(dir / "data");
    test::write_file(dir / "data" / "bad.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 4 4\nencoding: raw\n\n");
    std::string first;
    for (const char* out : {"a", "b"}) {
        EXPECT_EQ(test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / out).string(), "-t", "6", "-q"})
                      .exit_code,
                  1);
        const nlohmann::json m = test::read_json(dir / out / "manifest.json");
        const std::string message = m["errors"][0]["message"];
        EXPECT_EQ(message.find("0x"), std::string::npos) << message;  // no object addresses
        if (first.empty()) first = message;
        EXPECT_EQ(message, first);
    }
}

}  // namespace
}  // namespace lessmore
