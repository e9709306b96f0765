// The cross-volume pass (include/lessmore/cross_volume.hpp) on hand-made features, and
// the FAISS indexes against brute force: the same decisions, every similar item found.
#include <lessmore/base64.hpp>
#include <lessmore/cross_volume.hpp>
#include <lessmore/dhash.hpp>
#include <lessmore/error.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/neighbour_index.hpp>
#include <lessmore/thread_pool.hpp>

#include "kernels/metrics/hamming_index.hpp"

#include <gtest/gtest.h>

#include <bitset>
#include <cstring>
#include <random>

namespace lessmore {
namespace {

std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

struct Features {
    std::unique_ptr<Metric> metric;
    std::vector<std::unique_ptr<Feature>> owned;
    std::vector<std::vector<const Feature*>> volumes;

    void add_volume(const std::vector<std::string>& texts) {
        volumes.emplace_back();
        for (const std::string& t : texts) {
            owned.push_back(metric->feature_from_text(t));
            volumes.back().push_back(owned.back().get());
        }
    }
};

Features hash_features() {
    Features f;
    f.metric = make_metric(MetricOptions{});
    return f;
}

CrossDecisions brute(const Features& f, double t, ThreadPool& pool) {
    return cross_volume_pass(
        f.volumes, *f.metric, t, [] { return std::make_unique<BruteForceIndex>(); }, pool);
}

CrossDecisions indexed(const Features& f, double t, ThreadPool& pool) {
    return cross_volume_pass(
        f.volumes, *f.metric, t, [&] { return f.metric->make_index(t, pool.size()); }, pool);
}

void expect_same(const CrossDecisions& a, const CrossDecisions& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t v = 0; v < a.size(); ++v) {
        ASSERT_EQ(a[v].size(), b[v].size()) << v;
        for (std::size_t k = 0; k < a[v].size(); ++k) {
            ASSERT_EQ(a[v][k].has_value(), b[v][k].has_value()) << "volume " << v << " slice " << k;
            if (!a[v][k]) continue;
            EXPECT_EQ(a[v][k]->volume, b[v][k]->volume) << v << "/" << k;
            EXPECT_EQ(a[v][k]->kept, b[v][k]->kept) << v << "/" << k;
            EXPECT_EQ(a[v][k]->score, b[v][k]->score) << v << "/" << k;
        }
    }
}

TEST(CrossVolume, RemovesSlicesSimilarToSurvivorsOfEarlierVolumesOnly) {
    ThreadPool pool(2);
    Features f = hash_features();
    const std::uint64_t x = 0x0f0f'1234'5678'9abcull, y = 0xffff'0000'ffff'0000ull;
    f.add_volume({hex64(x), hex64(x ^ 0x1)});          // 0: two near-duplicates within a volume both stay
    f.add_volume({hex64(x ^ 0x3), hex64(y)});          // 1: [0] is 2 bits from 0/0 (and 1 from 0/1): removed
    f.add_volume({hex64(x ^ 0x3 ^ (0xffull << 40))});  // 2: 8 bits from 1/0 (removed) and >=9 from 0/*: stays
    f.add_volume({hex64(y ^ 0x100), hex64(y)});        // 3: both match 1/1; the exact copy scores 0
    const CrossDecisions d = indexed(f, 6, pool);
    EXPECT_FALSE(d[0][0]);
    EXPECT_FALSE(d[0][1]);
    ASSERT_TRUE(d[1][0]);
    EXPECT_EQ(d[1][0]->volume, 0u);
    EXPECT_EQ(d[1][0]->kept, 1u);  // the most similar (1 bit), not the first (2 bits)
    EXPECT_EQ(d[1][0]->score, 1.0);
    EXPECT_FALSE(d[1][1]);
    EXPECT_FALSE(d[2][0]) << "a slice removed in volume 1 must not remove others";
    ASSERT_TRUE(d[3][0] && d[3][1]);
    EXPECT_EQ(d[3][0]->volume, 1u);
    EXPECT_EQ(d[3][1]->score, 0.0);
    expect_same(d, brute(f, 6, pool));

    const auto dup = duplicate_volumes(d, 0.9);
    ASSERT_EQ(dup.size(), 1u);
    EXPECT_EQ(dup[0].volume, 3u);
    EXPECT_EQ(dup[0].of, 1u);
    EXPECT_EQ(dup[0].fraction, 1.0);
    EXPECT_EQ(duplicate_volumes(d, 0.5).size(), 2u);  // volume 1: half its slices matched
}

TEST(CrossVolume, TiesGoToTheEarliestSurvivor) {
    ThreadPool pool(1);
    Features f = hash_features();
    const std::uint64_t x = 0xaaaa'5555'aaaa'5555ull;
    f.add_volume({hex64(x ^ 0x1)});
    f.add_volume({hex64(x ^ 0x2)});  // 2 bits from volume 0's: removed, so it cannot be a match
    f.add_volume({hex64(x ^ 0x4)});  // 2 bits from volume 0's and 1's: volume 0
    const CrossDecisions d = indexed(f, 2, pool);
    ASSERT_TRUE(d[1][0] && d[2][0]);
    EXPECT_EQ(d[2][0]->volume, 0u);
    EXPECT_EQ(d[2][0]->score, 2.0);
}

// Clustered codes: many volumes share near-duplicates (the case the pass exists for), so
// every block holds matches within itself and against the index.
Features clustered_hashes(std::size_t volumes, std::size_t per_volume, unsigned seed) {
    Features f = hash_features();
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> centres(200);
    for (auto& c : centres) c = rng();
    for (std::size_t v = 0; v < volumes; ++v) {
        std::vector<std::string> texts;
        for (std::size_t k = 0; k < per_volume; ++k) {
            std::uint64_t h = centres[rng() % centres.size()];
            const int flips = static_cast<int>(rng() % 14);
            for (int i = 0; i < flips; ++i) h ^= std::uint64_t{1} << (rng() % 64);
            texts.push_back(hex64(h));
        }
        f.add_volume(texts);
    }
    return f;
}

TEST(CrossVolume, HammingIndexGivesTheBruteForceResult) {
    ThreadPool pool(2);
    const Features f = clustered_hashes(600, 7, 11);  // 4,200 slices: several blocks
    for (int t : {0, 1, 3, 6, 10, 12, 20}) {
        SCOPED_TRACE("threshold " + std::to_string(t));
        expect_same(indexed(f, t, pool), brute(f, t, pool));
    }
    // Enough survivors for the index to build its tables (4,096) and change their layout
    // as it grows; 6,000 centres so that many survive, used twice on average so that many
    // do not.
    Features big = hash_features();
    std::mt19937_64 rng(17);
    std::vector<std::uint64_t> centres(6000);
    for (auto& c : centres) c = rng();
    for (int v = 0; v < 1500; ++v) {
        std::vector<std::string> texts;
        for (int k = 0; k < 8; ++k) {
            std::uint64_t h = centres[rng() % centres.size()];
            for (int i = static_cast<int>(rng() % 10); i > 0; --i) h ^= std::uint64_t{1} << (rng() % 64);
            texts.push_back(hex64(h));
        }
        big.add_volume(texts);
    }
    for (int t : {3, 6, 12}) {
        SCOPED_TRACE("12,000 slices, threshold " + std::to_string(t));
        const CrossDecisions d = indexed(big, t, pool);
        expect_same(d, brute(big, t, pool));
        std::size_t survivors = 0;
        for (const auto& v : d)
            for (const auto& m : v) survivors += !m.has_value();
        EXPECT_GT(survivors, 4096u);
    }
}

// Codes of `bits` bits (packed as a DHash packs them), in clusters: some within any radius
// of each other.
struct Code final : Feature {
    std::vector<std::uint64_t> words;
};

std::vector<std::unique_ptr<Code>> clustered_codes(int bits, std::size_t count, unsigned seed) {
    std::mt19937_64 rng(seed);
    const std::size_t words = (static_cast<std::size_t>(bits) + 63) / 64;
    std::vector<std::vector<std::uint64_t>> centres(12, std::vector<std::uint64_t>(words));
    for (auto& c : centres)
        for (int i = 0; i < bits; ++i)
            if (rng() & 1u) c[static_cast<std::size_t>(i) / 64] |= std::uint64_t{1} << (63 - i % 64);
    std::vector<std::unique_ptr<Code>> out;
    for (std::size_t n = 0; n < count; ++n) {
        auto code = std::make_unique<Code>();
        code->words = centres[rng() % centres.size()];
        const int flips = static_cast<int>(rng() % static_cast<std::uint64_t>(std::max(2, bits / 4)));
        for (int k = 0; k < flips; ++k) {
            const auto i = static_cast<int>(rng() % static_cast<std::uint64_t>(bits));
            code->words[static_cast<std::size_t>(i) / 64] ^= std::uint64_t{1} << (63 - i % 64);
        }
        out.push_back(std::move(code));
    }
    return out;
}

int code_distance(const Code& a, const Code& b) {
    int d = 0;
    for (std::size_t i = 0; i < a.words.size(); ++i) d += __builtin_popcountll(a.words[i] ^ b.words[i]);
    return d;
}

// The index's candidates are exactly the codes within the radius, for the code sizes and
// radii that take each of its paths: one table (9 and 25 bits), four and nine tables of 16
// bits searched to different flips, the exhaustive scan (radius 20 at 64 bits), with the
// tables built from the first code or after the first few hundred (and the scan below),
// with this CPU's fastest distance code and the scalar one.
TEST(CrossVolume, HammingIndexFindsExactlyTheCodesWithinTheRadius) {
    ThreadPool pool(2);
    for (int bits : {9, 25, 64, 144}) {
        const auto codes = clustered_codes(bits, 1200, static_cast<unsigned>(bits));
        std::vector<const Feature*> all;
        for (const auto& c : codes) all.push_back(c.get());
        const auto words = [](const Feature& f) { return static_cast<const Code&>(f).words.data(); };
        for (int t : {0, 1, 2, 5, 6, 7, 9, 12, 20}) {
            for (std::size_t scan_below : {std::size_t{0}, std::size_t{300}, k_hamming_scan_below})
                for (HammingScan scan : {HammingScan::Fastest, HammingScan::Scalar}) {
                    auto index = make_hamming_index(bits, t, words, scan_below, scan);
                    const std::vector<const Feature*> first(all.begin(), all.begin() + 500),
                        rest(all.begin() + 500, all.end());
                    index->add(first);
                    index->add(rest);
                    ASSERT_EQ(index->size(), all.size());
                    const auto lists = index->candidates(all, pool);
                    std::size_t pairs = 0;
                    for (std::size_t i = 0; i < all.size(); ++i) {
                        std::vector<std::uint32_t> expected;
                        for (std::size_t j = 0; j < all.size(); ++j)
                            if (code_distance(*codes[i], *codes[j]) <= t)
                                expected.push_back(static_cast<std::uint32_t>(j));
                        ASSERT_EQ(lists[i], expected)
                            << bits << " bits, t " << t << ", scan below " << scan_below << ", query " << i;
                        pairs += expected.size() - 1;
                    }
                    if (t >= 6) {
                        EXPECT_GT(pairs, all.size()) << bits << " bits: the clusters make the test bite";
                    }
                }
        }
    }
}

TEST(CrossVolume, SameResultForAnyThreadCount) {
    const Features f = clustered_hashes(300, 9, 3);
    ThreadPool one(1), two(2), four(4);
    const CrossDecisions a = indexed(f, 6, one);
    expect_same(a, indexed(f, 6, two));
    expect_same(a, indexed(f, 6, four));
}

std::string embedding_text(const std::vector<float>& v) {
    std::string bytes(v.size() * 4, '\0');
    std::memcpy(bytes.data(), v.data(), bytes.size());  // little endian host
    return base64_encode(bytes);
}

TEST(CrossVolume, CosineIndexGivesTheBruteForceResult) {
    ThreadPool pool(2);
    Features f;
    MetricOptions o;
    o.method = "deepnet";
    f.metric = make_metric(o);
    const std::size_t dims = 256;  // the bundled model's embedding
    std::mt19937 rng(9);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<std::vector<float>> centres(60, std::vector<float>(dims));
    for (auto& c : centres)
        for (float& x : c) x = std::max(0.0f, normal(rng));  // ReLU outputs: non-negative
    for (int v = 0; v < 400; ++v) {
        std::vector<std::string> texts;
        for (int k = 0; k < 6; ++k) {
            std::vector<float> e = centres[rng() % centres.size()];
            const float noise = 0.05f * static_cast<float>(rng() % 8);
            for (float& x : e) x = std::max(0.0f, x + noise * normal(rng));
            texts.push_back(embedding_text(e));
        }
        f.add_volume(texts);
    }
    for (double t : {0.8, 0.9, 0.95, 0.99}) {
        SCOPED_TRACE("threshold " + std::to_string(t));
        const CrossDecisions a = indexed(f, t, pool);
        expect_same(a, brute(f, t, pool));
        std::size_t removed = 0;
        for (const auto& v : a)
            for (const auto& d : v) removed += d.has_value();
        EXPECT_GT(removed, 100u);  // the clusters make the test bite
    }
}

TEST(CrossVolume, FeatureTextRoundTripsAndRejectsOtherText) {
    const auto hash = make_metric(MetricOptions{});
    EXPECT_EQ(*hash->feature_text(*hash->feature_from_text("0123456789abcdef")), "0123456789abcdef");
    EXPECT_THROW(hash->feature_from_text("0123456789abcdeg"), Error);
    EXPECT_THROW(hash->feature_from_text("0123"), Error);
    MetricOptions o;
    o.method = "hash";
    o.hash_size = 3;  // 9 bits in 3 hex digits: the leading digit holds one bit
    const auto small = make_metric(o);
    EXPECT_EQ(*small->feature_text(*small->feature_from_text("1ff")), "1ff");
    EXPECT_THROW(small->feature_from_text("2ff"), Error);

    o.method = "deepnet";
    o.hash_size = 8;
    const auto deep = make_metric(o);
    std::vector<float> e(256);
    for (std::size_t i = 0; i < e.size(); ++i) e[i] = 0.25f * static_cast<float>(i) - 3.0f;
    const std::string text = embedding_text(e);
    EXPECT_EQ(*deep->feature_text(*deep->feature_from_text(text)), text);
    EXPECT_THROW(deep->feature_from_text(text.substr(4)), Error);
    EXPECT_THROW(deep->feature_from_text("not base64!"), Error);
}

}  // namespace
}  // namespace lessmore
