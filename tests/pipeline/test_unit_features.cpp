// HASH units for the cross-volume pass (src/pipeline/unit_features.hpp; docs/methods.md,
// section "Scope on units"): the distance is the max over positions of the crops' Hamming
// distances, units of different lengths are never similar, the text round-trips and bad
// text is refused, and the first-crop index finds every unit within the threshold (checked
// against comparing every pair).
#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/neighbour_index.hpp>

#include "pipeline/unit_features.hpp"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace lessmore {
namespace {

std::string hex(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::unique_ptr<Metric> slice_hash() {
    MetricOptions o;
    o.method = "hash";
    return make_metric(o);
}

TEST(UnitHashMetric, MaxOverPositionsAndNeverSimilarAcrossLengths) {
    const auto hash = slice_hash();
    const UnitHashMetric unit(*hash);
    // position 0: 1 bit apart, position 1: 5 bits, position 2: identical
    const auto a = unit.feature_from_text(hex(0) + "," + hex(0xff00) + "," + hex(42));
    const auto b = unit.feature_from_text(hex(1) + "," + hex(0x0700) + "," + hex(42));  // 0xff00 ^ 0x0700: 5 bits
    EXPECT_EQ(unit.compare(*a, *b), 5.0);
    EXPECT_EQ(unit.compare(*b, *a), 5.0);
    EXPECT_EQ(unit.compare(*a, *a), 0.0);
    const auto shorter = unit.feature_from_text(hex(0) + "," + hex(0xff00));
    EXPECT_TRUE(std::isnan(unit.compare(*a, *shorter)));
    EXPECT_EQ(unit.feature_text(*a), hex(0) + "," + hex(0xff00) + "," + hex(42));
    EXPECT_EQ(unit.sense(), Sense::LowerIsSimilar);
    EXPECT_EQ(unit.name(), "hash");
    for (const std::string& bad : std::vector<std::string>{"", ",", hex(0) + ",", hex(0) + ",zz", "1234"})
        EXPECT_THROW(unit.feature_from_text(bad), Error) << bad;
}

TEST(UnitHashMetric, FirstCropIndexFindsEveryUnitWithinTheThreshold) {
    const auto hash = slice_hash();
    const UnitHashMetric unit(*hash);
    std::mt19937_64 rng(3);
    // Units of 3 crops, many near one another: each a few bit flips from one of 8 seeds.
    std::vector<std::unique_ptr<Feature>> units;
    std::vector<std::uint64_t> seeds(8);
    for (auto& s : seeds) s = rng();
    for (int i = 0; i < 600; ++i) {
        std::string text;
        for (int k = 0; k < 3; ++k) {
            std::uint64_t h = seeds[(static_cast<std::size_t>(i) + k) % seeds.size()];
            const int flips = static_cast<int>(rng() % 6);
            for (int f = 0; f < flips; ++f) h ^= std::uint64_t{1} << (rng() % 64);
            text += (k ? "," : "") + hex(h);
        }
        units.push_back(unit.feature_from_text(text));
    }
    const double t = 4;
    ThreadPool pool(2);
    auto index = unit.make_index(t, 2);
    ASSERT_NE(index, nullptr);
    std::vector<const Feature*> items, queries;
    for (std::size_t i = 0; i < 400; ++i) items.push_back(units[i].get());
    for (std::size_t i = 400; i < units.size(); ++i) queries.push_back(units[i].get());
    index->add(items);
    EXPECT_EQ(index->size(), items.size());
    const auto found = index->candidates(queries, pool);
    std::size_t similar = 0;
    for (std::size_t q = 0; q < queries.size(); ++q)
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (!(unit.compare(*queries[q], *items[i]) <= t)) continue;
            ++similar;
            EXPECT_TRUE(std::binary_search(found[q].begin(), found[q].end(), static_cast<std::uint32_t>(i)))
                << "query " << q << " misses unit " << i;
        }
    EXPECT_GT(similar, 100u);  // the check means something
}

}  // namespace
}  // namespace lessmore
