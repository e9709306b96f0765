// Whole datasets: kill -9 at random moments then --resume, Ctrl-C, shards and merge,
// changed parameters, --max-memory, JSON-lines progress.
#include "test_support.hpp"

#include <lessmore/reduce.hpp>

#include <sys/wait.h>

#include <lessmore/files.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/png_writer.hpp>

#include <chrono>
#include <csignal>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace lessmore {
namespace {

using nlohmann::json;

// A dataset of many small volumes with different content: the bundled sample, the DICOM
// fixtures, and smooth synthetic NIfTI volumes.
void make_dataset(const test::fs::path& root, int synthetic, int size = 96, int slices = 40) {
    test::copy_tree(test::bundled_sample().parent_path(), root / "sample");
    test::copy_tree(test::dicom_fixtures() / "philips", root / "dicom" / "philips");
    test::copy_tree(test::dicom_fixtures() / "two-series", root / "dicom" / "two");
    std::mt19937 rng(7);
    for (int v = 0; v < synthetic; ++v) {
        std::vector<std::int16_t> data(static_cast<std::size_t>(size) * size * slices);
        const double fx = 0.05 + 0.01 * (v % 7), fz = 0.02 + 0.005 * (v % 5);
        std::normal_distribution<double> noise(0, 8);
        for (int z = 0; z < slices; ++z)
            for (int y = 0; y < size; ++y)
                for (int x = 0; x < size; ++x)
                    data[(static_cast<std::size_t>(z) * size + y) * size + x] = static_cast<std::int16_t>(
                        300 * std::sin(fx * x + fz * z * z * 0.1) * std::cos(fx * y + 0.3 * v) + 40 * z + noise(rng));
        test::write_nifti(root / ("synthetic" + std::to_string(v / 10)) / ("v" + std::to_string(v) + ".nii"),
                          {size, size, slices}, 4, std::string(reinterpret_cast<char*>(data.data()), data.size() * 2));
    }
}

// The uninterrupted run everything is compared with.
struct Reference {
    json manifest;
    std::string csv;
    std::set<std::string> slices;
};

Reference reference_run(const test::fs::path& data, const test::fs::path& out, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"reduce", data.string(), "-o", out.string(), "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = test::run_lessmore(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return {test::stable_manifest(test::read_json(out / "manifest.json")), test::read_file(out / "manifest.csv"),
            test::files_under(out / "slices")};
}

void expect_same_as(const Reference& ref, const test::fs::path& out, const std::string& what) {
    ASSERT_TRUE(test::fs::exists(out / "manifest.json")) << what;
    EXPECT_EQ(test::stable_manifest(test::read_json(out / "manifest.json")).dump(), ref.manifest.dump()) << what;
    EXPECT_EQ(test::read_file(out / "manifest.csv"), ref.csv) << what;
    EXPECT_EQ(test::files_under(out / "slices"), ref.slices) << what;
}

// Waits until the run has reported `count` finished volumes on its JSON-lines progress
// (stderr to `err`); false when it ended first. Interrupting then lands mid-run, whatever
// the machine's speed.
bool wait_for_volumes(int pid, const test::fs::path& err, std::size_t count) {
    const std::string event = "\"event\":\"volume\"";
    for (;;) {
        const std::string text = test::fs::exists(err) ? test::read_file(err) : std::string();
        std::size_t n = 0;
        for (auto p = text.find(event); p != std::string::npos; p = text.find(event, p + 1)) ++n;
        if (n >= count) return true;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

TEST(CliDataset, KillNineAtRandomMomentsThenResume) {
    test::TempDir dir;
    make_dataset(dir / "data", 30);
    const std::vector<std::string> params = {"-t", "6", "--format", "png", "--threads", "2"};
    const Reference ref = reference_run(dir / "data", dir / "ref", params);
    ASSERT_GT(ref.manifest["volumes"].size(), 30u);
    for (unsigned seed : {1u, 2u, 3u, 4u, 5u}) {
        std::mt19937 rng(seed);
        const auto out = dir / ("run" + std::to_string(seed));
        std::vector<std::string> args = {"reduce",  (dir / "data").string(), "-o", out.string(), "--progress", "jsonl",
                                         "--resume"};
        args.insert(args.end(), params.begin(), params.end());
        // Two kills, each after a random number of finished volumes plus a random few
        // milliseconds (so some land while slices or records are being written), each
        // followed by a resume; every kill must really stop a running process.
        for (int kill = 0; kill < 2; ++kill) {
            const int pid = test::spawn_lessmore(args, dir / "o.txt", dir / "e.txt");
            const std::size_t after = std::uniform_int_distribution<std::size_t>(1, 8)(rng);
            const bool running = wait_for_volumes(pid, dir / "e.txt", after);
            std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
            ::kill(pid, SIGKILL);
            const int finished = test::wait_for(pid);
            ASSERT_TRUE(running) << "seed " << seed << ": the run ended before " << after << " volumes";
            ASSERT_EQ(finished, 128 + SIGKILL) << "seed " << seed << ": " << test::read_file(dir / "e.txt");
            EXPECT_FALSE(test::fs::exists(out / "manifest.json")) << "seed " << seed;
        }
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << "seed " << seed << ": " << r.err;
        expect_same_as(ref, out, "seed " + std::to_string(seed));
        for (const auto& f : test::files_under(out))
            EXPECT_EQ(f.find(".tmp-"), std::string::npos) << "temporary left behind: " << f;
    }
}

TEST(CliDataset, CtrlCStopsCleanlyWithExitCode130AndResumes) {
    test::TempDir dir;
    make_dataset(dir / "data", 40, 96, 60);
    const std::vector<std::string> params = {"--method", "ssim", "-f", "0.2", "--format", "npy"};
    const Reference ref = reference_run(dir / "data", dir / "ref", params);
    const auto out = dir / "run";
    std::vector<std::string> args = {"reduce", (dir / "data").string(), "-o", out.string(), "--progress", "jsonl"};
    args.insert(args.end(), params.begin(), params.end());
    const int pid = test::spawn_lessmore(args, dir / "o.txt", dir / "e.txt");
    const bool running = wait_for_volumes(pid, dir / "e.txt", 2);  // well inside the 40 volumes
    ::kill(pid, SIGINT);
    const int code = test::wait_for(pid);
    ASSERT_TRUE(running) << test::read_file(dir / "e.txt");
    ASSERT_EQ(code, 130) << test::read_file(dir / "e.txt");
    EXPECT_FALSE(test::fs::exists(out / "manifest.json"));
    EXPECT_NE(test::read_file(dir / "e.txt").find("interrupted"), std::string::npos);
    args.push_back("--resume");
    const auto r = test::run_lessmore(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_as(ref, out, "after Ctrl-C");
}

TEST(CliDataset, AResumedRunStoppedBeforeItsEndLeavesNoManifest) {
    // A finished run resumed and stopped at once: OUT no longer looks finished (merge and
    // compare read manifest.json as "this run finished").
    test::TempDir dir;
    test::copy_tree(test::bundled_sample().parent_path(), dir / "in");
    const auto out = dir / "out";
    ASSERT_EQ(test::run_lessmore({"reduce", (dir / "in").string(), "-o", out.string(), "-t", "6"}).exit_code, 0);
    ASSERT_TRUE(test::fs::exists(out / "manifest.json"));
    // The source changed since (a later time): the resumed run must redo it.
    const auto sample = dir / "in" / test::bundled_sample().filename();
    test::fs::last_write_time(sample, test::fs::last_write_time(sample) + std::chrono::hours(1));
    ReduceConfig c;
    c.inputs = {(dir / "in").string()};
    c.output = out.string();
    c.threshold = 6;
    c.resume = true;
    NullProgress quiet;
    CancelToken stopped;
    stopped.cancel();
    EXPECT_THROW(reduce(c, quiet, stopped), Interrupted);
    EXPECT_FALSE(test::fs::exists(out / "manifest.json"));
    EXPECT_FALSE(test::fs::exists(out / "manifest.csv"));
    // ... and resuming again finishes it.
    EXPECT_EQ(
        test::run_lessmore({"reduce", (dir / "in").string(), "-o", out.string(), "-t", "6", "--resume"}).exit_code, 0);
    EXPECT_TRUE(test::fs::exists(out / "manifest.json"));
}

TEST(CliDataset, ResumeRefusesChangedParameters) {
    test::TempDir dir;
    make_dataset(dir / "data", 2);
    ASSERT_EQ(
        test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "o").string(), "-t", "6", "-q"}).exit_code,
        0);
    const auto r =
        test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "o").string(), "-t", "7", "--resume"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("threshold: 6 vs 7"), std::string::npos) << r.err;
    const auto r2 = test::run_lessmore(
        {"reduce", (dir / "data").string(), "-o", (dir / "o").string(), "-t", "6", "--resume", "--format", "npy"});
    EXPECT_EQ(r2.exit_code, 2);
    EXPECT_NE(r2.err.find("format"), std::string::npos) << r2.err;
    // Resuming a finished run redoes nothing and gives the same manifest.
    const std::string before = test::stable_manifest(test::read_json(dir / "o" / "manifest.json")).dump();
    ASSERT_EQ(
        test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "o").string(), "-t", "6", "--resume", "-q"})
            .exit_code,
        0);
    EXPECT_EQ(test::stable_manifest(test::read_json(dir / "o" / "manifest.json")).dump(), before);
    EXPECT_EQ(test::read_json(dir / "o" / "manifest.json")["run"]["resumed"], true);
}

TEST(CliDataset, ShardsRunConcurrentlyThenMergeEqualsOneRun) {
    test::TempDir dir;
    make_dataset(dir / "data", 12);
    const std::vector<std::string> params = {"-t", "6", "--format", "both", "--threads", "1"};
    const Reference ref = reference_run(dir / "data", dir / "ref", params);
    std::vector<int> pids;
    for (int i = 1; i <= 3; ++i) {
        std::vector<std::string> args = {
            "reduce",  (dir / "data").string(), "-o", (dir / ("s" + std::to_string(i))).string(), "-q",
            "--shard", std::to_string(i) + "/3"};
        args.insert(args.end(), params.begin(), params.end());
        pids.push_back(test::spawn_lessmore(args, dir / ("o" + std::to_string(i)), dir / ("e" + std::to_string(i))));
    }
    std::size_t shard_volumes = 0;
    for (int i = 1; i <= 3; ++i) {
        ASSERT_EQ(test::wait_for(pids[static_cast<std::size_t>(i - 1)]), 0)
            << test::read_file(dir / ("e" + std::to_string(i)));
        const json m = test::read_json(dir / ("s" + std::to_string(i)) / "manifest.json");
        EXPECT_EQ(m["shard"]["index"], i);
        shard_volumes += m["volumes"].size();
    }
    EXPECT_EQ(shard_volumes, ref.manifest["volumes"].size());
    const std::string s1 = (dir / "s1").string(), s2 = (dir / "s2").string(), s3 = (dir / "s3").string();
    auto r = test::run_lessmore({"merge", s3, s1, s2, "-o", (dir / "merged").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_as(ref, dir / "merged", "merged shards");

    // Refusals: a shard twice, a shard missing, a shard of another run.
    r = test::run_lessmore({"merge", s1, s1, s2, "-o", (dir / "m2").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("are both 1/3"), std::string::npos) << r.err;
    r = test::run_lessmore({"merge", s1, s2, "-o", (dir / "m3").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("shard 3/3 is missing"), std::string::npos) << r.err;
    ASSERT_EQ(test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "other").string(), "-q", "--shard",
                                  "3/3", "-t", "5"})
                  .exit_code,
              0);
    r = test::run_lessmore({"merge", s1, s2, (dir / "other").string(), "-o", (dir / "m4").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not a shard of the same run"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("threshold"), std::string::npos) << r.err;
    r = test::run_lessmore({"merge", (dir / "ref").string(), "-o", (dir / "m5").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not a shard"), std::string::npos) << r.err;
    for (const char* m : {"m2", "m3", "m4", "m5"}) EXPECT_FALSE(test::fs::exists(dir / m)) << m;
}

TEST(CliDataset, MaxMemoryBoundsVolumesInFlightAndRefusesTooLargeOnes) {
    test::TempDir dir;
    make_dataset(dir / "data", 6, 96, 40);  // synthetic volumes: 96 x 96 x 40 x 2 bytes = 720 KB
    const Reference ref = reference_run(dir / "data", dir / "ref", {"-t", "6", "--format", "none"});
    // Room for one synthetic volume at a time: the same result.
    auto r = test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "a").string(), "-t", "6", "--format",
                                 "none", "--max-memory", "1M", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_as(ref, dir / "a", "--max-memory 1M");
    // 500K, read whole (the pairs strategy): the synthetic volumes and the sample (122 x 101
    // x 30 x 2 bytes) fail, named; the small DICOM fixtures go on.
    r = test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "b").string(), "-f", "0.5", "--format",
                            "none", "--max-memory", "500K"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("more than --max-memory"), std::string::npos) << r.err;
    const json m = test::read_json(dir / "b" / "manifest.json");
    EXPECT_EQ(m["errors"].size(), 7u);
    EXPECT_GT(m["volumes"].size(), 0u);
    // The same cap with HASH's leader loop, which streams slabs of 16 slices: all fit.
    r = test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "s").string(), "-t", "6", "--format",
                            "none", "--max-memory", "500K", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_as(ref, dir / "s", "--max-memory 500K, streamed");
    r = test::run_lessmore(
        {"reduce", (dir / "data").string(), "-o", (dir / "c").string(), "-t", "6", "--max-memory", "lots"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--max-memory"), std::string::npos);
}

// The count is of the values reading gives, not of the files: a PET series of 8 64x64
// slices kept as float64 (slope 2.02) needs 256 KB, its files 86 KB.
TEST(CliDataset, MaxMemoryCountsTheValueTypeNotTheFileSize) {
    test::TempDir dir;
    const auto pet = test::source_dir() / "tests" / "data" / "readers" / "pet";
    auto r = test::run_lessmore(
        {"reduce", pet.string(), "-o", (dir / "a").string(), "-f", "0.5", "--format", "none", "--max-memory", "200K"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("needs 256 KB of voxels, more than --max-memory 200 KB"), std::string::npos) << r.err;
    r = test::run_lessmore({"reduce", pet.string(), "-o", (dir / "b").string(), "-f", "0.5", "--format", "none",
                            "--max-memory", "260K", "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

std::vector<json> json_lines(const std::string& text) {
    std::vector<json> lines;
    for (std::size_t pos = 0; pos < text.size();) {
        const auto end = text.find('\n', pos);
        lines.push_back(json::parse(text.substr(pos, end - pos)));  // every line is JSON
        pos = end == std::string::npos ? text.size() : end + 1;
    }
    return lines;
}

// The events and counts docs/output.md (section "Progress events") defines: a source may
// hold several volumes (dicom/two holds two series), slices_done counts the slices of the
// finished volumes only, and the finish event repeats the manifest's summary.
TEST(CliDataset, JsonLinesProgressForPipelines) {
    test::TempDir dir;
    make_dataset(dir / "data", 3);
    const auto r = test::run_lessmore(
        {"reduce", (dir / "data").string(), "-o", (dir / "o").string(), "-t", "6", "--progress", "jsonl", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(json::parse(r.out).contains("summary"));  // stdout: only the result
    const json manifest = test::read_json(dir / "o" / "manifest.json");
    const std::vector<json> lines = json_lines(r.err);
    ASSERT_GE(lines.size(), 3u);
    std::set<std::string> events;
    std::size_t volumes = 0, slices = 0, sources = 0, source_volumes = 0;
    for (const json& line : lines) {
        const std::string event = line["event"];
        events.insert(event);
        if (event == "volume") {
            ++volumes;
            slices += line["slices"].get<std::size_t>();
            EXPECT_EQ(line["volumes_done"], volumes);
            EXPECT_EQ(line["slices_done"], slices);  // the finished volumes' slices, no more
            EXPECT_LE(line["sources_done"].get<std::size_t>(), sources);
            EXPECT_EQ(line["sources"], lines.front()["sources"]);
        } else if (event == "source") {
            ++sources;
            source_volumes += line["volumes"].get<std::size_t>();
            EXPECT_EQ(line["sources_done"], sources);
            EXPECT_EQ(line["failed"], 0);
            EXPECT_LE(source_volumes, volumes);  // a source's volumes were reported before it
        }
    }
    EXPECT_EQ(events, (std::set<std::string>{"start", "source", "volume", "finish"}));
    EXPECT_EQ(lines.front()["event"], "start");
    EXPECT_EQ(lines.back()["event"], "finish");
    EXPECT_EQ(lines.front()["sources"], sources);
    EXPECT_EQ(lines.front()["estimated_slices"].get<std::size_t>() > 0, true);
    EXPECT_EQ(volumes, manifest["volumes"].size());
    EXPECT_EQ(source_volumes, volumes);
    EXPECT_GT(volumes, sources);  // dicom/two: one source, two volumes
    const json& finish = lines.back();
    for (const char* key : {"volumes", "slices", "kept", "failed"})
        EXPECT_EQ(finish[key], manifest["summary"][key]) << key;
    EXPECT_EQ(finish["slices"], slices);

    // Resumed: the earlier run's sources are reported as resumed, and the totals are the
    // whole run's.
    const auto again = test::run_lessmore(
        {"reduce", (dir / "data").string(), "-o", (dir / "o").string(), "-t", "6", "--progress", "jsonl", "--resume"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    const std::vector<json> resumed = json_lines(again.err);
    std::size_t resumed_sources = 0, resumed_volumes = 0, resumed_slices = 0;
    for (const json& line : resumed) {
        EXPECT_NE(line["event"], "volume");  // nothing read again
        if (line["event"] != "resumed") continue;
        ++resumed_sources;
        resumed_volumes += line["volumes"].get<std::size_t>();
        resumed_slices += line["slices"].get<std::size_t>();
    }
    EXPECT_EQ(resumed_sources, sources);
    EXPECT_EQ(resumed_volumes, volumes);
    EXPECT_EQ(resumed_slices, slices);
    const json& start = resumed[resumed_sources];
    EXPECT_EQ(start["event"], "start");
    EXPECT_EQ(start["sources"], 0);
    EXPECT_EQ(start["resumed_sources"], sources);
    EXPECT_EQ(start["resumed_volumes"], volumes);
    EXPECT_EQ(start["resumed_slices"], slices);
    EXPECT_EQ(resumed.back()["volumes"], volumes);
    EXPECT_EQ(resumed.back()["slices"], slices);
}

}  // namespace
}  // namespace lessmore
