// `lessmore split` end to end: a series copied under another patient stays in one split
// while a plain per-patient split would leak it (both checked here against the manifest's
// hashes, independently of lessmore's own check); the datalist and CSV agree and point at
// the slices; the same splits for any thread count, other splits for other seeds; the
// information floor; --scope dataset and DeepNet runs; usage errors and refused runs.
#include "test_support.hpp"

#include <bitset>
#include <map>
#include <random>
#include <sstream>

namespace lessmore {
namespace {

using nlohmann::json;
const char* const k_splits[] = {"training", "validation", "test"};

// A synthetic CT-like volume (int16) as in test_cli_scope.cpp: smooth anatomy changing
// along z, plus noise; `blank_first`: slice 0 is all zeros (padding).
void write_volume(const test::fs::path& p, int seed, int size, int slices, bool blank_first = false) {
    std::vector<std::int16_t> data(static_cast<std::size_t>(size) * size * slices);
    std::mt19937 rng(static_cast<unsigned>(seed));
    std::normal_distribution<double> noise(0, 8);
    const double fx = 0.05 + 0.01 * (seed % 7), fz = 0.02 + 0.005 * (seed % 5);
    for (int z = 0; z < slices; ++z)
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x)
                data[(static_cast<std::size_t>(z) * size + y) * size + x] =
                    blank_first && z == 0 ? 0
                                          : static_cast<std::int16_t>(300 * std::sin(fx * x + fz * z * z * 0.1) *
                                                                          std::cos(fx * y + 0.3 * seed) +
                                                                      40 * z + noise(rng));
    test::write_nifti(p, {size, size, slices}, 4,
                      std::string(reinterpret_cast<const char*>(data.data()), data.size() * 2));
}

// pat1: the real pancreas series; pat2: the same series exported again under another
// pseudonym (PatientID rewritten); pat3: the real head series; pat4: the real NIfTI CT.
void make_dataset(const test::fs::path& root) {
    const auto ct = test::ct_data();
    test::copy_tree(ct / "pancreas-ct-cb-001", root / "pat1" / "ct");
    test::fs::create_directories(root / "pat2" / "ct");
    for (const auto& e : test::fs::directory_iterator(ct / "pancreas-ct-cb-001")) {
        if (e.path().extension() != ".dcm") continue;
        test::write_file(root / "pat2" / "ct" / e.path().filename(),
                         test::with_dicom_string(test::read_file(e.path()), 0x0010, 0x0020, "ANON-0002"));
    }
    test::copy_tree(ct / "ge-head-tilt", root / "pat3" / "ct");
    test::fs::create_directories(root / "pat4");
    test::fs::copy_file(ct / "nifti" / "example_ct.nii.gz", root / "pat4" / "ct.nii.gz");
}

test::RunResult reduce(const test::fs::path& in, const test::fs::path& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"reduce", in.string(), "-o", out.string(), "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_lessmore(args);
}

test::RunResult split(const test::fs::path& run, const test::fs::path& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"split", run.string(), "-o", out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_lessmore(args);
}

// (volume id, slice index) -> the manifest's hash, as a number.
std::map<std::pair<std::string, std::size_t>, std::uint64_t> hashes(const json& manifest) {
    std::map<std::pair<std::string, std::size_t>, std::uint64_t> out;
    for (const auto& v : manifest["volumes"])
        for (const auto& s : v["slices"])
            out[{v["id"].get<std::string>(), s["index"].get<std::size_t>()}] =
                std::stoull(s["hash"].get<std::string>(), nullptr, 16);
    return out;
}

int distance(std::uint64_t a, std::uint64_t b) { return static_cast<int>(std::bitset<64>(a ^ b).count()); }

struct Entry {
    std::string split, image, volume, patient;
    std::size_t slice = 0, group = 0;
};

std::vector<Entry> entries(const json& j) {
    std::vector<Entry> out;
    for (const char* name : k_splits) {
        if (!j.contains(name)) continue;
        for (const auto& e : j[name])
            out.push_back({name, e["image"], e["volume"], e["patient"], e["slice"], e["group"]});
    }
    return out;
}

// Similar pairs (HASH, distance <= t) between entries in different splits, from the hashes.
std::size_t cross_split_pairs(const std::vector<Entry>& list, const json& manifest, int t) {
    const auto h = hashes(manifest);
    std::size_t n = 0;
    for (std::size_t i = 0; i < list.size(); ++i)
        for (std::size_t j = i + 1; j < list.size(); ++j)
            if (list[i].split != list[j].split &&
                distance(h.at({list[i].volume, list[i].slice}), h.at({list[j].volume, list[j].slice})) <= t)
                ++n;
    return n;
}

std::map<std::string, std::string> patient_of_volume(const std::vector<Entry>& list) {
    std::map<std::string, std::string> out;
    for (const Entry& e : list) out[e.volume] = e.patient;
    return out;
}

TEST(CliSplit, CopiedSeriesUnderAnotherPatientStaysInOneSplit) {
    test::TempDir dir;
    make_dataset(dir / "data");
    ASSERT_EQ(reduce(dir / "data", dir / "out", {"-t", "6"}).exit_code, 0);
    const auto r = split(dir / "out", dir / "splits.json", {"--fractions", "0.5,0.5"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json manifest = test::read_json(dir / "out" / "manifest.json");
    const json j = test::read_json(dir / "splits.json");
    const auto list = entries(j);
    ASSERT_FALSE(list.empty());
    // Every kept slice listed once, in one of the two splits; nothing excluded (no blank slices).
    std::size_t kept = 0;
    for (const auto& v : manifest["volumes"]) kept += v["kept"].get<std::size_t>();
    EXPECT_EQ(list.size(), kept);
    EXPECT_FALSE(j.contains("test"));
    EXPECT_TRUE(j["excluded"].empty());
    // The copies: both patients in one split, and one group.
    const auto patients = patient_of_volume(list);
    const std::string p1 = patients.at("pat1/ct"), p2 = patients.at("pat2/ct");
    EXPECT_NE(p1, p2) << "the copy carries another PatientID";
    std::set<std::string> copy_splits;
    for (const Entry& e : list)
        if (e.patient == p1 || e.patient == p2) copy_splits.insert(e.split);
    EXPECT_EQ(copy_splits.size(), 1u);
    // No similar pair across splits, counted here from the manifest's hashes.
    EXPECT_EQ(cross_split_pairs(list, manifest, 6), 0u);
    EXPECT_EQ(j["lessmore"]["cross_split_pairs"], 0);
    // A plain per-patient split could leak: pat1 and pat2 share identical slices ...
    const auto h = hashes(manifest);
    std::size_t shared = 0;
    for (const Entry& a : list)
        for (const Entry& b : list)
            if (a.patient == p1 && b.patient == p2 &&
                distance(h.at({a.volume, a.slice}), h.at({b.volume, b.slice})) == 0)
                ++shared;
    EXPECT_GT(shared, 0u);
    // ... and lessmore names that group, and counts what its plain split would put apart.
    ASSERT_EQ(j["lessmore"]["leaky_groups"].size(), 1u) << j["lessmore"].dump();
    EXPECT_EQ(j["lessmore"]["leaky_groups"][0]["patients"], json({std::min(p1, p2), std::max(p1, p2)}));
    EXPECT_GE(j["lessmore"]["leaky_groups"][0]["pairs"].get<std::size_t>(), shared);
    // A plain split by patient folder (pat1, pat3 to training; pat2, pat4 to validation)
    // leaks: similar pairs across its splits, counted from the hashes.
    std::vector<Entry> plain = list;
    for (Entry& e : plain) {
        const char folder = e.volume.at(3);
        e.split = folder == '1' || folder == '3' ? "training" : "validation";
    }
    EXPECT_GE(cross_split_pairs(plain, manifest, 6), shared);
    // lessmore's own per-patient dealing leaks too when it puts pat1 and pat2 apart (at
    // 0.7,0.3 it does: 24 + 4 slices to training, 10 + 4 to validation), and then counts at
    // least the identical pairs; its own split still has none across.
    bool apart = false;
    for (int seed = 0; seed < 16 && !apart; ++seed) {
        const auto s = split(dir / "out", dir / "seed.json",
                             {"--fractions", "0.7,0.3", "--force", "--seed", std::to_string(seed)});
        ASSERT_EQ(s.exit_code, 0) << s.err;
        const json k = test::read_json(dir / "seed.json");
        EXPECT_EQ(k["lessmore"]["cross_split_pairs"], 0);
        const auto pairs = k["lessmore"]["patient_split_pairs"].get<std::size_t>();
        apart = pairs >= shared;
        if (pairs == 0) continue;
        EXPECT_NE(s.out.find("it would put " + std::to_string(pairs) + " similar pairs across splits"),
                  std::string::npos)
            << s.out;
    }
    EXPECT_TRUE(apart) << "no seed put the copies apart in a plain per-patient split";
    EXPECT_EQ(j["lessmore"]["units"], 4);
    EXPECT_EQ(j["lessmore"]["groups"], 3);
    EXPECT_EQ(j["lessmore"]["largest_group"]["units"].size(), 2u);
    // stdout: per split units and slices, the largest group, the check.
    EXPECT_NE(r.out.find("training"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("largest group: 2 units"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("similar pairs across splits: 0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("groups a plain per-patient split could leak: 1"), std::string::npos) << r.out;
    // stdout's table: per split the units, groups and slices the datalist has.
    std::istringstream out(r.out);
    std::map<std::string, std::vector<std::size_t>> rows;
    for (std::string line; std::getline(out, line);) {
        std::istringstream fields(line);
        std::string name;
        std::size_t units = 0, groups = 0, slices = 0;
        if (fields >> name >> units >> groups >> slices) rows[name] = {units, groups, slices};
    }
    std::map<std::string, std::set<std::string>> units_in;
    std::map<std::string, std::size_t> slices_in;
    for (const auto& u : j["lessmore"]["assignment"]) units_in[u["split"]].insert(u["unit"]);
    for (const Entry& e : list) ++slices_in[e.split];
    for (const char* name : {"training", "validation"}) {
        ASSERT_EQ(rows.count(name), 1u) << r.out;
        EXPECT_EQ(rows[name][0], units_in[name].size()) << name;
        EXPECT_EQ(rows[name][2], slices_in[name]) << name;
        EXPECT_EQ(rows[name][2], j["lessmore"]["splits"][name]["slices"]) << name;
    }
    EXPECT_EQ(rows["total"], (std::vector<std::size_t>{4, 3, list.size()})) << r.out;
}

TEST(CliSplit, ByStudySeriesAndVolume) {
    // pat1/ct and pat2/ct are one DICOM series (same study and series UIDs) under two
    // patients; pat3/ct another series; pat4/ct.nii.gz has no UIDs and is its own unit.
    test::TempDir dir;
    make_dataset(dir / "data");
    ASSERT_EQ(reduce(dir / "data", dir / "out", {"-t", "6", "--format", "none"}).exit_code, 0);
    const json manifest = test::read_json(dir / "out" / "manifest.json");
    const std::vector<std::pair<std::string, std::size_t>> cases = {{"study", 3}, {"series", 3}, {"volume", 4}};
    for (const auto& [by, units] : cases) {
        const auto r = split(dir / "out", dir / (by + ".json"), {"--fractions", "0.4,0.3,0.3", "--by", by});
        ASSERT_EQ(r.exit_code, 0) << by << ": " << r.err;
        const json j = test::read_json(dir / (by + ".json"));
        EXPECT_EQ(j["lessmore"]["by"], by);
        EXPECT_EQ(j["lessmore"]["units"], units) << by;
        std::set<std::string> kinds;
        for (const auto& u : j["lessmore"]["assignment"]) {
            const std::string key = u["unit"];
            kinds.insert(key.substr(0, key.find(':')));
        }
        // DICOM volumes by their UIDs' digests, the NIfTI volume as a volume.
        EXPECT_EQ(kinds, (by == "volume" ? std::set<std::string>{"volume"} : std::set<std::string>{by, "volume"}))
            << by;
        EXPECT_EQ(j["lessmore"]["groups"], 3) << by << ": the copies are one group";
        const auto list = entries(j);
        std::set<std::string> copy_splits;
        for (const Entry& e : list)
            if (e.volume == "pat1/ct" || e.volume == "pat2/ct") copy_splits.insert(e.split);
        EXPECT_EQ(copy_splits.size(), 1u) << by;
        EXPECT_EQ(cross_split_pairs(list, manifest, 6), 0u) << by;
    }
}

TEST(CliSplit, DatalistCsvAndImagesAgree) {
    test::TempDir dir;
    make_dataset(dir / "data");
    ASSERT_EQ(reduce(dir / "data", dir / "out", {"-t", "6", "--format", "both"}).exit_code, 0);
    ASSERT_EQ(reduce(dir / "data", dir / "none", {"-t", "6", "--format", "none"}).exit_code, 0);
    test::fs::create_directories(dir / "lists");
    ASSERT_EQ(split(dir / "out", dir / "lists" / "s.json", {"--fractions", "0.8,0.1,0.1"}).exit_code, 0);
    ASSERT_EQ(split(dir / "none", dir / "lists" / "n.json", {"--fractions", "0.8,0.1,0.1"}).exit_code, 0);
    EXPECT_EQ(test::files_under(dir / "lists"), (std::set<std::string>{"s.json", "s.csv", "n.json", "n.csv"}))
        << "no temporaries left";
    const json manifest = test::read_json(dir / "out" / "manifest.json");
    std::map<std::pair<std::string, std::size_t>, std::string> png;
    for (const auto& v : manifest["volumes"])
        for (const auto& s : v["slices"])
            if (s["kept"] == true) png[{v["id"], s["index"]}] = s["output"];
    const auto list = entries(test::read_json(dir / "lists" / "s.json"));
    // The image: the PNG the run wrote, relative to the datalist's folder.
    for (const Entry& e : list) {
        EXPECT_EQ(test::fs::weakly_canonical(dir / "lists" / e.image),
                  test::fs::weakly_canonical(dir / "out" / png.at({e.volume, e.slice})));
        EXPECT_EQ(test::fs::path(e.image).extension(), ".png");
    }
    // The CSV: the same rows, in the same order.
    std::istringstream csv(test::read_file(dir / "lists" / "s.csv"));
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "split,image,volume,patient,slice,group");
    for (const Entry& e : list) {
        ASSERT_TRUE(std::getline(csv, line));
        EXPECT_EQ(line, e.split + "," + e.image + "," + e.volume + "," + e.patient + "," + std::to_string(e.slice) +
                            "," + std::to_string(e.group));
    }
    EXPECT_FALSE(std::getline(csv, line));
    // Without written slices the image is the source: the DICOM file, or the volume file.
    for (const Entry& e : entries(test::read_json(dir / "lists" / "n.json"))) {
        const auto image = dir / "lists" / e.image;
        EXPECT_TRUE(test::fs::is_regular_file(image)) << e.image;
        if (e.volume == "pat4/ct.nii.gz")
            EXPECT_EQ(image.filename(), "ct.nii.gz");
        else
            EXPECT_EQ(image.extension(), ".dcm") << e.image;
    }
}

TEST(CliSplit, SameSplitsForAnyThreadCountOtherSplitsForOtherSeeds) {
    test::TempDir dir;
    for (int p = 0; p < 12; ++p)
        write_volume(dir / "data" / ("p" + std::to_string(p)) / "ct.nii", 10 + p, 48, 12 + p % 4);
    ASSERT_EQ(reduce(dir / "data", dir / "out", {"-t", "6"}).exit_code, 0);
    auto run = [&](const std::string& name, std::vector<std::string> extra) {
        extra.insert(extra.end(), {"--fractions", "0.6,0.2,0.2"});
        const auto r = split(dir / "out", dir / (name + ".json"), extra);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return test::read_file(dir / (name + ".json")) + test::read_file(dir / (name + ".csv"));
    };
    const std::string one = run("j1", {"-j", "1", "--seed", "7"});
    EXPECT_EQ(run("j2", {"-j", "2", "--seed", "7"}), one);
    EXPECT_EQ(run("j2b", {"-j", "2", "--seed", "7"}), one);
    std::set<std::string> assignments;
    for (int seed = 0; seed < 4; ++seed) {
        run("s" + std::to_string(seed), {"--seed", std::to_string(seed)});
        assignments.insert(
            test::read_json(dir / ("s" + std::to_string(seed) + ".json"))["lessmore"]["assignment"].dump());
    }
    EXPECT_GT(assignments.size(), 1u) << "the seed changes the order groups of similar size are dealt in";
    // Each split near its fraction of the kept slices: within the largest group.
    const json j = test::read_json(dir / "j1.json");
    std::size_t total = 0, largest = j["lessmore"]["largest_group"]["slices"];
    for (const char* s : k_splits) total += j[s].size();
    const double fractions[] = {0.6, 0.2, 0.2};
    for (int k = 0; k < 3; ++k)
        EXPECT_LE(std::fabs(static_cast<double>(j[k_splits[k]].size()) - fractions[k] * total), largest) << k;
}

TEST(CliSplit, BlankSlicesTieNothingAndAreLeftOut) {
    test::TempDir dir;
    write_volume(dir / "data" / "a" / "ct.nii", 21, 48, 12, true);
    write_volume(dir / "data" / "b" / "ct.nii", 33, 48, 12, true);
    ASSERT_EQ(reduce(dir / "data", dir / "out", {"-t", "6"}).exit_code, 0);
    const json manifest = test::read_json(dir / "out" / "manifest.json");
    const auto h = hashes(manifest);
    ASSERT_EQ(h.at({"a/ct.nii", 0}), 0u);  // a blank slice's dhash
    ASSERT_EQ(h.at({"b/ct.nii", 0}), 0u);
    const auto with_floor = split(dir / "out", dir / "f.json", {"--fractions", "0.5,0.5"});
    ASSERT_EQ(with_floor.exit_code, 0) << with_floor.err;
    const json f = test::read_json(dir / "f.json");
    EXPECT_EQ(f["lessmore"]["groups"], 2);
    EXPECT_EQ(f["lessmore"]["excluded"], 2);
    ASSERT_EQ(f["excluded"].size(), 2u);
    for (const auto& e : f["excluded"]) EXPECT_EQ(e["slice"], 0);
    for (const Entry& e : entries(f)) EXPECT_NE(e.slice, 0u);
    EXPECT_NE(with_floor.out.find("below the information floor (similar to an empty slice at 6): 2 slices"),
              std::string::npos)
        << with_floor.out;
    // Without the floor the two blank slices tie the unrelated patients together.
    ASSERT_EQ(split(dir / "out", dir / "n.json", {"--fractions", "0.5,0.5", "--floor", "none"}).exit_code, 0);
    const json n = test::read_json(dir / "n.json");
    EXPECT_EQ(n["lessmore"]["groups"], 1);
    EXPECT_TRUE(n["excluded"].empty());
    EXPECT_TRUE(n["lessmore"]["floor"].is_null());
    EXPECT_EQ(entries(n).size(), entries(f).size() + 2);
}

TEST(CliSplit, ScopeDatasetAndDeepNetRuns) {
    test::TempDir dir;
    write_volume(dir / "data" / "p1" / "ct.nii", 1, 64, 16);
    write_volume(dir / "data" / "p2" / "ct.nii", 1, 64, 16);  // a copy under another patient
    write_volume(dir / "data" / "p3" / "ct.nii", 4, 64, 16);
    for (const auto& [name, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"hash", {"-t", "6", "--scope", "dataset"}},
             {"deepnet", {"-m", "deepnet", "-t", "0.98", "--scope", "dataset", "--format", "none"}}}) {
        ASSERT_EQ(reduce(dir / "data", dir / name, args).exit_code, 0) << name;
        const auto r = split(dir / name, dir / (name + ".json"), {"--fractions", "0.5,0.5"});
        ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
        const json j = test::read_json(dir / (name + ".json"));
        // The copy kept nothing after the run's pass, yet its unit is tied to p1's.
        std::map<std::string, json> unit;
        for (const auto& u : j["lessmore"]["assignment"]) unit[u["unit"]] = u;
        EXPECT_EQ(unit.at("folder:p1")["group"], unit.at("folder:p2")["group"]) << name;
        EXPECT_EQ(unit.at("folder:p1")["split"], unit.at("folder:p2")["split"]) << name;
        EXPECT_NE(unit.at("folder:p1")["group"], unit.at("folder:p3")["group"]) << name;
        for (const Entry& e : entries(j)) EXPECT_NE(e.patient, "folder:p2") << name;
        ASSERT_EQ(j["lessmore"]["leaky_groups"].size(), 1u) << name;
        EXPECT_EQ(j["lessmore"]["method"], name);
    }
}

TEST(CliSplit, UsageErrorsNameTheOptionAndWriteNothing) {
    test::TempDir dir;
    write_volume(dir / "data" / "a" / "ct.nii", 1, 32, 6);
    write_volume(dir / "data" / "b" / "ct.nii", 2, 32, 6);
    ASSERT_EQ(reduce(dir / "data", dir / "out", {"-t", "6"}).exit_code, 0);
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--fractions", "0.5,0.4"}, "--fractions: they sum to 0.9, not 1"},
        {{"--fractions", "1.2,-0.2"}, "--fractions: -0.2 is not a fraction above 0"},
        {{"--fractions", "1"}, "--fractions"},
        {{"--fractions", "0.4,0.3,0.2,0.1"}, "--fractions"},
        {{"--fractions", "0.5,0.5", "--threshold", "70"}, "--threshold"},
        {{"--fractions", "0.5,0.5", "--floor", "-1"}, "--floor"},
        {{"--fractions", "0.5,0.5", "--floor", "blank"}, "--floor"},
        {{"--fractions", "0.5,0.5", "--by", "site"}, "--by"},
        {{"--fractions", "0.5,0.5", "--seed", "x"}, "--seed"},
        {{"--fractions", "0.5,0.5", "--seed", "-3"}, "--seed"},
    };
    for (const auto& [args, message] : cases) {
        const auto r = split(dir / "out", dir / "s.json", args);
        EXPECT_EQ(r.exit_code, 2) << message;
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
        EXPECT_FALSE(test::fs::exists(dir / "s.json")) << message;
        EXPECT_FALSE(test::fs::exists(dir / "s.csv")) << message;
    }
    // Outputs: a .json name, not the run's own files, not replaced without --force.
    auto r = split(dir / "out", dir / "s.txt", {"--fractions", "0.5,0.5"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("does not end in .json"), std::string::npos) << r.err;
    r = split(dir / "out", dir / "out" / "manifest.json", {"--fractions", "0.5,0.5", "--force"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("the run's own files"), std::string::npos) << r.err;
    test::write_file(dir / "s.csv", "keep me");
    r = split(dir / "out", dir / "s.json", {"--fractions", "0.5,0.5"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("exists (use --force"), std::string::npos) << r.err;
    EXPECT_EQ(test::read_file(dir / "s.csv"), "keep me");
    // Atomic: a split refused with --force leaves the files as they were.
    test::write_file(dir / "s.json", "keep me too");
    r = split(dir / "out", dir / "s.json", {"--fractions", "0.5,0.5", "--force", "-t", "70"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(test::read_file(dir / "s.json"), "keep me too");
    EXPECT_EQ(test::read_file(dir / "s.csv"), "keep me");
    EXPECT_EQ(split(dir / "out", dir / "s.json", {"--fractions", "0.5,0.5", "--force"}).exit_code, 0);
    EXPECT_NE(test::read_file(dir / "s.csv"), "keep me");
    EXPECT_NO_THROW(test::read_json(dir / "s.json"));
    std::set<std::string> top;
    for (const auto& e : test::fs::directory_iterator(dir.path()))
        if (e.is_regular_file()) top.insert(e.path().filename().string());
    EXPECT_EQ(top, (std::set<std::string>{"s.json", "s.csv"})) << "no temporaries left";
}

TEST(CliSplit, RunsThatCannotBeSplitAreRefused) {
    test::TempDir dir;
    write_volume(dir / "data" / "a" / "ct.nii", 1, 32, 6);
    write_volume(dir / "data" / "b" / "ct.nii", 2, 32, 6);
    ASSERT_EQ(reduce(dir / "data", dir / "unfinished", {"-t", "6"}).exit_code, 0);
    test::fs::remove(dir / "unfinished" / "manifest.json");
    ASSERT_EQ(reduce(dir / "data", dir / "shard", {"-t", "6", "--shard", "1/2"}).exit_code, 0);
    ASSERT_EQ(reduce(dir / "data", dir / "everyn", {"-m", "everyn", "--every", "2"}).exit_code, 0);
    ASSERT_EQ(reduce(dir / "data", dir / "ssim", {"-m", "ssim", "-t", "0.9"}).exit_code, 0);
    ASSERT_EQ(reduce(dir / "data", dir / "pairs", {"-f", "0.5"}).exit_code, 0);
    ASSERT_EQ(reduce(dir / "data", dir / "deep", {"-m", "deepnet", "-t", "0.98", "--format", "none"}).exit_code, 0);
    test::fs::create_directories(dir / "empty");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"missing", "no such folder"},
        {"empty", "not a finished lessmore run"},
        {"unfinished", "not a finished lessmore run"},
        {"shard", "merge the shards first"},
        {"everyn", "--method everyn"},
        {"ssim", "no cross-volume index"},
        {"pairs", "--threshold: the run was made with --fraction"},
        {"deep", "reduce with --scope dataset"},
    };
    for (const auto& [run, message] : cases) {
        const auto r = split(dir / run, dir / "s.json", {"--fractions", "0.5,0.5"});
        EXPECT_EQ(r.exit_code, 2) << run;
        EXPECT_NE(r.err.find(message), std::string::npos) << run << ": " << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
        EXPECT_FALSE(test::fs::exists(dir / "s.json")) << run;
    }
    // A --fraction run splits with a threshold given.
    EXPECT_EQ(split(dir / "pairs", dir / "s.json", {"--fractions", "0.5,0.5", "-t", "6"}).exit_code, 0);
}

}  // namespace
}  // namespace lessmore
