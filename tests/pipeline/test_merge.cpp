// merge through the library: the shards of one run become what one run writes; anything
// wrong with a shard is refused before a single file is written.
#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/merge.hpp>
#include <lessmore/reduce.hpp>

#include "pipeline/output_store.hpp"

namespace lessmore {
namespace {

// Three volumes: the sample, a copy, and a DICOM series.
test::fs::path dataset(const test::TempDir& dir) {
    const auto root = dir / "data";
    test::fs::create_directories(root);
    test::fs::copy_file(test::bundled_sample(), root / "one.nii.gz");
    test::fs::copy_file(test::bundled_sample(), root / "two.nii.gz");
    test::copy_tree(test::dicom_fixtures() / "padded", root / "dicom");
    return root;
}

ReduceResult run_reduce(const test::fs::path& input, const test::fs::path& out,
                        std::optional<std::pair<int, int>> shard) {
    ReduceConfig c;
    c.inputs = {input.string()};
    c.output = out.string();
    c.metric.method = "hash";
    c.threshold = 6;
    c.shard = shard;
    NullProgress quiet;
    CancelToken cancel;
    return reduce(c, quiet, cancel);
}

nlohmann::json without_run(nlohmann::json m) { return test::stable_manifest(std::move(m)); }

TEST(Merge, ShardsMergeToTheUnshardedRun) {
    test::TempDir dir;
    const auto data = dataset(dir);
    run_reduce(data, dir / "whole", std::nullopt);
    run_reduce(data, dir / "s1", std::make_pair(1, 2));
    run_reduce(data, dir / "s2", std::make_pair(2, 2));
    MergeConfig m;
    m.shards = {(dir / "s2").string(), (dir / "s1").string()};
    m.output = (dir / "merged").string();
    NullProgress quiet;
    const ReduceResult r = merge(m, quiet);
    EXPECT_EQ(r.summary.volumes, 3u);
    EXPECT_EQ(without_run(test::read_json(dir / "merged" / "manifest.json")),
              without_run(test::read_json(dir / "whole" / "manifest.json")));
    EXPECT_EQ(test::read_file(dir / "merged" / "manifest.csv"), test::read_file(dir / "whole" / "manifest.csv"));
    const nlohmann::json merged =
        test::read_json(dir / "merged" / "manifest.json");  // named: the loop must not outlive it
    for (const auto& v : merged["volumes"])
        for (const auto& s : v["slices"]) {
            if (s["kept"] == true) {
                EXPECT_TRUE(test::fs::exists(dir / "merged" / s["output"].get<std::string>()));
            }
        }
}

void expect_refused(const MergeConfig& m, const std::string& fragment) {
    NullProgress quiet;
    try {
        merge(m, quiet);
        ADD_FAILURE() << "merged despite: " << fragment;
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
    EXPECT_FALSE(test::fs::exists(m.output)) << "merge wrote before refusing (" << fragment << ")";
}

TEST(Merge, RefusalsWriteNothing) {
    test::TempDir dir;
    const auto data = dataset(dir);
    run_reduce(data, dir / "s1", std::make_pair(1, 2));
    run_reduce(data, dir / "s2", std::make_pair(2, 2));
    run_reduce(data, dir / "whole", std::nullopt);
    MergeConfig m;
    m.output = (dir / "merged").string();
    m.shards = {(dir / "s1").string()};
    expect_refused(m, "shard 2/2 is missing");
    m.shards = {(dir / "s1").string(), (dir / "s1").string()};
    expect_refused(m, "are both 1/2");
    m.shards = {(dir / "s1").string(), (dir / "whole").string()};
    expect_refused(m, "not a shard");

    // A record that names an output outside slices/ (an absolute path, or ../) is refused,
    // and the file it names is left alone.
    test::write_file(dir / "victim.txt", "keep me");
    const OutputStore s2((dir / "s2").string());
    const auto run = s2.read_run();
    ASSERT_TRUE(run && run->shard && !run->shard->sources.empty());
    for (const std::string& bad : {(dir / "victim.txt").string(), std::string("slices/../../victim.txt")}) {
        test::TempDir copy;
        test::copy_tree(dir / "s2", copy / "s2");
        const OutputStore store((copy / "s2").string());
        for (const std::string& id : run->shard->sources) {
            auto record = store.read_record(id);
            ASSERT_TRUE(record);
            for (VolumeRecord& v : record->volumes)
                for (SliceRecord& s : v.slices)
                    if (s.kept) s.output = bad;
            store.write_record(*record);
        }
        m.shards = {(dir / "s1").string(), (copy / "s2").string()};
        m.move = true;
        expect_refused(m, "outside slices/");
        EXPECT_EQ(test::read_file(dir / "victim.txt"), "keep me");
    }
}

}  // namespace
}  // namespace lessmore
