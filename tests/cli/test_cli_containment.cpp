// Nothing inside an input decides where lessmore writes or what else it reads; ids never
// collide; one run per OUT; --resume notices changed sources; CSV cells are inert.
#include "test_support.hpp"

#include <sys/wait.h>

#include <chrono>
#include <set>
#include <thread>

namespace lessmore {
namespace {

using nlohmann::json;

// Every file the manifest lists exists under OUT, and OUT's slices are exactly those.
void expect_outputs_match_manifest(const test::fs::path& out) {
    const json m = test::read_json(out / "manifest.json");
    std::set<std::string> listed;
    for (const auto& v : m["volumes"])
        for (const auto& s : v["slices"]) {
            for (const char* field : {"output", "output_npy"}) {
                if (!s.contains(field) || s[field].is_null()) continue;
                const std::string rel = s[field];
                EXPECT_EQ(rel.rfind("slices/", 0), 0u) << rel;
                EXPECT_EQ(rel.find(".."), std::string::npos) << rel;
                listed.insert(rel.substr(7));
            }
        }
    EXPECT_EQ(test::files_under(out / "slices"), listed);
}

// Two DICOM series in one folder whose SeriesNumbers try to climb out of OUT.
void hostile_series(const test::fs::path& folder) {
    const auto src = test::dicom_fixtures() / "two-series";
    for (const auto& e : test::fs::directory_iterator(src)) {
        const std::string name = e.path().filename().string();
        const std::string number = name[0] == 'a' ? "../../escaped" : "/tmp/abs";
        test::write_file(folder / name, test::with_dicom_string(test::read_file(e.path()), 0x0020, 0x0011, number));
    }
}

TEST(CliContainment, SeriesLabelsCannotLeaveOut) {
    test::TempDir dir;
    hostile_series(dir / "data" / "mixed");
    const auto r =
        test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "out").string(), "-t", "6", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    ASSERT_EQ(m["volumes"].size(), 2u);
    for (const auto& v : m["volumes"]) {
        const std::string id = v["id"];
        EXPECT_EQ(id.rfind("mixed#", 0), 0u) << id;
        EXPECT_EQ(id.find('/'), std::string::npos) << id;
        EXPECT_EQ(id.find(".."), std::string::npos) << id;
    }
    expect_outputs_match_manifest(dir / "out");
    EXPECT_FALSE(test::fs::exists(dir / "escaped"));
    EXPECT_FALSE(test::fs::exists(dir / "out" / "escaped"));
    EXPECT_FALSE(test::fs::exists("/tmp/abs"));
}

TEST(CliContainment, IdsNeverCollide) {
    test::TempDir dir;
    const auto data = dir / "data";
    // A folder with series 3 and 5, beside folders literally named like their ids.
    test::copy_tree(test::dicom_fixtures() / "two-series", data / "mixed");
    test::copy_tree(test::dicom_fixtures() / "padded", data / "mixed#3");
    test::copy_tree(test::dicom_fixtures() / "padded", data / "mixed#5");
    // Flat names: a/b, a__b and a+b must not share files.
    test::fs::create_directories(data / "a");
    test::fs::copy_file(test::bundled_sample(), data / "a" / "b.nii.gz");
    test::fs::copy_file(test::bundled_sample(), data / "a__b.nii.gz");
    test::fs::copy_file(test::bundled_sample(), data / "a+b.nii.gz");
    for (const bool flat : {false, true}) {
        const auto out = dir / (flat ? "flat" : "nested");
        std::vector<std::string> args = {"reduce", data.string(), "-o", out.string(), "-t", "6", "-q"};
        if (flat) args.push_back("--flat");
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const json m = test::read_json(out / "manifest.json");
        std::set<std::string> ids;
        std::size_t kept = 0;
        for (const auto& v : m["volumes"]) {
            ids.insert(v["id"].get<std::string>());
            kept += v["kept"].get<std::size_t>();
        }
        EXPECT_EQ(ids.size(), 7u);
        EXPECT_EQ(ids.count("mixed#3"), 1u);
        EXPECT_EQ(ids.count("mixed%233"), 1u);
        EXPECT_EQ(ids.count("a%2Bb.nii.gz"), 1u);
        EXPECT_EQ(test::files_under(out / "slices").size(), kept) << "two volumes wrote the same file";
        expect_outputs_match_manifest(out);
    }
}

TEST(CliContainment, DetachedDataOutsideTheInputIsNotRead) {
    test::TempDir dir;
    const auto data = dir / "data";
    const std::string raw(4 * 4 * 3 * 2, '\x01');
    test::write_file(dir / "secret.raw", raw);
    test::write_file(data / "inside.raw", raw);
    const std::string nrrd = "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 4 3\nencoding: raw\nendian: little\n";
    test::write_file(data / "passwd.nhdr", nrrd + "data file: /etc/passwd\n\n");
    test::write_file(data / "up.nhdr", nrrd + "data file: ../secret.raw\n\n");
    test::write_file(data / "ok.nhdr", nrrd + "data file: inside.raw\n\n");
    test::write_file(
        data / "meta.mhd",
        "ObjectType = Image\nNDims = 3\nDimSize = 4 4 3\nElementType = MET_SHORT\nElementDataFile = ../secret.raw\n");
    test::fs::create_symlink(dir / "secret.raw", data / "link.raw");
    test::write_file(data / "link.nhdr", nrrd + "data file: link.raw\n\n");
    const auto r = test::run_lessmore({"reduce", data.string(), "-o", (dir / "out").string(), "-t", "6"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    std::set<std::string> ids, failed;
    for (const auto& v : m["volumes"]) ids.insert(v["id"].get<std::string>());
    for (const auto& e : m["errors"]) {
        failed.insert(test::fs::path(e["path"].get<std::string>()).filename().string());
        EXPECT_NE(e["message"].get<std::string>().find("outside the input"), std::string::npos) << e;
    }
    EXPECT_EQ(ids, (std::set<std::string>{"ok.nhdr"}));
    EXPECT_EQ(failed, (std::set<std::string>{"passwd.nhdr", "up.nhdr", "meta.mhd", "link.nhdr"}));
}

TEST(CliContainment, OddNamesAreEscapedAndShortened) {
    test::TempDir dir;
    const auto data = dir / "data";
    test::fs::create_directories(data);
    test::fs::copy_file(test::bundled_sample(), data / "caf\xe9.nii.gz");  // Latin-1, not UTF-8
    const std::string long_name = std::string(240, 'x') + ".nii.gz";
    test::fs::copy_file(test::bundled_sample(), data / long_name);
    test::fs::copy_file(test::bundled_sample(), data / "=HYPERLINK(1).nii.gz");
    for (const bool flat : {false, true}) {
        const auto out = dir / (flat ? "flat" : "nested");
        std::vector<std::string> args = {"reduce", data.string(), "-o", out.string(), "-t", "6", "-q"};
        if (flat) args.push_back("--flat");
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const json m = test::read_json(out / "manifest.json");
        std::set<std::string> ids;
        for (const auto& v : m["volumes"]) ids.insert(v["id"].get<std::string>());
        EXPECT_EQ(ids.count("caf%E9.nii.gz"), 1u);
        EXPECT_EQ(ids.count(long_name), 1u);
        expect_outputs_match_manifest(out);
        // The spreadsheet sees text, not a formula.
        const std::string csv = test::read_file(out / "manifest.csv");
        EXPECT_NE(csv.find("\n'=HYPERLINK(1).nii.gz,0,"), std::string::npos);
        EXPECT_EQ(csv.find("\n=HYPERLINK"), std::string::npos);
    }
}

// Waits for the first finished volume on the JSON-lines progress in `err`.
bool wait_for_first_volume(int pid, const test::fs::path& err) {
    for (;;) {
        if (test::fs::exists(err) && test::read_file(err).find("\"event\":\"volume\"") != std::string::npos)
            return true;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

TEST(CliContainment, OneRunPerOutputFolder) {
    test::TempDir dir;
    test::fs::create_directories(dir / "data");
    for (int i = 0; i < 30; ++i)
        test::fs::copy_file(test::bundled_sample(), dir / "data" / ("v" + std::to_string(i) + ".nii.gz"));
    const auto out = dir / "out";
    const int pid =
        test::spawn_lessmore({"reduce", (dir / "data").string(), "-o", out.string(), "--method", "ssim", "--strategy",
                              "pairs", "--threshold", "0.99", "--progress", "jsonl", "-j", "1"},
                             dir / "o.txt", dir / "e.txt");
    const bool running = wait_for_first_volume(pid, dir / "e.txt");
    const auto second =
        test::run_lessmore({"reduce", (dir / "data").string(), "-o", out.string(), "-t", "6", "--force"});
    const auto resumed =
        test::run_lessmore({"reduce", (dir / "data").string(), "-o", out.string(), "-t", "6", "--resume"});
    const int first = test::wait_for(pid);
    ASSERT_TRUE(running) << test::read_file(dir / "e.txt");
    EXPECT_EQ(first, 0) << test::read_file(dir / "e.txt");
    EXPECT_EQ(second.exit_code, 2) << second.err;
    EXPECT_NE(second.err.find("another lessmore is writing there"), std::string::npos) << second.err;
    EXPECT_EQ(resumed.exit_code, 2) << resumed.err;
    // The first run's result stands whole.
    const json m = test::read_json(out / "manifest.json");
    EXPECT_EQ(m["parameters"]["method"], "ssim");
    EXPECT_EQ(m["volumes"].size(), 30u);
    expect_outputs_match_manifest(out);
}

TEST(CliContainment, ResumeRedoesChangedSources) {
    test::TempDir dir;
    const auto data = dir / "data";
    test::copy_tree(test::dicom_fixtures() / "padded", data / "a");
    test::copy_tree(test::dicom_fixtures() / "philips", data / "b");
    const auto out = dir / "out";
    ASSERT_EQ(test::run_lessmore({"reduce", data.string(), "-o", out.string(), "-t", "6", "-q"}).exit_code, 0);
    // b is replaced by other slices; a stays.
    test::fs::remove_all(data / "b");
    test::copy_tree(test::dicom_fixtures() / "constant", data / "b");
    const auto r = test::run_lessmore({"reduce", data.string(), "-o", out.string(), "-t", "6", "--resume"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("changed since the run being resumed"), std::string::npos) << r.err;
    const json m = test::read_json(out / "manifest.json");
    EXPECT_EQ(m["run"]["changed_sources"], json::array({"b"}));
    // The same as a fresh run on the changed data, files included.
    ASSERT_EQ(test::run_lessmore({"reduce", data.string(), "-o", (dir / "fresh").string(), "-t", "6", "-q"}).exit_code,
              0);
    EXPECT_EQ(test::stable_manifest(m), test::stable_manifest(test::read_json(dir / "fresh" / "manifest.json")));
    EXPECT_EQ(test::files_under(out / "slices"), test::files_under(dir / "fresh" / "slices"));
}

TEST(CliContainment, UnwritableOutputIsAUsageError) {
    test::TempDir dir;
    test::write_file(dir / "file.txt", "not a folder");
    const auto r = test::run_lessmore(
        {"reduce", test::bundled_sample().string(), "-o", (dir / "file.txt" / "out").string(), "-t", "6"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("file.txt/out"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
}

}  // namespace
}  // namespace lessmore
