// The one volume walk: sharding partitions the sources, a failing source or volume is
// reported with its path while the others are visited, the memory budget refuses what
// can never fit, and an empty input says so.
#include "test_support.hpp"

#include <lessmore/error.hpp>

#include "pipeline/volume_walk.hpp"

#include <map>
#include <mutex>
#include <set>

namespace lessmore {
namespace {

class Recorder final : public ProgressSink {
public:
    void volume_failed(const std::string& path, const std::string& message) override {
        std::lock_guard<std::mutex> lock(m_mutex);
        failed[path] = message;
    }
    void sources_found(std::size_t sources, std::size_t) override { found = sources; }
    void source_done(const std::string&, std::size_t, std::size_t) override { ++done; }
    std::map<std::string, std::string> failed;
    std::size_t found = 0;
    std::atomic<std::size_t> done{0};

private:
    std::mutex m_mutex;
};

// A small dataset: two good volume files, one that is not a volume, and a DICOM folder.
test::fs::path dataset(const test::TempDir& dir) {
    const auto root = dir / "data";
    test::fs::create_directories(root / "sub");
    test::fs::copy_file(test::bundled_sample(), root / "good.nii.gz");
    test::fs::copy_file(test::bundled_sample(), root / "sub" / "also.nii.gz");
    test::write_file(root / "broken.nii.gz", "not a nifti file at all");
    test::copy_tree(test::dicom_fixtures() / "padded", root / "dicom");
    return root;
}

TEST(VolumeWalk, ShardsPartitionTheSourcesStably) {
    std::set<std::string> all;
    for (int i = 0; i < 200; ++i) all.insert("case" + std::to_string(i));
    std::multiset<std::string> seen;
    for (const std::string& id : all) {
        const int s = shard_of(id, 7);
        ASSERT_GE(s, 1);
        ASSERT_LE(s, 7);
        EXPECT_EQ(shard_of(id, 7), s);
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), all.size());
    // The same id falls in the same shard whatever else is in the dataset: a known value.
    EXPECT_EQ(shard_of("pancreas-ct-cb-001", 2), shard_of("pancreas-ct-cb-001", 2));
}

TEST(VolumeWalk, PlanTakesOneShardAndRecordsTheWhole) {
    test::TempDir dir;
    const auto root = dataset(dir);
    NullProgress quiet;
    const WalkPlan whole = plan_walk({{root.string()}, std::nullopt}, quiet);
    ASSERT_EQ(whole.all_sources, 4u);
    std::size_t sum = 0;
    for (int i = 1; i <= 3; ++i) {
        const WalkPlan part = plan_walk({{root.string()}, std::make_pair(i, 3)}, quiet);
        EXPECT_EQ(part.all_sources, 4u);
        EXPECT_EQ(part.all_sources_sha256, whole.all_sources_sha256);
        for (const Source& s : part.sources) EXPECT_EQ(shard_of(s.id, 3), i);
        sum += part.sources.size();
    }
    EXPECT_EQ(sum, 4u);
}

TEST(VolumeWalk, NoVolumesFoundIsAnErrorPerInput) {
    test::TempDir dir;
    test::write_file(dir / "empty" / "notes.txt", "nothing here");
    Recorder progress;
    const WalkPlan plan = plan_walk({{(dir / "empty").string()}, std::nullopt}, progress);
    ASSERT_EQ(plan.errors.size(), 1u);
    EXPECT_EQ(plan.errors[0].message, "no volumes found");
    EXPECT_EQ(progress.failed.count((dir / "empty").string()), 1u);
    // A shard may be empty without that being an error.
    EXPECT_TRUE(plan_walk({{(dir / "empty").string()}, std::make_pair(1, 2)}, progress).errors.empty());
}

TEST(VolumeWalk, FailuresAreReportedAndTheWalkGoesOn) {
    test::TempDir dir;
    const auto root = dataset(dir);
    Recorder progress;
    const WalkPlan plan = plan_walk({{root.string()}, std::nullopt}, progress);
    ThreadPool pool(2);
    CancelToken cancel;
    std::mutex mutex;
    std::set<std::string> visited;
    std::map<std::string, std::vector<InputFailure>> failures;
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t, Volume& v) {
        if (v.info().id == "sub/also.nii.gz") throw InputError("rejected by the command");
        std::lock_guard<std::mutex> lock(mutex);
        visited.insert(v.info().id);
        EXPECT_GT(v.slice_count(), 0u);
    };
    visitor.source_done = [&](std::size_t k, SourceOutcome outcome) {
        std::lock_guard<std::mutex> lock(mutex);
        failures[plan.sources[k].id] = std::move(outcome.failures);
    };
    VolumeWalk(LoadOptions{}, 0, pool, progress, cancel).run(all_sources(plan), visitor);
    EXPECT_EQ(visited, (std::set<std::string>{"dicom", "good.nii.gz"}));
    EXPECT_EQ(progress.found, 4u);
    EXPECT_EQ(progress.done.load(), 4u);
    ASSERT_EQ(failures["broken.nii.gz"].size(), 1u);
    EXPECT_EQ(failures["broken.nii.gz"][0].path, (root / "broken.nii.gz").string());
    ASSERT_EQ(failures["sub/also.nii.gz"].size(), 1u);
    EXPECT_EQ(failures["sub/also.nii.gz"][0].message, "rejected by the command");
    EXPECT_TRUE(failures["good.nii.gz"].empty());
    EXPECT_EQ(progress.failed.size(), 2u);
}

TEST(VolumeWalk, HeadersOnlyCarryNoVoxels) {
    test::TempDir dir;
    const auto root = dataset(dir);
    NullProgress quiet;
    const WalkPlan plan = plan_walk({{root.string()}, std::nullopt}, quiet);
    ThreadPool pool(1);
    CancelToken cancel;
    std::size_t slices = 0;
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t, Volume& v) {
        EXPECT_EQ(v.slice_count(), 0u);
        slices += v.info().slice_count();
    };
    VolumeWalk(LoadOptions{}, 0, pool, quiet, cancel).run(all_sources(plan), visitor, true);
    EXPECT_EQ(slices, 30u + 30u + 6u);
}

TEST(VolumeWalk, MemoryBudgetRefusesWhatCanNeverFit) {
    test::TempDir dir;
    const auto root = dataset(dir);
    Recorder progress;
    const WalkPlan plan = plan_walk({{root.string()}, std::nullopt}, progress);
    ThreadPool pool(2);
    CancelToken cancel;
    std::set<std::string> visited;
    std::mutex mutex;
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t, Volume& v) {
        std::lock_guard<std::mutex> lock(mutex);
        visited.insert(v.info().id);
    };
    // The sample holds 30 slices of 2-byte voxels; 1 KB fits none of the volume files but
    // the tiny DICOM series' files (64x64 int16, 6 slices: ~50 KB of files) do not fit either.
    VolumeWalk(LoadOptions{}, 1024, pool, progress, cancel).run(all_sources(plan), visitor);
    EXPECT_TRUE(visited.empty());
    ASSERT_EQ(progress.failed.count((root / "good.nii.gz").string()), 1u);
    EXPECT_NE(progress.failed[(root / "good.nii.gz").string()].find("more than --max-memory"), std::string::npos);
}

TEST(VolumeWalk, CancelStopsTheWalk) {
    test::TempDir dir;
    const auto root = dataset(dir);
    NullProgress quiet;
    const WalkPlan plan = plan_walk({{root.string()}, std::nullopt}, quiet);
    ThreadPool pool(1);
    CancelToken cancel;
    cancel.cancel();
    EXPECT_THROW(VolumeWalk(LoadOptions{}, 0, pool, quiet, cancel).run(all_sources(plan), WalkVisitor{}), Interrupted);
}

}  // namespace
}  // namespace lessmore
