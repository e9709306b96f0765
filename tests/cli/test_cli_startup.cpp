// Start-up: the lessmore program links none of the heavy libraries (docs/performance.md,
// "Start-up"). ITK and GDCM run in lessmore-decoder, OpenCV/FAISS/BLAS are loaded from
// lessmore-opencv.so when a command first needs them; without those files next to it,
// lessmore still starts, and what needs them fails with a one-line error naming what is
// missing, the other files of the run unaffected.
#include "test_support.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <algorithm>
#include <cstdio>

namespace lessmore {
namespace {

std::string command_output(const std::string& cmd, int& status) {
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return "";
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    status = ::pclose(p);
    return out;
}

TEST(Startup, LessmoreLinksNoHeavyLibrary) {
    int status = -1;
    const std::string out = command_output("readelf -d '" + test::binary().string() + "' 2>&1", status);
    ASSERT_EQ(status, 0) << out;
    ASSERT_NE(out.find("(NEEDED)"), std::string::npos) << out;
    for (const char* lib : {"libITK", "libitk", "libgdcm", "libopencv", "libfaiss", "libblas", "libopenblas",
                            "liblapack", "libgomp", "libprotobuf", "libtbb"}) {
        EXPECT_EQ(out.find(lib), std::string::npos) << lib << " is linked:\n" << out;
    }
}

// The program alone in a folder: no lessmore-decoder, no lessmore-opencv.so beside it.
struct LoneBinary {
    test::TempDir dir;
    test::fs::path bin = dir / "lessmore";
    LoneBinary() { test::fs::copy_file(test::binary(), bin); }
    test::RunResult run(const std::string& args) const {
        test::RunResult r;
        int status = -1;
        r.err = command_output("'" + bin.string() + "' " + args + " 2>&1 >/dev/null", status);
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return r;
    }
};

TEST(Startup, MissingOpenCvModuleFailsOnlyWhatNeedsIt) {
    const LoneBinary lone;
    const std::string ct = (test::ct_data() / "pancreas-ct-cb-001").string();
    // --version, info and HASH need nothing of OpenCV.
    EXPECT_EQ(lone.run("--version").exit_code, 0);
    EXPECT_EQ(lone.run("info '" + ct + "'").exit_code, 0);
    EXPECT_EQ(lone.run("reduce '" + ct + "' -o '" + (lone.dir / "hash").string() + "' --threshold 6 -q").exit_code, 0);
    // DeepNet does: one line naming the module.
    const auto r =
        lone.run("reduce '" + ct + "' -o '" + (lone.dir / "dn").string() + "' --method deepnet --threshold 0.95 -q");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("cannot load lessmore's OpenCV module"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("lessmore-opencv.so"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Startup, MissingDecoderFailsOnlyTheFilesThatNeedIt) {
    const LoneBinary lone;
    // Two series: one JPEG-compressed (decoded by a worker), one uncompressed (read by lessmore).
    const test::fs::path in = lone.dir / "in";
    test::fs::create_directories(in);
    test::fs::copy(test::source_dir() / "tests" / "data" / "decode" / "good", in / "compressed",
                   test::fs::copy_options::recursive);
    test::fs::copy(test::ct_data() / "pancreas-ct-cb-001", in / "plain", test::fs::copy_options::recursive);
    const auto r = lone.run("reduce '" + in.string() + "' -o '" + (lone.dir / "out").string() + "' --threshold 6 -q");
    EXPECT_EQ(r.exit_code, 1) << r.err;  // some inputs failed
    EXPECT_NE(r.err.find("compressed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("cannot start the decoder program"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("lessmore-decoder"), std::string::npos) << r.err;
    const auto manifest = test::read_json(lone.dir / "out" / "manifest.json");
    std::size_t volumes = 0;
    for (const auto& v : manifest["volumes"]) volumes += v["slices"].size() > 0 ? 1 : 0;
    EXPECT_EQ(volumes, 1u) << manifest.dump();
}

}  // namespace
}  // namespace lessmore
