// A unit run reads a volume in order and holds only the slices of the units in hand
// (docs/methods.md, section "3-D units", "Memory"): its peak memory is a few units, not the
// volume; it reads the whole volume all the same, so a damaged slice after the last unit
// fails the volume, and what it had written goes; thread counts decide alike. The values
// themselves are checked against scikit-image, dhash and nibabel by
// tests/golden/check_units.py (whose leader and everyn runs on NIfTI now stream).
#include "test_support.hpp"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>

namespace lessmore {
namespace {

using nlohmann::json;

// slices x 512 x 512 int16 whose content changes every 24 slices (a bright square moves), so
// neighbouring 8-slice slabs are alike and distant ones are not. Written a slice at a time:
// a child's peak RSS counts this process's peak before exec (fork copies it), so the test
// never holds the volume either.
void write_moving_square(const test::fs::path& path, int slices) {
    const int n = 512;
    test::write_nifti(path, {n, n, slices}, 4, "");
    std::ofstream file(path, std::ios::binary | std::ios::app);
    std::vector<std::int16_t> v(static_cast<std::size_t>(n) * n);
    for (int z = 0; z < slices; ++z) {
        const int at = 40 + (z / 24) * 17 % 400;
        for (int y = 0; y < n; ++y)
            for (int x = 0; x < n; ++x) {
                const bool in = x >= at && x < at + 60 && y >= at && y < at + 60;
                v[static_cast<std::size_t>(y) * n + x] = static_cast<std::int16_t>(in ? 900 : (x + y) % 50);
            }
        file.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 2));
    }
    ASSERT_TRUE(file.good());
}

std::set<std::string> unit_files(const test::fs::path& out) {
    std::set<std::string> files;
    if (test::fs::exists(out / "slices"))
        for (const std::string& f : test::files_under(out / "slices")) files.insert(f);
    return files;
}

TEST(CliUnitStream, MemoryHoldsAFewUnitsNotTheVolume) {
    test::TempDir dir;
    const auto in = dir / "big.nii";
    const int slices = 384;  // 192 MB of int16
    write_moving_square(in, slices);
    for (const char* method : {"hash", "everyn"}) {
        const auto out = dir / (std::string("out-") + method);
        std::vector<std::string> args{"reduce", in.string(), "-o",    out.string(), "--unit", "slab:8",     "-m",
                                      method,   "--format",  "nifti", "--threads",  "2",      "--progress", "none"};
        if (std::string(method) == "hash") {
            args.insert(args.end(), {"-t", "6"});
        } else {
            args.insert(args.end(), {"--every", "2"});
        }
        const test::LimitedRun r = test::run_lessmore_with_limit(args, dir.path(), 600);
        ASSERT_FALSE(r.timed_out);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const json m = test::read_json(out / "manifest.json");
        EXPECT_EQ(m["summary"]["slices"], slices / 8);
        EXPECT_GT(m["summary"]["kept"], 1);
        // The volume read whole would be 192 MB before anything else; a streamed unit run
        // holds a few 8-slice slabs (4 MB each) and the units being written. Under
        // AddressSanitizer the peak also counts its quarantine of freed memory (256 MB by
        // default), so the bound is checked in the other builds only.
#if !defined(__SANITIZE_ADDRESS__)
        EXPECT_LT(r.max_rss_kb, 100L * 1024) << method << ": peak RSS " << r.max_rss_kb / 1024 << " MB";
#endif
    }
}

TEST(CliUnitStream, ThreadCountsDecideAndWriteAlike) {
    test::TempDir dir;
    const auto in = dir / "v.nii";
    const int slices = 100;
    write_moving_square(in, slices);
    for (const char* unit : {"slab:8:5", "patch:8,128,128:6,96,96"}) {
        json first;
        std::set<std::string> files;
        for (const char* threads : {"1", "2"}) {
            const auto out = dir / (std::string("out-") + threads);
            const auto r =
                test::run_lessmore({"reduce", in.string(), "-o", out.string(), "--unit", unit, "-m", "hash", "-t", "4",
                                    "--format", "npy", "--threads", threads, "--progress", "none", "--force"});
            ASSERT_EQ(r.exit_code, 0) << r.err;
            const json m = test::stable_manifest(test::read_json(out / "manifest.json"));
            if (first.is_null()) {
                first = m;
                files = unit_files(out);
                EXPECT_FALSE(files.empty()) << unit;
            } else {
                EXPECT_EQ(m, first) << unit;
                EXPECT_EQ(unit_files(out), files) << unit;
            }
        }
    }
}

// A .nii.gz whose compressed data ends early: the last slice cannot be read. The units
// (slab:7:20 of 40 slices: slices 0..6 and 20..26) lie well before the damage, beyond the
// slices read with them (16 at a time) — the rest is read all the same, so the volume fails
// as a slice run of it does, and the kept units it had written are removed.
TEST(CliUnitStream, DamagedSliceAfterTheLastUnitFailsTheVolume) {
    test::TempDir dir;
    const int slices = 40;
    const int n = 64;
    std::string bytes(static_cast<std::size_t>(slices) * n * n * 2, '\0');
    std::mt19937 random(7);  // noise: deflate cannot shorten it, so a cut end damages the last slice only
    for (char& b : bytes) b = static_cast<char>(random() & 0x3f);
    const auto plain = dir / "cut.nii";
    test::write_nifti(plain, {n, n, slices}, 4, bytes);
    ASSERT_EQ(std::system(("gzip -1 -k " + plain.string()).c_str()), 0);
    const auto gz = dir / "cut.nii.gz";
    std::string z = test::read_file(gz);
    const auto whole = dir / "whole";
    test::fs::create_directories(whole);
    test::write_file(whole / "cut.nii.gz", z);
    z.resize(z.size() - 200);  // the trailer and the end of the deflate stream: the last slice's bytes
    const auto damaged = dir / "damaged";
    test::fs::create_directories(damaged);
    test::write_file(damaged / "cut.nii.gz", z);
    const std::vector<std::string> unit{"--unit", "slab:7:20", "-m",  "everyn",     "--every",
                                        "1",      "--format",  "npy", "--progress", "none"};
    auto run = [&](const test::fs::path& in, const test::fs::path& out) {
        std::vector<std::string> args{"reduce", in.string(), "-o", out.string()};
        args.insert(args.end(), unit.begin(), unit.end());
        return test::run_lessmore(args);
    };
    const auto good = run(whole, dir / "out-whole");
    ASSERT_EQ(good.exit_code, 0) << good.err;
    EXPECT_EQ(unit_files(dir / "out-whole").size(), 2u);  // 2 units, both kept

    const auto bad = run(damaged, dir / "out-damaged");
    EXPECT_EQ(bad.exit_code, 1) << bad.err;
    const json m = test::read_json(dir / "out-damaged" / "manifest.json");
    ASSERT_EQ(m["errors"].size(), 1u) << m.dump();
    EXPECT_NE(m["errors"][0]["path"].get<std::string>().find("cut.nii.gz"), std::string::npos);
    EXPECT_TRUE(m["volumes"].empty());
    EXPECT_TRUE(unit_files(dir / "out-damaged").empty());
    // A slice run of the same file fails alike.
    const auto slices_run = test::run_lessmore({"reduce", damaged.string(), "-o", (dir / "out-slices").string(), "-m",
                                                "everyn", "--every", "1", "--progress", "none"});
    EXPECT_EQ(slices_run.exit_code, 1) << slices_run.err;
}

}  // namespace
}  // namespace lessmore
