// The pure parts of `lessmore split` (include/lessmore/data_split.hpp) on hand-made groups
// and hashes: units tied by similar slices, transitively; groups dealt to splits as close
// to the fractions as the groups allow, the same for a seed, different across seeds.
#include <lessmore/data_split.hpp>
#include <lessmore/error.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/neighbour_index.hpp>
#include <lessmore/thread_pool.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <bitset>
#include <numeric>
#include <random>

namespace lessmore {
namespace {

std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// HASH-64 features of the given codes, each in a unit.
struct Items {
    std::unique_ptr<Metric> metric = make_metric(MetricOptions{});
    std::vector<std::unique_ptr<Feature>> owned;
    std::vector<SplitItem> items;
    void add(std::size_t unit, std::uint64_t code) {
        owned.push_back(metric->feature_from_text(hex64(code)));
        items.push_back({unit, owned.back().get()});
    }
};

IndexFactory brute() {
    return [] { return std::make_unique<BruteForceIndex>(); };
}

std::vector<std::size_t> sums(const std::vector<std::size_t>& sizes, const std::vector<std::size_t>& split,
                              std::size_t parts) {
    std::vector<std::size_t> out(parts, 0);
    for (std::size_t g = 0; g < sizes.size(); ++g) out[split[g]] += sizes[g];
    return out;
}

TEST(LinkUnits, SimilarSlicesTieUnitsTransitively) {
    Items x;
    const std::uint64_t a = 0x0123456789abcdefULL, b = 0xfedcba9876543210ULL, c = 0x00ff00ff00ff00ffULL;
    x.add(0, a);
    x.add(1, a ^ 0x7);  // 3 bits from unit 0's slice
    x.add(1, b);
    x.add(2, b ^ 0x3f);  // 6 bits from unit 1's second slice
    x.add(3, c);         // far from everything
    x.add(4, c ^ 0x7f);  // 7 bits from unit 3: not similar at 6
    ThreadPool pool(2);
    // 0-1 (3 bits) and 1-2 (6 bits) tie 0, 1 and 2; 3 and 4 stay apart at 6.
    EXPECT_EQ(link_units(5, x.items, *x.metric, 6, brute(), pool), (std::vector<std::size_t>{0, 0, 0, 1, 2}));
    // At 5 the 6-bit pair no longer ties; at 7 the 7-bit pair does.
    EXPECT_EQ(link_units(5, x.items, *x.metric, 5, brute(), pool), (std::vector<std::size_t>{0, 0, 1, 2, 3}));
    EXPECT_EQ(link_units(5, x.items, *x.metric, 7, brute(), pool), (std::vector<std::size_t>{0, 0, 0, 1, 1}));
    // A unit without slices is a group of its own.
    EXPECT_EQ(link_units(6, x.items, *x.metric, 6, brute(), pool), (std::vector<std::size_t>{0, 0, 0, 1, 2, 3}));
}

TEST(LinkUnits, SlicesOfOneUnitNeverPair) {
    Items x;
    x.add(0, 0);
    x.add(0, 0);
    x.add(1, ~0ULL);
    ThreadPool pool(1);
    std::size_t visits = 0;
    similar_pairs(x.items, *x.metric, 64, brute(), pool, [&](std::size_t i, std::size_t j) {
        EXPECT_NE(x.items[i].unit, x.items[j].unit);
        ++visits;
    });
    EXPECT_EQ(visits, 2u);  // (0, 2) and (1, 2): distance 64, within 64
}

TEST(LinkUnits, PairsAreExactlyThoseEveryPairComparedFindsInOrder) {
    // Hashes around a few centres, so many pairs are within the radius; the metric's own
    // index (multi-index hashing) must give what comparing every pair gives.
    Items x;
    std::mt19937_64 rng(11);
    std::vector<std::uint64_t> centres(40);
    for (auto& c : centres) c = rng();
    for (std::size_t k = 0; k < 6000; ++k) {
        std::uint64_t code = centres[rng() % centres.size()];
        for (int flip = static_cast<int>(rng() % 9); flip > 0; --flip) code ^= 1ULL << (rng() % 64);
        x.add(rng() % 300, code);
    }
    for (const double t : {3.0, 6.0}) {
        std::vector<std::pair<std::size_t, std::size_t>> expected, got1, got2;
        for (std::size_t i = 0; i < x.items.size(); ++i)
            for (std::size_t j = i + 1; j < x.items.size(); ++j)
                if (x.items[i].unit != x.items[j].unit &&
                    x.metric->compare(*x.items[i].feature, *x.items[j].feature) <= t)
                    expected.emplace_back(i, j);
        ThreadPool one(1), two(2);
        similar_pairs(
            x.items, *x.metric, t, [&] { return x.metric->make_index(t, 1); }, one,
            [&](std::size_t i, std::size_t j) { got1.emplace_back(i, j); });
        similar_pairs(
            x.items, *x.metric, t, [&] { return x.metric->make_index(t, 2); }, two,
            [&](std::size_t i, std::size_t j) { got2.emplace_back(i, j); });
        EXPECT_GT(expected.size(), 1000u) << t;
        EXPECT_EQ(got1, expected) << t;
        EXPECT_EQ(got2, expected) << t;
        ThreadPool pool(2);
        EXPECT_EQ(link_units(300, x.items, *x.metric, t, brute(), one),
                  link_units(
                      300, x.items, *x.metric, t, [&] { return x.metric->make_index(t, 2); }, pool));
    }
}

TEST(AssignSplits, EqualGroupsFillTheFractionsExactly) {
    const std::vector<std::size_t> sizes(10, 10);
    const auto split = assign_splits(sizes, {0.8, 0.1, 0.1}, 0);
    EXPECT_EQ(sums(sizes, split, 3), (std::vector<std::size_t>{80, 10, 10}));
    const std::vector<std::size_t> four(4, 25);
    EXPECT_EQ(sums(four, assign_splits(four, {0.5, 0.5}, 3), 2), (std::vector<std::size_t>{50, 50}));
}

TEST(AssignSplits, SameSeedSameSplitsOtherSeedsOthers) {
    std::vector<std::size_t> sizes;
    std::mt19937_64 rng(5);
    for (int g = 0; g < 200; ++g) sizes.push_back(20 + rng() % 200);
    const auto a = assign_splits(sizes, {0.8, 0.1, 0.1}, 42);
    EXPECT_EQ(assign_splits(sizes, {0.8, 0.1, 0.1}, 42), a);
    std::set<std::vector<std::size_t>> seen;
    for (std::uint64_t seed = 0; seed < 10; ++seed) seen.insert(assign_splits(sizes, {0.8, 0.1, 0.1}, seed));
    EXPECT_EQ(seen.size(), 10u) << "every seed deals the groups differently";
}

TEST(AssignSplits, EachSplitWithinItsLastGroupOfTheTarget) {
    // Random groups (a few large, many small, some empty): no split passes its target by
    // more than the last group it received, and the total is dealt exactly.
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 200; ++trial) {
        const std::size_t n = 1 + rng() % 60;
        std::vector<std::size_t> sizes(n);
        for (auto& s : sizes) s = rng() % 4 == 0 ? rng() % 2000 : rng() % 50;
        const std::vector<double> fractions =
            trial % 2 ? std::vector<double>{0.7, 0.3} : std::vector<double>{0.8, 0.1, 0.1};
        const auto split = assign_splits(sizes, fractions, static_cast<std::uint64_t>(trial));
        const double total = static_cast<double>(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}));
        const auto got = sums(sizes, split, fractions.size());
        // The order groups are dealt in: by size class, largest first (ties: any order);
        // a split's last group is its smallest-class one, so its smallest one bounds it.
        for (std::size_t k = 0; k < fractions.size(); ++k) {
            std::size_t smallest = 0;
            bool any = false;
            for (std::size_t g = 0; g < n; ++g)
                if (split[g] == k && (!any || sizes[g] < smallest)) {
                    smallest = sizes[g];
                    any = true;
                }
            const double over = static_cast<double>(got[k]) - fractions[k] * total;
            if (!any) {
                EXPECT_LE(over, 0.0);
                continue;
            }
            // Within the smallest group's size class: below twice its size.
            EXPECT_LT(over, 2.0 * static_cast<double>(smallest) + 1e-9) << "trial " << trial << " split " << k;
        }
    }
}

TEST(AssignSplits, LargeGroupsGoFirstSmallOnesEvenOut) {
    // One group larger than validation's and test's targets lands in training; the small
    // ones fill the rest to the fractions.
    std::vector<std::size_t> sizes = {500};
    for (int g = 0; g < 50; ++g) sizes.push_back(10);
    const auto split = assign_splits(sizes, {0.8, 0.1, 0.1}, 1);
    EXPECT_EQ(split[0], 0u);
    EXPECT_EQ(sums(sizes, split, 3), (std::vector<std::size_t>{800, 100, 100}));
}

TEST(AssignSplits, EmptyGroupsAndNothingAtAll) {
    EXPECT_TRUE(assign_splits({}, {0.5, 0.5}, 0).empty());
    const auto split = assign_splits({0, 0, 0}, {0.5, 0.5}, 0);
    EXPECT_EQ(split, (std::vector<std::size_t>{0, 0, 0}));  // all deficits 0: the first split
    const std::vector<std::size_t> sizes = {0, 10, 0, 10};
    EXPECT_EQ(sums(sizes, assign_splits(sizes, {0.5, 0.5}, 9), 2), (std::vector<std::size_t>{10, 10}));
}

TEST(AssignSplits, BadFractionsAreRefused) {
    EXPECT_THROW(assign_splits({1}, {0.5, 0.4}, 0), Error);
    EXPECT_THROW(assign_splits({1}, {1.2, -0.2}, 0), Error);
    EXPECT_THROW(assign_splits({1}, {}, 0), Error);
}

}  // namespace
}  // namespace lessmore
