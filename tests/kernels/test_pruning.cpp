// Strategies on hand-made score matrices with known answers.
#include "test_support.hpp"

#include <lessmore/pruning.hpp>

namespace lessmore {
namespace {

ScoreMatrix matrix(const std::vector<std::vector<double>>& rows) {
    ScoreMatrix m(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (std::size_t j = 0; j < rows.size(); ++j) m.values[i * rows.size() + j] = rows[i][j];
    return m;
}

ScoresAgainst from(const ScoreMatrix& m) {
    return [&m](std::size_t i, const std::vector<std::size_t>& cand, std::vector<double>& out) {
        for (std::size_t k = 0; k < cand.size(); ++k) out[k] = m.at(i, cand[k]);
    };
}

std::vector<bool> kept(const PruneResult& r) { return r.kept; }

TEST(EveryN, KeepsEveryNthFromZero) {
    const PruneResult r = prune_every_n(7, 3);
    EXPECT_EQ(kept(r), (std::vector<bool>{true, false, false, true, false, false, true}));
    EXPECT_EQ(r.match[4], 3u);
    EXPECT_FALSE(r.match[3].has_value());
    EXPECT_EQ(prune_every_n(1, 5).kept_count(), 1u);
    EXPECT_EQ(prune_every_n(5, 1).kept_count(), 5u);
}

// Distances (HASH-like): 0-1 close, 1-2 close, 0-2 far.
const std::vector<std::vector<double>> k_chain = {{0, 2, 9}, {2, 0, 2}, {9, 2, 0}};

TEST(Leader, ChainKeepsFirstAndThird) {
    const ScoreMatrix m = matrix(k_chain);
    const PruneResult r = prune_leader(3, from(m), Sense::LowerIsSimilar, 2);
    // 1 is within 2 of kept 0; 2 is within 2 of 1, but 1 was removed, and far from 0.
    EXPECT_EQ(kept(r), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(r.match[1], 0u);
    EXPECT_EQ(r.score[1], 2.0);
}

TEST(Leader, MatchIsTheMostRecentSimilarKeptSlice) {
    // 0 and 1 far apart (both kept); 2 similar to both -> matched to 1.
    const ScoreMatrix m = matrix({{0, 9, 1}, {9, 0, 2}, {1, 2, 0}});
    const PruneResult r = prune_leader(3, from(m), Sense::LowerIsSimilar, 3);
    EXPECT_EQ(kept(r), (std::vector<bool>{true, true, false}));
    EXPECT_EQ(r.match[2], 1u);
    EXPECT_EQ(r.score[2], 2.0);
}

TEST(Leader, BlockSizeNeverChangesTheResult) {
    std::vector<std::vector<double>> rows(12, std::vector<double>(12));
    for (std::size_t i = 0; i < 12; ++i)
        for (std::size_t j = 0; j < 12; ++j) rows[i][j] = static_cast<double>((i * 7 + j * 7 + i * j) % 11);
    for (std::size_t i = 0; i < 12; ++i)
        for (std::size_t j = 0; j < i; ++j) rows[i][j] = rows[j][i];
    const ScoreMatrix m = matrix(rows);
    const PruneResult ref = prune_leader(12, from(m), Sense::LowerIsSimilar, 3);
    for (std::size_t block : {2u, 3u, 5u, 100u}) {
        LeaderOptions o;
        o.block = block;
        const PruneResult r = prune_leader(12, from(m), Sense::LowerIsSimilar, 3, o);
        EXPECT_EQ(r.kept, ref.kept);
        EXPECT_EQ(r.match, ref.match);
        EXPECT_EQ(r.score, ref.score);
    }
}

TEST(Leader, SimilaritySense) {
    // SSIM-like: similar iff score >= threshold.
    const ScoreMatrix m = matrix({{1, 0.95, 0.2}, {0.95, 1, 0.3}, {0.2, 0.3, 1}});
    EXPECT_EQ(kept(prune_leader(3, from(m), Sense::HigherIsSimilar, 0.9)), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(kept(prune_leader(3, from(m), Sense::HigherIsSimilar, 0.96)), (std::vector<bool>{true, true, true}));
}

TEST(Leader, AllIdenticalAndAllDistinctAndTiny) {
    const ScoreMatrix same = matrix({{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}});
    EXPECT_EQ(prune_leader(4, from(same), Sense::LowerIsSimilar, 0).kept_count(), 1u);
    const ScoreMatrix far = matrix({{0, 50, 50}, {50, 0, 50}, {50, 50, 0}});
    EXPECT_EQ(prune_leader(3, from(far), Sense::LowerIsSimilar, 6).kept_count(), 3u);
    const ScoreMatrix one = matrix({{0}});
    EXPECT_EQ(prune_leader(1, from(one), Sense::LowerIsSimilar, 64).kept_count(), 1u);
    EXPECT_EQ(prune_leader(0, from(one), Sense::LowerIsSimilar, 6).kept_count(), 0u);
}

TEST(Leader, NeighboursLimitsHowFarBackItLooks) {
    // All identical, but only kept slices at most 1 back are compared.
    const ScoreMatrix same = matrix({{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}});
    LeaderOptions o;
    o.neighbours = 1;
    // 0 kept; 1 matches 0; 2: kept 0 is 2 back -> kept; 3 matches 2.
    EXPECT_EQ(kept(prune_leader(4, from(same), Sense::LowerIsSimilar, 0, o)),
              (std::vector<bool>{true, false, true, false}));
}

TEST(Pairs, ThresholdRemovesUntilNoSimilarPairRemains) {
    const ScoreMatrix m = matrix(k_chain);
    PairsTarget t;
    t.threshold = 2;
    const PruneResult r = prune_pairs(m, Sense::LowerIsSimilar, t);
    // Pairs (0,1)=2 and (1,2)=2 tie: (0,1) first. Mean distance of 0 to others {1,2}:
    // (2+9)/2, of 1: (2+2)/2 -> 1 is more similar and goes. (1,2) skipped; (0,2)=9 stops.
    EXPECT_EQ(kept(r), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(r.match[1], 0u);  // most similar kept slice; tie 0 vs 2 -> lower index
    EXPECT_EQ(r.score[1], 2.0);
    EXPECT_EQ(r.pairs_computed, 3u);
}

TEST(Pairs, TieOnMeanRemovesTheLaterSlice) {
    const ScoreMatrix m = matrix({{0, 1}, {1, 0}});
    PairsTarget t;
    t.threshold = 5;
    EXPECT_EQ(kept(prune_pairs(m, Sense::LowerIsSimilar, t)), (std::vector<bool>{true, false}));
}

TEST(Pairs, MostSimilarPairFirst) {
    // (2,3) is the most similar pair; 3 has the higher mean similarity and goes first.
    const ScoreMatrix m = matrix({{1, .1, .2, .3}, {.1, 1, .2, .4}, {.2, .2, 1, .9}, {.3, .4, .9, 1}});
    PairsTarget t;
    t.fraction = 0.75;  // 3 of 4
    EXPECT_EQ(kept(prune_pairs(m, Sense::HigherIsSimilar, t)), (std::vector<bool>{true, true, true, false}));
    t.fraction = 0.5;  // then (1,3) skipped, (0,3) skipped, (0,2)=.2 vs (1,2)=.2: tie -> lower i: (0,2)
    // means: 0 -> (.1 + .2)/2 = .15, 2 -> (.2 + .2)/2 = .2 -> 2 goes
    EXPECT_EQ(kept(prune_pairs(m, Sense::HigherIsSimilar, t)), (std::vector<bool>{true, true, false, false}));
}

TEST(Pairs, FractionTargetIsCeilButAtLeastOne) {
    EXPECT_EQ(target_count(30, 0.1), 3u);
    EXPECT_EQ(target_count(31, 0.1), 4u);
    EXPECT_EQ(target_count(5, 0.01), 1u);
    EXPECT_EQ(target_count(0, 0.5), 1u);
    EXPECT_EQ(target_count(10, 1.0), 10u);
    const ScoreMatrix same = matrix(std::vector<std::vector<double>>(10, std::vector<double>(10, 0.0)));
    PairsTarget t;
    t.fraction = 0.25;
    EXPECT_EQ(prune_pairs(same, Sense::LowerIsSimilar, t).kept_count(), 3u);
}

TEST(Pairs, AllDistinctKeepsAllInThresholdMode) {
    const ScoreMatrix far = matrix({{0, 50, 50}, {50, 0, 50}, {50, 50, 0}});
    PairsTarget t;
    t.threshold = 6;
    EXPECT_EQ(prune_pairs(far, Sense::LowerIsSimilar, t).kept_count(), 3u);
    const ScoreMatrix one = matrix({{0}});
    EXPECT_EQ(prune_pairs(one, Sense::LowerIsSimilar, t).kept_count(), 1u);
}

TEST(Pairs, AllIdenticalKeepsTheFirst) {
    const ScoreMatrix same = matrix(std::vector<std::vector<double>>(5, std::vector<double>(5, 0.0)));
    PairsTarget t;
    t.threshold = 0;
    const PruneResult r = prune_pairs(same, Sense::LowerIsSimilar, t);
    // Every tie removes the later slice of the pair, so slice 0 survives.
    EXPECT_EQ(kept(r), (std::vector<bool>{true, false, false, false, false}));
    for (std::size_t i = 1; i < 5; ++i) EXPECT_EQ(r.match[i], 0u);
}

TEST(Pairs, NaNScoresAreNeverSimilar) {
    const double nan = std::nan("");
    const ScoreMatrix m = matrix({{1, nan}, {nan, 1}});
    PairsTarget t;
    t.threshold = 0.5;
    EXPECT_EQ(prune_pairs(m, Sense::HigherIsSimilar, t).kept_count(), 2u);
}

}  // namespace
}  // namespace lessmore

namespace lessmore {
namespace {

TEST(Leader, CountsThePairsTheWalkCompares) {
    // 0 kept (nothing to compare); 1 vs 0 similar (1 pair); 2 vs 0 not similar (1) -> kept.
    const ScoreMatrix m = matrix(k_chain);
    EXPECT_EQ(prune_leader(3, from(m), Sense::LowerIsSimilar, 2).pairs_computed, 2u);
    // All distinct: slice i is compared with all i kept before it: 0 + 1 + 2 + 3.
    const ScoreMatrix far = matrix({{0, 9, 9, 9}, {9, 0, 9, 9}, {9, 9, 0, 9}, {9, 9, 9, 0}});
    for (std::size_t block : {1u, 2u, 8u}) {
        LeaderOptions o;
        o.block = block;
        EXPECT_EQ(prune_leader(4, from(far), Sense::LowerIsSimilar, 2, o).pairs_computed, 6u) << block;
    }
}

}  // namespace
}  // namespace lessmore
