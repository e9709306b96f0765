// compare_runs (include/lessmore/compare.hpp) on hand-made manifests: the counts per volume
// and in total, volumes in one run only, a volume whose slice count changed, the tolerance,
// and refusals — the arithmetic docs/usage.md ("compare") states.
#include "test_support.hpp"

#include <lessmore/compare.hpp>
#include <lessmore/error.hpp>

namespace lessmore {
namespace {

using nlohmann::json;

// A finished run's OUT holding just a manifest: volume id -> kept flags per slice.
void write_run(const test::fs::path& out, const std::vector<std::pair<std::string, std::vector<bool>>>& volumes) {
    json m = {{"tool", "lessmore"}, {"version", "0.1.0"}, {"volumes", json::array()}};
    for (const auto& [id, kept] : volumes) {
        json v = {{"id", id}, {"kept", std::count(kept.begin(), kept.end(), true)}, {"slices", json::array()}};
        for (std::size_t i = 0; i < kept.size(); ++i) v["slices"].push_back({{"index", i}, {"kept", kept[i]}});
        m["volumes"].push_back(v);
    }
    test::write_file(out / "manifest.json", m.dump());
}

CompareResult compare(const test::fs::path& a, const test::fs::path& b, std::optional<double> max_changed = {}) {
    CompareConfig c;
    c.a = a.string();
    c.b = b.string();
    c.max_changed = max_changed;
    return compare_runs(c);
}

TEST(Compare, IdenticalDecisionsAreIdentical) {
    test::TempDir dir;
    write_run(dir / "a", {{"v", {true, false, true}}, {"w", {true}}});
    write_run(dir / "b", {{"w", {true}}, {"v", {true, false, true}}});  // order does not matter
    const CompareResult r = compare(dir / "a", dir / "b");
    EXPECT_TRUE(r.identical);
    EXPECT_TRUE(r.within_tolerance);
    EXPECT_EQ(r.changed, 0u);
    EXPECT_EQ(r.total.slices, 4u);
    EXPECT_EQ(r.total.both, 3u);
    EXPECT_DOUBLE_EQ(r.total.overlap, 1.0);
}

TEST(Compare, CountsPerVolumeAndInTotal) {
    test::TempDir dir;
    write_run(dir / "a", {{"v", {true, true, false, false, true}}});
    write_run(dir / "b", {{"v", {true, false, true, false, false}}});
    const CompareResult r = compare(dir / "a", dir / "b");
    ASSERT_EQ(r.volumes.size(), 1u);
    const VolumeComparison& v = r.volumes[0];
    EXPECT_EQ(v.kept_a, 3u);
    EXPECT_EQ(v.kept_b, 2u);
    EXPECT_EQ(v.both, 1u);
    EXPECT_EQ(v.only_a, 2u);
    EXPECT_EQ(v.only_b, 1u);
    EXPECT_DOUBLE_EQ(v.overlap, 1.0 / 3.0);  // both / max(kept)
    EXPECT_EQ(r.changed, 3u);
    EXPECT_DOUBLE_EQ(r.changed_fraction, 3.0 / 5.0);
    EXPECT_FALSE(r.identical);
    EXPECT_FALSE(r.within_tolerance);
    EXPECT_TRUE(compare(dir / "a", dir / "b", 0.6).within_tolerance);
    EXPECT_FALSE(compare(dir / "a", dir / "b", 0.59).within_tolerance);
}

TEST(Compare, VolumesInOneRunAndChangedSliceCountsCountWhole) {
    test::TempDir dir;
    write_run(dir / "a", {{"same", {true, false}}, {"grown", {true, false}}, {"only-a", {true, false, false}}});
    write_run(dir / "b", {{"same", {true, false}}, {"grown", {true, false, false}}, {"only-b", {false, true}}});
    const CompareResult r = compare(dir / "a", dir / "b");
    EXPECT_EQ(r.only_in_a, std::vector<std::string>{"only-a"});
    EXPECT_EQ(r.only_in_b, std::vector<std::string>{"only-b"});
    // "grown": 3 slices, every one changed, though slices 0 and 1 agree; the one-run
    // volumes: all of their slices.
    EXPECT_EQ(r.changed, 3u + 3u + 2u);
    EXPECT_EQ(r.total.slices, 2u + 3u + 3u + 2u);
    EXPECT_EQ(r.total.only_a, 1u);  // only-a's kept slice
    EXPECT_EQ(r.total.only_b, 1u);
}

TEST(Compare, RefusalsAreUsageErrors) {
    test::TempDir dir;
    write_run(dir / "a", {{"v", {true}}});
    EXPECT_THROW(compare(dir / "a", dir / "missing"), UsageError);
    test::fs::create_directories(dir / "unfinished");
    EXPECT_THROW(compare(dir / "a", dir / "unfinished"), UsageError);
    test::write_file(dir / "foreign" / "manifest.json", R"({"tool": "other", "volumes": []})");
    EXPECT_THROW(compare(dir / "a", dir / "foreign"), UsageError);
    test::write_file(dir / "broken" / "manifest.json",
                     R"({"tool": "lessmore", "volumes": [{"id": "v", "slices": [{"index": -1, "kept": true}]}]})");
    EXPECT_THROW(compare(dir / "a", dir / "broken"), UsageError);
    EXPECT_THROW(compare(dir / "a", dir / "a", 1.5), UsageError);
    EXPECT_THROW(compare(dir / "a", dir / "a", -0.1), UsageError);
}

}  // namespace
}  // namespace lessmore
