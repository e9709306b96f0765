// OUT's own state is checked as strictly as any input (docs/output.md, section "OUT's own
// state"): records that name other places are refused by --resume (redone), merge,
// report and compare (exit 2, naming the record file and the field); no link inside OUT
// or a run folder is followed; only regular files are read, never blocking on a FIFO.
#include "test_support.hpp"

#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <functional>
#include <map>
#include <random>
#include <thread>

namespace lessmore {
namespace {

using nlohmann::json;

// Runs lessmore, killing it if it has not ended after `seconds` (a hang fails the test
// instead of stalling the suite).
test::RunResult run_within(const std::vector<std::string>& args, double seconds) {
    test::TempDir io;
    const int pid = test::spawn_lessmore(args, io / "out", io / "err");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    test::RunResult r;
    for (;;) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            test::wait_for(pid);
            r.exit_code = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    r.out = test::read_file(io / "out");
    r.err = test::read_file(io / "err");
    return r;
}

// Two NIfTI volumes and a DICOM series; --format both, so records hold output_npy too.
const std::vector<std::string> k_params = {"-t", "6", "--format", "both", "-q"};

test::fs::path dataset(const test::TempDir& dir) {
    const auto data = dir / "data";
    test::fs::create_directories(data);
    test::fs::copy_file(test::bundled_sample(), data / "a.nii.gz");
    test::fs::copy_file(test::bundled_sample(), data / "b.nii.gz");
    test::copy_tree(test::dicom_fixtures() / "philips", data / "dicom");
    return data;
}

void reduce_into(const test::fs::path& data, const test::fs::path& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"reduce", data.string(), "-o", out.string()};
    args.insert(args.end(), k_params.begin(), k_params.end());
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = test::run_lessmore(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
}

// The record file of `source` in OUT.
test::fs::path record_of(const test::fs::path& out, const std::string& source) {
    for (const auto& e : test::fs::directory_iterator(out / ".lessmore" / "records"))
        if (test::read_json(e.path())["source"] == source) return e.path();
    ADD_FAILURE() << "no record of " << source << " in " << out;
    return {};
}

json& first_slice(json& volume, bool kept) {
    for (json& s : volume["slices"])
        if (s["kept"] == kept) return s;
    throw std::runtime_error("no such slice");
}

// One way to damage a record, and the field the refusal must name.
struct Damage {
    std::string what;
    std::string field;
    std::function<void(json& record, const test::fs::path& victim)> apply;
};

std::vector<Damage> damages() {
    auto volume = [](json& r) -> json& { return r["volumes"][0]; };
    return {
        {"volume id climbing out", "field 'id'", [=](json& r, auto) { volume(r)["id"] = "../victim/x"; }},
        {"absolute volume id", "field 'id'", [=](json& r, auto& v) { volume(r)["id"] = (v / "x").string(); }},
        {"volume id with a control character", "field 'id'", [=](json& r, auto) { volume(r)["id"] = "a.nii.gz/\x01"; }},
        {"volume id of another source", "field 'id'", [=](json& r, auto) { volume(r)["id"] = "b.nii.gz"; }},
        {"source id climbing out", "field 'source'", [](json& r, auto) { r["source"] = "../a.nii.gz"; }},
        {"output climbing out", "field 'output'",
         [=](json& r, auto) { first_slice(volume(r), true)["output"] = "../victim/secret.png"; }},
        {"absolute output", "field 'output'",
         [=](json& r, auto& v) { first_slice(volume(r), true)["output"] = (v / "secret.png").string(); }},
        {"output inside slices/ but another slice's", "field 'output'",
         [=](json& r, auto) { first_slice(volume(r), true)["output"] = "slices/b.nii.gz.d/00.png"; }},
        {"output_npy climbing out", "field 'output_npy'",
         [=](json& r, auto) { first_slice(volume(r), true)["output_npy"] = "slices/../../victim/secret.png"; }},
        {"output for a removed slice", "field 'output'",
         [=](json& r, auto) { first_slice(volume(r), false)["output"] = "slices/a.nii.gz.d/01.png"; }},
        {"slices out of order", "field 'index'", [=](json& r, auto) { volume(r)["slices"][1]["index"] = 7; }},
        {"kept count that does not add up", "field 'kept'", [=](json& r, auto) { volume(r)["kept"] = 29; }},
        {"match out of range", "field 'match'", [=](json& r, auto) { first_slice(volume(r), false)["match"] = 1000; }},
    };
}

void expect_victim_untouched(const test::fs::path& victim) {
    EXPECT_EQ(test::read_file(victim / "secret.png"), "secret");
    EXPECT_EQ(test::files_under(victim), (std::set<std::string>{"secret.png"}));
}

// A run killed while writing its manifests leaves their temporaries in OUT; clearing OUT
// (--force, or a merge redone from the start) removes them with the manifests.
TEST(CliOutState, ForceClearsTheTemporariesOfAKilledManifestWrite) {
    test::TempDir dir;
    const auto out = dir / "out";
    const std::vector<std::string> args = {
        "reduce", test::bundled_sample().string(), "-o", out.string(), "-t", "6", "-q", "--force"};
    ASSERT_EQ(test::run_lessmore(args).exit_code, 0);
    test::write_file(out / ".manifest.csv.tmp-AbC123", "half a manifest");
    test::write_file(out / ".manifest.json.tmp-XyZ789", "{");
    ASSERT_EQ(test::run_lessmore(args).exit_code, 0);
    for (const auto& f : test::files_under(out)) EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
    EXPECT_TRUE(test::fs::exists(out / "manifest.csv"));
}

TEST(CliOutState, ResumeRedoesARecordThatFailsValidation) {
    test::TempDir dir;
    const auto data = dataset(dir);
    test::write_file(dir / "victim" / "secret.png", "secret");
    reduce_into(data, dir / "ref");
    const json ref = test::stable_manifest(test::read_json(dir / "ref" / "manifest.json"));
    for (const Damage& d : damages()) {
        const auto out = dir / "run";
        test::fs::remove_all(out);
        test::copy_tree(dir / "ref", out);
        test::fs::remove(out / "manifest.json");  // killed before the end
        const auto record = record_of(out, "a.nii.gz");
        json j = test::read_json(record);
        d.apply(j, dir / "victim");
        test::write_file(record, j.dump(1));
        std::vector<std::string> args = {"reduce", data.string(), "-o",       out.string(), "--resume",
                                         "-t",     "6",           "--format", "both"};
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << d.what << ": " << r.err;
        EXPECT_NE(r.err.find(record.filename().string() + ": damaged record"), std::string::npos)
            << d.what << ": " << r.err;
        EXPECT_NE(r.err.find(d.field), std::string::npos) << d.what << ": " << r.err;
        EXPECT_NE(r.err.find("reduced again"), std::string::npos) << d.what << ": " << r.err;
        // Done again: the manifest is the uninterrupted run's, naming nothing outside slices/.
        EXPECT_EQ(test::stable_manifest(test::read_json(out / "manifest.json")), ref) << d.what;
        EXPECT_EQ(test::files_under(out / "slices"), test::files_under(dir / "ref" / "slices")) << d.what;
        expect_victim_untouched(dir / "victim");
    }
}

TEST(CliOutState, MergeAndReportRefuseARecordThatFailsValidation) {
    test::TempDir dir;
    const auto data = dataset(dir);
    test::write_file(dir / "victim" / "secret.png", "secret");
    reduce_into(data, dir / "s1", {"--shard", "1/2"});
    reduce_into(data, dir / "s2", {"--shard", "2/2"});
    const bool a_in_s1 = test::fs::exists(dir / "s1" / "slices" / "a.nii.gz.d");
    const auto holder = dir / (a_in_s1 ? "s1" : "s2"), other = dir / (a_in_s1 ? "s2" : "s1");
    for (const Damage& d : damages()) {
        const auto shard = dir / "damaged";
        test::fs::remove_all(shard);
        test::copy_tree(holder, shard);
        const auto record = record_of(shard, "a.nii.gz");
        json j = test::read_json(record);
        d.apply(j, dir / "victim");
        test::write_file(record, j.dump(1));
        const std::set<std::string> slices = test::files_under(shard / "slices");
        for (const bool move : {false, true}) {
            std::vector<std::string> args = {"merge", other.string(), shard.string(), "-o", (dir / "merged").string()};
            if (move) args.push_back("--move");
            const auto r = test::run_lessmore(args);
            EXPECT_EQ(r.exit_code, 2) << d.what << ": " << r.err;
            EXPECT_NE(r.err.find(record.filename().string() + ": damaged record"), std::string::npos)
                << d.what << ": " << r.err;
            EXPECT_NE(r.err.find(d.field), std::string::npos) << d.what << ": " << r.err;
            EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
            EXPECT_FALSE(test::fs::exists(dir / "merged")) << d.what;
            EXPECT_EQ(test::files_under(shard / "slices"), slices) << d.what << ": the shard lost files";
        }
        // report reads the records of its own OUT (a shard is a finished run).
        const auto r = test::run_lessmore({"report", shard.string()});
        EXPECT_EQ(r.exit_code, 2) << d.what << ": " << r.err;
        EXPECT_NE(r.err.find(record.filename().string() + ": damaged record"), std::string::npos)
            << d.what << ": " << r.err;
        EXPECT_NE(r.err.find(d.field), std::string::npos) << d.what << ": " << r.err;
        EXPECT_FALSE(test::fs::exists(shard / "report.html")) << d.what;
        expect_victim_untouched(dir / "victim");
    }
}

// OUT's layout changed in 0.2.0 (docs/output.md, section "Versions"): an OUT an older (or
// an unknown newer) version wrote is refused whole by --resume, merge and report, on one
// line naming its run.json, before anything is written.
TEST(CliOutState, AnOutOfAnotherLayoutIsRefused) {
    test::TempDir dir;
    const auto data = dataset(dir);
    reduce_into(data, dir / "s1", {"--shard", "1/2"});
    reduce_into(data, dir / "s2", {"--shard", "2/2"});
    for (const char* written : {"0.1.0", "99.0.0", "x"}) {
        const auto old = dir / "old";
        test::fs::remove_all(old);
        test::copy_tree(dir / "s1", old);
        json run = test::read_json(old / ".lessmore" / "run.json");
        run["version"] = written;
        test::write_file(old / ".lessmore" / "run.json", run.dump(1));
        const std::set<std::string> before = test::files_under(old);
        const std::string where = (old / ".lessmore" / "run.json").string() + ": written by lessmore " + written;
        std::vector<std::string> resume = {"reduce", data.string(), "-o", old.string(), "--resume", "--shard", "1/2"};
        resume.insert(resume.end(), k_params.begin(), k_params.end());
        for (const auto& args :
             {resume,
              std::vector<std::string>{"merge", old.string(), (dir / "s2").string(), "-o", (dir / "merged").string()},
              std::vector<std::string>{"report", old.string()}}) {
            const auto r = test::run_lessmore(args);
            EXPECT_EQ(r.exit_code, 2) << args[0] << " " << written << ": " << r.err;
            EXPECT_NE(r.err.find(where), std::string::npos) << args[0] << ": " << r.err;
            EXPECT_NE(r.err.find(std::string(written) == "0.1.0" ? "older than this version's" : "use lessmore"),
                      std::string::npos)
                << r.err;
            EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
            EXPECT_FALSE(test::fs::exists(dir / "merged"));
            EXPECT_EQ(test::files_under(old), before) << args[0] << " changed the old OUT";
        }
        // --force replaces it.
        std::vector<std::string> force = {"reduce", data.string(), "-o", old.string(), "--force"};
        force.insert(force.end(), k_params.begin(), k_params.end());
        const auto r = test::run_lessmore(force);
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
}

TEST(CliOutState, CompareChecksTheManifestsItReads) {
    test::TempDir dir;
    const auto data = dataset(dir);
    reduce_into(data, dir / "a");
    const std::vector<std::pair<std::string, std::function<void(json&)>>> cases = {
        {"field 'id'", [](json& m) { m["volumes"][0]["id"] = "../victim/x"; }},
        {"field 'id'", [](json& m) { m["volumes"][0]["id"] = "/abs/x"; }},
        {"field 'output'", [](json& m) { first_slice(m["volumes"][0], true)["output"] = "../victim/secret.png"; }},
        {"field 'output_npy'", [](json& m) { first_slice(m["volumes"][0], true)["output_npy"] = "/etc/passwd"; }},
        {"field 'index'", [](json& m) { m["volumes"][0]["slices"][1]["index"] = 99999999; }},
        {"field 'kept'", [](json& m) { m["volumes"][0]["kept"] = 1000; }},
        {"listed twice", [](json& m) { m["volumes"][1]["id"] = m["volumes"][0]["id"]; }},
    };
    for (const auto& [field, damage] : cases) {
        json m = test::read_json(dir / "a" / "manifest.json");
        damage(m);
        test::write_file(dir / "b" / "manifest.json", m.dump(1));
        const auto r = run_within({"compare", (dir / "a").string(), (dir / "b").string()}, 60);
        EXPECT_EQ(r.exit_code, 2) << field << ": " << r.err;
        EXPECT_NE(r.err.find("b/manifest.json: "), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(field), std::string::npos) << r.err;
    }
}

TEST(CliOutState, CompareNeverBlocksOnAFifoAndReadsOnlyRegularFiles) {
    test::TempDir dir;
    reduce_into(dataset(dir), dir / "a");
    test::fs::create_directories(dir / "fifo");
    ASSERT_EQ(::mkfifo((dir / "fifo" / "manifest.json").c_str(), 0644), 0);
    test::fs::create_directories(dir / "folder" / "manifest.json");
    test::fs::create_directories(dir / "link");
    test::fs::create_symlink(dir / "a" / "manifest.json", dir / "link" / "manifest.json");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"fifo", "fifo/manifest.json: is a FIFO, not a regular file"},
        {"folder", "folder/manifest.json: is a folder, not a regular file"},
        {"link", "link/manifest.json: is a symbolic link"},
    };
    for (const auto& [name, message] : cases) {
        for (const bool second : {false, true}) {
            const std::string a = (dir / "a").string(), b = (dir / name).string();
            const auto start = std::chrono::steady_clock::now();
            const auto r = run_within({"compare", second ? a : b, second ? b : a}, 20);
            const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            EXPECT_EQ(r.exit_code, 2) << name << " (-1: hung): " << r.err;
            EXPECT_LT(took, 10.0) << name;
            EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
            EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
            EXPECT_EQ(r.err.find("basic_"), std::string::npos) << "a C++ library message: " << r.err;
        }
    }
}

// lessmore's own paths in OUT, each replaced by a link to a folder (or file) outside.
struct LinkCase {
    std::string rel;
    bool folder;
};
const std::vector<LinkCase> k_links = {
    {".lessmore/records", true},         {".lessmore", true},       {"slices", true},
    {"slices/a.nii.gz.d", true},         {"manifest.json", false},  {".lessmore/run.json", false},
    {"slices/a.nii.gz.d/00.png", false}, {".lessmore/lock", false}, {".lessmore/merge.json", false},
};

// `from` copied to `to` with `link.rel` replaced by a link into `outside`.
void with_link(const test::fs::path& from, const test::fs::path& to, const LinkCase& link,
               const test::fs::path& outside) {
    test::fs::remove_all(to);
    test::copy_tree(from, to);
    test::fs::remove_all(to / link.rel);
    if (link.folder) {
        test::fs::create_directory_symlink(outside, to / link.rel);
    } else {
        test::fs::create_symlink(outside / "secret.png", to / link.rel);
    }
}

void expect_refused_naming(const test::RunResult& r, const test::fs::path& link, const std::string& what) {
    EXPECT_EQ(r.exit_code, 2) << what << ": " << r.err;
    EXPECT_NE(r.err.find(link.generic_string() + ": is a symbolic link"), std::string::npos) << what << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": one line: " << r.err;
}

TEST(CliOutState, ReduceNeverFollowsALinkInsideOut) {
    test::TempDir dir;
    const auto data = dataset(dir);
    test::write_file(dir / "outside" / "secret.png", "secret");
    reduce_into(data, dir / "ref");
    const json ref = test::stable_manifest(test::read_json(dir / "ref" / "manifest.json"));
    const auto out = test::fs::absolute(dir / "out");
    for (const LinkCase& link : k_links) {
        // --resume keeps what OUT holds: a link there is refused before anything is written.
        with_link(dir / "ref", out, link, dir / "outside");
        std::vector<std::string> args = {"reduce", data.string(), "-o",   out.string(), "-t",
                                         "6",      "--format",    "both", "-q"};
        args.push_back("--resume");
        expect_refused_naming(test::run_lessmore(args), out / link.rel, "--resume, " + link.rel);
        EXPECT_TRUE(test::fs::is_symlink(out / link.rel)) << link.rel;
        expect_victim_untouched(dir / "outside");
        // --force replaces lessmore's outputs: the link is removed as a link.
        args.back() = "--force";
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << "--force, " << link.rel << ": " << r.err;
        EXPECT_FALSE(test::fs::is_symlink(out / link.rel)) << link.rel;
        EXPECT_EQ(test::stable_manifest(test::read_json(out / "manifest.json")), ref) << link.rel;
        EXPECT_EQ(test::files_under(out / "slices"), test::files_under(dir / "ref" / "slices")) << link.rel;
        expect_victim_untouched(dir / "outside");
    }
}

TEST(CliOutState, MergeReportAndCompareNeverFollowALinkInsideARunFolder) {
    test::TempDir dir;
    const auto data = dataset(dir);
    test::write_file(dir / "outside" / "secret.png", "secret");
    reduce_into(data, dir / "s1", {"--shard", "1/2"});
    reduce_into(data, dir / "s2", {"--shard", "2/2"});
    const bool a_in_s1 = test::fs::exists(dir / "s1" / "slices" / "a.nii.gz.d");
    const auto holder = dir / (a_in_s1 ? "s1" : "s2"), other = dir / (a_in_s1 ? "s2" : "s1");
    const auto merged = dir / "merged";
    ASSERT_EQ(test::run_lessmore({"merge", (dir / "s1").string(), (dir / "s2").string(), "-o", merged.string(), "-q"})
                  .exit_code,
              0);
    const json ref = test::stable_manifest(test::read_json(merged / "manifest.json"));
    for (const LinkCase& link : k_links) {
        // A shard with a link inside: refused before OUT is made, for a merge and a move.
        const auto shard = dir / "linked";
        with_link(holder, shard, link, dir / "outside");
        for (const bool move : {false, true}) {
            std::vector<std::string> args = {"merge", other.string(), shard.string(), "-o", (dir / "m").string()};
            if (move) args.push_back("--move");
            expect_refused_naming(test::run_lessmore(args), shard / link.rel, "merge from a shard, " + link.rel);
            EXPECT_FALSE(test::fs::exists(dir / "m")) << link.rel;
        }
        // report on a run with a link inside (one in slices/ below it is no business of report's).
        const auto r = test::run_lessmore({"report", shard.string()});
        if (link.rel.rfind("slices/", 0) == 0) {
            EXPECT_EQ(r.exit_code, 0) << link.rel << ": " << r.err;
        } else {
            expect_refused_naming(r, shard / link.rel, "report, " + link.rel);
            EXPECT_FALSE(test::fs::exists(shard / "report.html")) << link.rel;
        }
        // compare reads manifest.json only.
        if (link.rel == "manifest.json") {
            expect_refused_naming(test::run_lessmore({"compare", merged.string(), shard.string()}), shard / link.rel,
                                  "compare");
        }
        // Merging into an OUT with a link inside: --force removes it as a link.
        const auto out = test::fs::absolute(dir / "into");
        with_link(merged, out, link, dir / "outside");
        const auto forced = test::run_lessmore(
            {"merge", (dir / "s1").string(), (dir / "s2").string(), "-o", out.string(), "--force", "-q"});
        ASSERT_EQ(forced.exit_code, 0) << link.rel << ": " << forced.err;
        EXPECT_FALSE(test::fs::is_symlink(out / link.rel)) << link.rel;
        EXPECT_EQ(test::stable_manifest(test::read_json(out / "manifest.json")), ref) << link.rel;
        expect_victim_untouched(dir / "outside");
    }
}

// Smooth synthetic volumes, each different: a few hundred slice files to move.
void synthetic_dataset(const test::fs::path& root, int volumes) {
    std::mt19937 rng(11);
    std::normal_distribution<double> noise(0, 8);
    const int size = 48, slices = 40;
    for (int v = 0; v < volumes; ++v) {
        std::vector<std::int16_t> data(static_cast<std::size_t>(size) * size * slices);
        const double fx = 0.05 + 0.01 * (v % 7), fz = 0.02 + 0.005 * (v % 5);
        for (int z = 0; z < slices; ++z)
            for (int y = 0; y < size; ++y)
                for (int x = 0; x < size; ++x)
                    data[(static_cast<std::size_t>(z) * size + y) * size + x] = static_cast<std::int16_t>(
                        300 * std::sin(fx * x + fz * z * z * 0.1) * std::cos(fx * y + 0.3 * v) + 40 * z + noise(rng));
        test::write_nifti(root / ("g" + std::to_string(v / 8)) / ("v" + std::to_string(v) + ".nii"),
                          {size, size, slices}, 4, std::string(reinterpret_cast<char*>(data.data()), data.size() * 2));
    }
}

// A running process: waits until `ready()` holds, or the process ends (false).
struct Child {
    int pid;
    std::optional<int> exit_code;

    bool wait_until(const std::function<bool()>& ready) {
        for (;;) {
            if (ready()) return true;
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return false;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    }
    // SIGKILL; the exit code (128 + 9 when the kill landed while it ran).
    int kill() {
        if (exit_code) return *exit_code;
        ::kill(pid, SIGKILL);
        return test::wait_for(pid);
    }
};

// Regular files below `dir`, counted while another process adds and removes them.
std::size_t file_count(const test::fs::path& dir) {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = test::fs::recursive_directory_iterator(dir, ec);
         !ec && it != test::fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code kind;
        n += it->is_regular_file(kind);
    }
    return n;
}

std::string journal_state(const test::fs::path& out) {
    const auto path = out / ".lessmore" / "merge.json";
    if (!test::fs::exists(path)) return "none";
    try {
        return test::read_json(path)["state"];
    } catch (...) {
        return "unreadable";
    }
}

TEST(CliOutState, MergeMoveKilledAtRandomMomentsLosesNothing) {
    test::TempDir dir;
    synthetic_dataset(dir / "data", 24);
    std::vector<std::string> pristine;
    for (int i = 1; i <= 3; ++i) {
        pristine.push_back((dir / ("p" + std::to_string(i))).string());
        reduce_into(dir / "data", pristine.back(), {"--shard", std::to_string(i) + "/3"});
    }
    // The uninterrupted merge (hard links: the pristine shards stay whole).
    std::vector<std::string> args = {"merge"};
    args.insert(args.end(), pristine.begin(), pristine.end());
    args.insert(args.end(), {"-o", (dir / "ref").string(), "-q"});
    ASSERT_EQ(test::run_lessmore(args).exit_code, 0);
    const json ref = test::stable_manifest(test::read_json(dir / "ref" / "manifest.json"));
    const std::string ref_csv = test::read_file(dir / "ref" / "manifest.csv");
    const std::set<std::string> ref_slices = test::files_under(dir / "ref" / "slices");
    ASSERT_GT(ref_slices.size(), 300u);
    std::map<std::string, int> landed;  // journal state at the kill -> count
    for (unsigned seed = 1; seed <= 8; ++seed) {
        std::mt19937 rng(seed);
        const auto run = dir / ("run" + std::to_string(seed));
        // A kill can come too late on a loaded machine (the watcher polls a folder while
        // the merge runs on): then the finished merge must equal the reference, and the
        // seed tries another moment, up to 6 times.
        for (int attempt = 0;; ++attempt) {
            test::fs::remove_all(run);
            std::vector<std::string> shards;
            std::size_t shard_files = 0;
            for (int i = 1; i <= 3; ++i) {
                shards.push_back((run / ("s" + std::to_string(i))).string());
                test::copy_tree(pristine[static_cast<std::size_t>(i - 1)], shards.back());  // copies, not links
                shard_files += file_count(test::fs::path(shards.back()) / "slices");
            }
            const auto out = run / "out";
            std::vector<std::string> merge = {"merge"};
            merge.insert(merge.end(), shards.begin(), shards.end());
            merge.insert(merge.end(), {"-o", out.string(), "--move", "-q"});
            // Each seed waits for a different moment: slices linked into OUT, OUT committed,
            // or shards' copies removed, plus a random few hundred microseconds.
            const std::size_t k = std::uniform_int_distribution<std::size_t>(1, shard_files - 1)(rng);
            const int trigger = static_cast<int>(seed % 3);
            const std::function<bool()> moment[] = {
                [&] { return file_count(out / "slices") >= k; },
                [&] { return journal_state(out) == "committed"; },
                [&] {
                    std::size_t left = 0;
                    for (const auto& s : shards) left += file_count(test::fs::path(s) / "slices");
                    return left + k <= shard_files;
                },
            };
            Child child{test::spawn_lessmore(merge, run / "o.txt", run / "e.txt"), std::nullopt};
            const bool running = child.wait_until(moment[trigger]);
            std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 400)(rng)));
            const int code = child.kill();
            if (!running || code != 128 + SIGKILL) {
                ASSERT_EQ(code, 0) << "seed " << seed << ": " << test::read_file(run / "e.txt");
                EXPECT_EQ(test::stable_manifest(test::read_json(out / "manifest.json")), ref) << "seed " << seed;
                EXPECT_EQ(test::files_under(out / "slices"), ref_slices) << "seed " << seed;
                ASSERT_LT(attempt, 5) << "seed " << seed << ": every kill came after the merge ended";
                continue;
            }
            const std::string state = journal_state(out);
            ++landed[state];
            if (state == "committed") {
                // Half moved: nothing may clear OUT now, nor merge the shards without --move.
                std::vector<std::string> plain(merge.begin(), merge.end() - 2);
                plain.insert(plain.end(), {"--force", "-q"});
                auto r = test::run_lessmore(plain);
                EXPECT_EQ(r.exit_code, 2) << r.err;
                EXPECT_NE(r.err.find("rerun it with --move"), std::string::npos) << r.err;
                r = test::run_lessmore(
                    {"reduce", (dir / "data").string(), "-o", out.string(), "-t", "6", "--force", "-q"});
                EXPECT_EQ(r.exit_code, 2) << r.err;
                EXPECT_NE(r.err.find("a merge --move into it was interrupted"), std::string::npos) << r.err;
            }
            // The rerun: with --force on odd seeds, without on even ones.
            std::vector<std::string> rerun = merge;
            if (seed % 2) rerun.push_back("--force");
            const auto r = test::run_lessmore(rerun);
            ASSERT_EQ(r.exit_code, 0) << "seed " << seed << " (killed at " << state << "): " << r.err;
            const std::string what = "seed " + std::to_string(seed) + ", killed at " + state;
            EXPECT_EQ(test::stable_manifest(test::read_json(out / "manifest.json")), ref) << what;
            EXPECT_EQ(test::read_file(out / "manifest.csv"), ref_csv) << what;
            // Every slice file exactly once: in OUT, with the reference's bytes, and in no shard.
            EXPECT_EQ(test::files_under(out / "slices"), ref_slices) << what;
            for (const std::string& f : ref_slices) {
                if (test::read_file(out / "slices" / f) != test::read_file(dir / "ref" / "slices" / f)) {
                    ADD_FAILURE() << what << ": " << f << " differs";
                    break;
                }
            }
            for (const auto& s : shards) EXPECT_EQ(file_count(test::fs::path(s) / "slices"), 0u) << what << ": " << s;
            for (const auto& f : test::files_under(out))
                EXPECT_EQ(f.find(".tmp-"), std::string::npos) << what << ": " << f;
            EXPECT_EQ(journal_state(out), "moved") << what;
            test::fs::remove_all(run);
            break;
        }
    }
    // The kills landed both while OUT was being built and while the shards were emptied.
    EXPECT_GT(landed["linking"] + landed["none"], 0) << "no kill before the commit";
    EXPECT_GT(landed["committed"], 0) << "no kill while shards were emptied";
}

}  // namespace
}  // namespace lessmore
