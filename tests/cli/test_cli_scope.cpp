// --scope patient|dataset end to end: copies, re-windowed and re-noised volumes found
// across a dataset; the same result for any thread count, with shards and merge, and
// after --resume; patient groups by tag and by folder; `lessmore compare`.
#include "test_support.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace lessmore {
namespace {

using nlohmann::json;

// A synthetic CT-like volume (int16): smooth anatomy that changes along z, plus noise.
std::vector<std::int16_t> volume_values(int seed, int size = 96, int slices = 40) {
    std::vector<std::int16_t> data(static_cast<std::size_t>(size) * size * slices);
    std::mt19937 rng(static_cast<unsigned>(seed));
    std::normal_distribution<double> noise(0, 8);
    const double fx = 0.05 + 0.01 * (seed % 7), fz = 0.02 + 0.005 * (seed % 5);
    for (int z = 0; z < slices; ++z)
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x)
                data[(static_cast<std::size_t>(z) * size + y) * size + x] = static_cast<std::int16_t>(
                    300 * std::sin(fx * x + fz * z * z * 0.1) * std::cos(fx * y + 0.3 * seed) + 40 * z + noise(rng));
    return data;
}

void write_volume(const test::fs::path& p, const std::vector<std::int16_t>& v, int size = 96, int slices = 40) {
    test::write_nifti(p, {size, size, slices}, 4, std::string(reinterpret_cast<const char*>(v.data()), v.size() * 2));
}

// a: a volume; b: an exact copy; c: re-windowed (2x + 100); d: re-noised (+-3); e: another volume.
void make_copies(const test::fs::path& root) {
    const auto a = volume_values(1);
    write_volume(root / "a.nii", a);
    write_volume(root / "b.nii", a);
    auto c = a;
    for (auto& x : c) x = static_cast<std::int16_t>(2 * x + 100);
    write_volume(root / "c.nii", c);
    auto d = a;
    std::mt19937 rng(5);
    for (auto& x : d) x = static_cast<std::int16_t>(x + static_cast<int>(rng() % 7) - 3);
    write_volume(root / "d.nii", d);
    write_volume(root / "e.nii", volume_values(2));
}

std::map<std::string, json> by_id(const json& m) {
    std::map<std::string, json> out;
    for (const auto& v : m["volumes"]) out[v["id"].get<std::string>()] = v;
    return out;
}

test::RunResult reduce(const test::fs::path& in, const test::fs::path& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"reduce", in.string(), "-o", out.string(), "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_lessmore(args);
}

TEST(CliScope, DatasetScopeRemovesCopiesReWindowedAndReNoisedVolumes) {
    test::TempDir dir;
    make_copies(dir / "data");
    ASSERT_EQ(reduce(dir / "data", dir / "volume", {"-t", "6"}).exit_code, 0);
    const auto r = reduce(dir / "data", dir / "dataset", {"-t", "6", "--scope", "dataset"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json mv = test::read_json(dir / "volume" / "manifest.json");
    const json md = test::read_json(dir / "dataset" / "manifest.json");
    auto vol = by_id(mv), ds = by_id(md);
    for (const char* id : {"a.nii", "b.nii", "c.nii", "d.nii", "e.nii"}) EXPECT_GT(vol[id]["kept"].get<int>(), 2) << id;
    // The first volume and the unrelated one keep what they kept on their own.
    EXPECT_EQ(ds["a.nii"]["slices"], vol["a.nii"]["slices"]);
    EXPECT_EQ(ds["e.nii"]["kept"], vol["e.nii"]["kept"]);
    // The exact copy and the re-windowed copy lose every kept slice to a.nii, distance 0.
    for (const char* id : {"b.nii", "c.nii"}) {
        EXPECT_EQ(ds[id]["kept"], 0) << id;
        for (const auto& s : ds[id]["slices"]) {
            if (vol[id]["slices"][s["index"].get<std::size_t>()]["kept"] != true) continue;
            EXPECT_EQ(s["match_volume"], "a.nii") << id;
            EXPECT_EQ(s["score"], 0) << id;
            EXPECT_TRUE(s["output"].is_null());
        }
    }
    EXPECT_LE(ds["d.nii"]["kept"].get<int>(), vol["d.nii"]["kept"].get<int>() / 10);
    // Every duplicate named, of a.nii; the summary counts what went.
    std::map<std::string, std::string> dup;
    for (const auto& d : md["duplicates"]) dup[d["volume"].get<std::string>()] = d["of"].get<std::string>();
    EXPECT_EQ(dup, (std::map<std::string, std::string>{{"b.nii", "a.nii"}, {"c.nii", "a.nii"}, {"d.nii", "a.nii"}}));
    const int removed = mv["summary"]["kept"].get<int>() - md["summary"]["kept"].get<int>();
    EXPECT_EQ(md["summary"]["removed_across_volumes"], removed);
    EXPECT_EQ(md["parameters"]["scope"], "dataset");
    // Files: exactly the kept slices.
    std::set<std::string> expected;
    for (const auto& v : md["volumes"])
        for (const auto& s : v["slices"])
            if (s["kept"] == true) expected.insert(s["output"].get<std::string>());
    std::set<std::string> files;
    for (const std::string& f : test::files_under(dir / "dataset" / "slices")) files.insert("slices/" + f);
    EXPECT_EQ(files, expected);
    // stdout names the duplicates; the CSV has the match's volume.
    EXPECT_NE(r.out.find("b.nii duplicates a.nii"), std::string::npos) << r.out;
    EXPECT_NE(test::read_file(dir / "dataset" / "manifest.csv").find("\nb.nii,0,,"), std::string::npos);
}

TEST(CliScope, SameResultForAnyThreadCountShardingAndResume) {
    test::TempDir dir;
    make_copies(dir / "data");
    write_volume(dir / "data" / "f" / "x.nii", volume_values(2));  // a copy of e.nii in a sub-folder
    write_volume(dir / "data" / "f" / "y.nii", volume_values(3));
    const std::vector<std::string> params = {"-t", "6", "--scope", "dataset", "--format", "png"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> all = params;
        all.insert(all.end(), extra.begin(), extra.end());
        return all;
    };
    ASSERT_EQ(reduce(dir / "data", dir / "one", with({"-j", "1"})).exit_code, 0);
    ASSERT_EQ(reduce(dir / "data", dir / "two", with({"-j", "2"})).exit_code, 0);
    const json ref = test::stable_manifest(test::read_json(dir / "one" / "manifest.json"));
    EXPECT_EQ(test::stable_manifest(test::read_json(dir / "two" / "manifest.json")), ref);
    EXPECT_GT(ref["summary"]["removed_across_volumes"].get<int>(), 0);

    std::vector<std::string> shards;
    for (int i = 1; i <= 3; ++i) {
        const auto out = dir / ("shard-" + std::to_string(i));
        const auto r = reduce(dir / "data", out, with({"--shard", std::to_string(i) + "/3", "-j", "1"}));
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_TRUE(test::read_json(out / "manifest.json").contains("duplicates") == false);  // the pass is merge's
        shards.push_back(out.string());
    }
    std::vector<std::string> merge = {"merge"};
    merge.insert(merge.end(), shards.begin(), shards.end());
    merge.insert(merge.end(), {"-o", (dir / "merged").string(), "-q"});
    ASSERT_EQ(test::run_lessmore(merge).exit_code, 0);
    json merged = test::stable_manifest(test::read_json(dir / "merged" / "manifest.json"));
    merged.erase("shard");
    EXPECT_EQ(merged, ref);
    EXPECT_EQ(test::files_under(dir / "merged" / "slices"), test::files_under(dir / "one" / "slices"));
    EXPECT_EQ(test::run_lessmore({"compare", (dir / "one").string(), (dir / "merged").string()}).exit_code, 0);

    // A finished run resumed: the same pass, the same files.
    ASSERT_EQ(reduce(dir / "data", dir / "one", with({"-j", "1", "--resume"})).exit_code, 0);
    EXPECT_EQ(test::stable_manifest(test::read_json(dir / "one" / "manifest.json")), ref);
    EXPECT_EQ(test::files_under(dir / "one" / "slices"), test::files_under(dir / "two" / "slices"));
}

TEST(CliScope, PatientGroupsByPatientIdThenByFolder) {
    test::TempDir dir;
    const auto a = volume_values(1);
    write_volume(dir / "data" / "p1" / "a.nii", a);
    write_volume(dir / "data" / "p1" / "b.nii", a);
    write_volume(dir / "data" / "p2" / "c.nii", a);
    // One patient's series under two folders: the PatientID groups them.
    const auto copies = test::source_dir() / "tests" / "data" / "readers" / "copies";
    test::copy_tree(copies / "a", dir / "data" / "x" / "ct");
    test::copy_tree(copies / "b", dir / "data" / "y" / "ct");
    const auto r = reduce(dir / "data", dir / "out", {"-t", "6", "--scope", "patient"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    auto v = by_id(m);
    EXPECT_EQ(v["p1/a.nii"]["group"], "folder:p1");
    EXPECT_EQ(v["p2/c.nii"]["group"], "folder:p2");
    EXPECT_GT(v["p1/a.nii"]["kept"].get<int>(), 0);
    EXPECT_EQ(v["p1/b.nii"]["kept"], 0);
    EXPECT_GT(v["p2/c.nii"]["kept"].get<int>(), 0) << "another patient's volume is not compared";
    const std::string group = v["x/ct"]["group"];
    EXPECT_EQ(group.rfind("patient:", 0), 0u) << group;
    EXPECT_EQ(v["y/ct"]["group"], group);
    EXPECT_EQ(v["y/ct"]["kept"], 0);
    EXPECT_EQ(test::read_file(dir / "out" / "manifest.json").find("Pancreas-CT-CB_001"), std::string::npos)
        << "the PatientID itself must not appear";

    // Two folder levels: p1/s1 and p1/s2 are different groups.
    write_volume(dir / "deep" / "p1" / "s1" / "a.nii", a);
    write_volume(dir / "deep" / "p1" / "s2" / "b.nii", a);
    ASSERT_EQ(reduce(dir / "deep", dir / "d1", {"-t", "6", "--scope", "patient"}).exit_code, 0);
    ASSERT_EQ(reduce(dir / "deep", dir / "d2", {"-t", "6", "--scope", "patient", "--patient-depth", "2"}).exit_code, 0);
    EXPECT_EQ(by_id(test::read_json(dir / "d1" / "manifest.json"))["p1/s2/b.nii"]["kept"], 0);
    EXPECT_GT(by_id(test::read_json(dir / "d2" / "manifest.json"))["p1/s2/b.nii"]["kept"].get<int>(), 0);
}

TEST(CliScope, DeepNetFindsTheCopies) {
    test::TempDir dir;
    const auto a = volume_values(1, 64, 16);
    write_volume(dir / "data" / "a.nii", a, 64, 16);
    write_volume(dir / "data" / "b.nii", a, 64, 16);
    write_volume(dir / "data" / "e.nii", volume_values(4, 64, 16), 64, 16);
    const auto r =
        reduce(dir / "data", dir / "out", {"-m", "deepnet", "-t", "0.98", "--scope", "dataset", "--format", "none"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto v = by_id(test::read_json(dir / "out" / "manifest.json"));
    EXPECT_GT(v["a.nii"]["kept"].get<int>(), 0);
    EXPECT_EQ(v["b.nii"]["kept"], 0);
    for (const auto& s : v["b.nii"]["slices"]) {
        if (s["match_volume"].is_string()) {
            EXPECT_GE(s["score"].get<double>(), 0.98);
        }
    }
}

TEST(CliScope, UsageErrorsNameTheOption) {
    test::TempDir dir;
    write_volume(dir / "data" / "a.nii", volume_values(1, 32, 4), 32, 4);
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"-m", "ssim", "-t", "0.9", "--scope", "dataset"}, "--scope dataset: not offered for --method ssim"},
        {{"-m", "everyn", "--every", "2", "--scope", "patient"}, "--scope patient: --method everyn"},
        {{"-f", "0.5", "--scope", "dataset"}, "--scope-threshold"},
        {{"-t", "6", "--scope-threshold", "4"}, "--scope-threshold: only with --scope"},
        {{"-t", "6", "--patient-depth", "0"}, "--patient-depth: must be at least 1"},  // any scope: the manifest's keys
        {{"-t", "6", "--scope", "dataset", "--duplicate-fraction", "0"}, "--duplicate-fraction"},
        {{"-t", "6", "--scope", "dataset", "--scope-threshold", "99"}, "--scope-threshold"},
        {{"-t", "6", "--scope", "galaxy"}, "--scope"},
    };
    int k = 0;
    for (const auto& [args, message] : cases) {
        const auto out = dir / ("out" + std::to_string(k++));
        const auto r = reduce(dir / "data", out, args);
        EXPECT_EQ(r.exit_code, 2) << message;
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
        EXPECT_FALSE(test::fs::exists(out)) << message;
    }
    // --fraction with a threshold for the pass works.
    EXPECT_EQ(reduce(dir / "data", dir / "ok", {"-f", "0.5", "--scope", "dataset", "--scope-threshold", "6"}).exit_code,
              0);
}

TEST(CliCompare, CountsDecisionsAndExitsLikeCmp) {
    test::TempDir dir;
    make_copies(dir / "data");
    ASSERT_EQ(reduce(dir / "data", dir / "a", {"-t", "6", "-j", "1"}).exit_code, 0);
    ASSERT_EQ(reduce(dir / "data", dir / "a2", {"-t", "6", "-j", "2", "--format", "none"}).exit_code, 0);
    ASSERT_EQ(reduce(dir / "data", dir / "b", {"-t", "6", "--scope", "dataset"}).exit_code, 0);
    // Same decisions (other threads, other outputs): identical.
    auto r = test::run_lessmore({"compare", (dir / "a").string(), (dir / "a2").string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("decisions: identical"), std::string::npos) << r.out;

    r = test::run_lessmore({"compare", (dir / "a").string(), (dir / "b").string(), "--json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json j = json::parse(r.out);
    const json ma = test::read_json(dir / "a" / "manifest.json"), mb = test::read_json(dir / "b" / "manifest.json");
    EXPECT_EQ(j["total"]["kept_a"], ma["summary"]["kept"]);
    EXPECT_EQ(j["total"]["kept_b"], mb["summary"]["kept"]);
    EXPECT_EQ(j["total"]["both"], mb["summary"]["kept"]);  // B keeps a subset of A
    EXPECT_EQ(j["total"]["only_a"], mb["summary"]["removed_across_volumes"]);
    EXPECT_EQ(j["total"]["only_b"], 0);
    EXPECT_EQ(j["changed_slices"], mb["summary"]["removed_across_volumes"]);
    for (const auto& v : j["volumes"]) {
        if (v["id"] == "b.nii") {
            EXPECT_EQ(v["overlap"], 0.0);
        } else if (v["id"] == "a.nii") {
            EXPECT_EQ(v["overlap"], 1.0);
        }
    }
    // A tolerance that covers the change: exit 0.
    const double f = j["changed_fraction"];
    EXPECT_EQ(test::run_lessmore(
                  {"compare", (dir / "a").string(), (dir / "b").string(), "--max-changed", std::to_string(f + 0.001)})
                  .exit_code,
              0);
    EXPECT_EQ(test::run_lessmore(
                  {"compare", (dir / "a").string(), (dir / "b").string(), "--max-changed", std::to_string(f / 2)})
                  .exit_code,
              1);
    // A volume in one run only differs.
    write_volume(dir / "data" / "z.nii", volume_values(9));
    ASSERT_EQ(reduce(dir / "data", dir / "c", {"-t", "6"}).exit_code, 0);
    r = test::run_lessmore({"compare", (dir / "a").string(), (dir / "c").string(), "--json"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(json::parse(r.out)["only_in_b"], json::array({"z.nii"}));
    // Usage: exit 2, naming the folder or option.
    r = test::run_lessmore({"compare", (dir / "a").string(), (dir / "nothing").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("nothing"), std::string::npos);
    test::fs::create_directories(dir / "empty");
    EXPECT_EQ(test::run_lessmore({"compare", (dir / "a").string(), (dir / "empty").string()}).exit_code, 2);
    test::write_file(dir / "fake" / "manifest.json", "{\"tool\": \"other\"}");
    EXPECT_EQ(test::run_lessmore({"compare", (dir / "a").string(), (dir / "fake").string()}).exit_code, 2);
    EXPECT_EQ(
        test::run_lessmore({"compare", (dir / "a").string(), (dir / "b").string(), "--max-changed", "2"}).exit_code, 2);
    EXPECT_EQ(test::run_lessmore({"compare", (dir / "a").string()}).exit_code, 2);
}

// A damaged manifest is refused with one line naming it (exit 2), never nlohmann's
// message as an "internal error" (exit 1).
TEST(CliCompare, DamagedManifestIsRefusedNamingIt) {
    test::TempDir dir;
    test::write_file(dir / "tool" / "manifest.json", "{\"tool\": [], \"volumes\": []}");
    const auto r = test::run_lessmore({"compare", (dir / "tool").string(), (dir / "tool").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("manifest.json: not a lessmore manifest"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    // A slice index past the slices listed (lessmore lists them all): refused before any
    // memory is sized by it.
    test::write_file(dir / "index" / "manifest.json",
                     "{\"tool\": \"lessmore\", \"volumes\": [{\"id\": \"v\", \"kept\": 1, \"slices\": [{\"index\": "
                     "99999999, \"kept\": true}]}]}");
    const auto s = test::run_lessmore({"compare", (dir / "index").string(), (dir / "index").string()});
    EXPECT_EQ(s.exit_code, 2);
    EXPECT_NE(s.err.find("volume 'v': slice 0: field 'index' is 99999999"), std::string::npos) << s.err;
}

}  // namespace
}  // namespace lessmore
