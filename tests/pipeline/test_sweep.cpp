// sweep (include/lessmore/sweep.hpp) as a library: every count equals that of a separate
// reduce at the same threshold (per volume and in total), for HASH and SSIM with the
// leader strategy, HASH with pairs, and EveryN; the default thresholds; the CSV and JSON
// forms carry the same numbers.
#include "test_support.hpp"

#include <lessmore/reduce.hpp>
#include <lessmore/sweep.hpp>

namespace lessmore {
namespace {

// Kept slices per volume id of a reduce on `input` (no slice files written).
std::map<std::string, std::size_t> reduce_counts(const test::fs::path& input, const test::fs::path& out,
                                                 const std::string& method, Strategy strategy, double threshold) {
    ReduceConfig c;
    c.inputs = {input.string()};
    c.output = out.string();
    c.metric.method = method;
    if (method != "everyn") c.strategy = strategy;
    if (method == "everyn") {
        c.every = static_cast<int>(threshold);
    } else {
        c.threshold = threshold;
    }
    c.format = OutputFormat::None;
    c.threads = 2;
    NullProgress quiet;
    const CancelToken never;
    std::map<std::string, std::size_t> kept;
    for (const VolumeSummary& v : reduce(c, quiet, never).volumes) kept[v.id] = v.kept;
    return kept;
}

void expect_counts_equal_reduce(const std::string& method, Strategy strategy, const std::vector<double>& thresholds) {
    test::TempDir dir;
    test::copy_tree(test::source_dir() / "tests" / "data" / "ct", dir / "in");
    SweepConfig s;
    s.inputs = {(dir / "in").string()};
    s.metric.method = method;
    if (method != "everyn") s.strategy = strategy;
    s.thresholds = thresholds;
    s.threads = 2;
    NullProgress quiet;
    const CancelToken never;
    const SweepResult r = sweep(s, quiet, never);
    ASSERT_EQ(r.rows.size(), thresholds.size());
    ASSERT_GE(r.slices.size(), 2u) << "the test data should hold several volumes";
    for (std::size_t k = 0; k < thresholds.size(); ++k) {
        const SweepRow& row = r.rows[k];
        EXPECT_EQ(row.threshold, thresholds[k]);
        const auto expected =
            reduce_counts(dir / "in", dir / ("out" + std::to_string(k)), method, strategy, thresholds[k]);
        EXPECT_EQ(row.volumes, expected) << method << " at " << thresholds[k];
        std::size_t total = 0, slices = 0;
        for (const auto& [id, kept] : expected) total += kept;
        for (const auto& [id, n] : r.slices) slices += n;
        EXPECT_EQ(row.kept, total) << method << " at " << thresholds[k];
        EXPECT_EQ(row.slices, slices);
    }
}

TEST(Sweep, HashLeaderCountsEqualSeparateReduces) {
    expect_counts_equal_reduce("hash", Strategy::Leader, {0, 3, 6, 10, 20});
}

TEST(Sweep, HashPairsCountsEqualSeparateReduces) { expect_counts_equal_reduce("hash", Strategy::Pairs, {2, 6, 12}); }

TEST(Sweep, SsimLeaderCountsEqualSeparateReduces) { expect_counts_equal_reduce("ssim", Strategy::Leader, {0.5, 0.8}); }

TEST(Sweep, EveryNCountsEqualSeparateReduces) { expect_counts_equal_reduce("everyn", Strategy::Leader, {1, 2, 5}); }

TEST(Sweep, DefaultThresholdsAndTheTextForms) {
    const auto hash = default_thresholds("hash", 8);
    ASSERT_EQ(hash.size(), 65u);  // every Hamming distance 0..64
    EXPECT_EQ(hash.front(), 0);
    EXPECT_EQ(hash.back(), 64);
    EXPECT_EQ(default_thresholds("everyn", 8).size(), 20u);
    EXPECT_EQ(threshold_range(0.5, 0.6, 0.02).size(), 6u);  // the end included despite rounding

    SweepResult r;
    r.method = "hash";
    r.strategy = "leader";
    r.slices = {{"a", 10}, {"b", 5}};
    r.rows.push_back({6, 15, 7, {{"a", 4}, {"b", 3}}});
    const std::string csv = sweep_csv(r);
    EXPECT_NE(csv.find("6,a,10,4,"), std::string::npos) << csv;
    EXPECT_NE(csv.find("6,(all),15,7,"), std::string::npos) << csv;
    const auto j = nlohmann::json::parse(sweep_json(r));
    EXPECT_EQ(j["thresholds"][0]["kept"], 7);
    EXPECT_EQ(j["thresholds"][0]["volumes"]["b"], 3);
}

}  // namespace
}  // namespace lessmore
