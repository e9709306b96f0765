// The SSIM and NMI kernels' code paths give the same bits: the one this CPU dispatches to
// (AVX2 where the CPU has it) and the baseline one the portable build uses; pairs scored together
// (ssim_compare_pairs), on a pool's threads, or one by one; a slice against itself.
// (Their agreement with scikit-image is tests/kernels/test_similarity.cpp's.)
#include "test_support.hpp"

#include "kernels/similarity_baseline.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/mutual_information.hpp>
#include <lessmore/resize_area.hpp>
#include <lessmore/ssim.hpp>
#include <lessmore/thread_pool.hpp>

#include <cmath>
#include <cstring>
#include <random>

namespace lessmore {
namespace {

std::vector<Image8> load_8bit(const test::fs::path& path, std::size_t max_slices) {
    const Discovery d = discover({path.string()});
    ThreadPool pool(2);
    CancelToken cancel;
    auto loaded = load_source(d.sources.at(0), LoadOptions{}, pool, cancel);
    const Volume& v = *loaded.at(0).volume;
    std::vector<Image8> out;
    for (std::size_t i = 0; i < v.slice_count() && i < max_slices; ++i) out.push_back(to_8bit(v.slice(i), IntensityMapping{}));
    return out;
}

Image8 crop(const Image8& image, int x0, int y0, int w, int h) {
    Image8 out(w, h);
    for (int y = 0; y < h; ++y) std::memcpy(out.row(y), image.row(y0 + y) + x0, static_cast<std::size_t>(w));
    return out;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Real slices of several sizes: 512x512 (four strips of 128 output columns, the last one
// narrower; 502 output rows, bands of 16 and a last one of 6), crops whose last strip or
// band holds a single column or row, the bundled sample (an odd number of output rows),
// and the 11x11 minimum.
std::vector<std::vector<Image8>> slice_sets() {
    const auto ct = load_8bit(test::ct_data() / "pancreas-ct-cb-001", 5);
    std::vector<std::vector<Image8>> sets{ct};
    for (auto [w, h] : {std::pair{139, 139}, std::pair{267, 300}, std::pair{11, 11}, std::pair{140, 27}}) {
        std::vector<Image8> cropped;
        for (const Image8& s : ct) cropped.push_back(crop(s, 100, 90, w, h));
        sets.push_back(cropped);
    }
    sets.push_back(load_8bit(test::bundled_sample(), 8));
    return sets;
}

std::vector<similarity_baseline::Slice> baseline_slices(const std::vector<Image8>& images) {
    std::vector<similarity_baseline::Slice> out;
    for (const Image8& i : images) out.push_back({i.width, i.height, i.pixels});
    return out;
}

TEST(SimilarityPaths, DispatchedCodeGivesTheBaselineCodesBits) {
    for (const auto& images : slice_sets()) {
        SCOPED_TRACE(std::to_string(images[0].width) + "x" + std::to_string(images[0].height));
        std::vector<SsimStats> ssim_stats;
        std::vector<MiStats> mi_stats, mi_stats_300;
        for (const Image8& i : images) {
            ssim_stats.push_back(ssim_prepare(i));
            mi_stats.push_back(mi_prepare(i, 100));
            mi_stats_300.push_back(mi_prepare(i, 300));  // two-byte bins
        }
        const auto base_ssim = similarity_baseline::ssim_pairs(baseline_slices(images));
        const auto base_nmi = similarity_baseline::nmi_pairs(baseline_slices(images), 100);
        const auto base_nmi_300 = similarity_baseline::nmi_pairs(baseline_slices(images), 300);
        std::size_t k = 0;
        for (std::size_t i = 0; i < images.size(); ++i) {
            for (std::size_t j = i + 1; j < images.size(); ++j, ++k) {
                EXPECT_TRUE(same_bits(ssim_compare(ssim_stats[i], ssim_stats[j]), base_ssim[k])) << i << "-" << j;
                EXPECT_TRUE(same_bits(mi_compare(mi_stats[i], mi_stats[j]), base_nmi[k])) << i << "-" << j;
                EXPECT_TRUE(same_bits(mi_compare(mi_stats_300[i], mi_stats_300[j]), base_nmi_300[k])) << i << "-" << j;
            }
        }
        EXPECT_EQ(k, base_ssim.size());
    }
}

TEST(SimilarityPaths, PairsScoredTogetherOrOnThreadsEqualPairsScoredAlone) {
    for (const auto& images : slice_sets()) {
        SCOPED_TRACE(std::to_string(images[0].width) + "x" + std::to_string(images[0].height));
        std::vector<SsimStats> stats;
        for (const Image8& i : images) stats.push_back(ssim_prepare(i));
        std::vector<const SsimStats*> slices;
        for (const SsimStats& s : stats) slices.push_back(&s);
        // Every ordered pair, the diagonal included, and a shuffled subset.
        std::vector<std::pair<std::size_t, std::size_t>> all, some;
        for (std::size_t i = 0; i < stats.size(); ++i)
            for (std::size_t j = 0; j < stats.size(); ++j) all.emplace_back(i, j);
        some = all;
        std::shuffle(some.begin(), some.end(), std::mt19937(7));
        some.resize(some.size() / 3);
        for (const auto* pairs : {&all, &some}) {
            std::vector<double> alone;
            for (const auto& [i, j] : *pairs) alone.push_back(ssim_compare(stats[i], stats[j]));
            std::vector<double> together(pairs->size());
            ssim_compare_pairs(slices, *pairs, together.data());
            for (int threads : {1, 2, 3}) {
                ThreadPool pool(threads);
                std::vector<double> on_pool(pairs->size());
                ssim_compare_pairs(slices, *pairs, on_pool.data(), &pool);
                for (std::size_t p = 0; p < pairs->size(); ++p) {
                    EXPECT_TRUE(same_bits(on_pool[p], alone[p])) << threads << " threads, pair " << p;
                }
            }
            for (std::size_t p = 0; p < pairs->size(); ++p) EXPECT_TRUE(same_bits(together[p], alone[p])) << "pair " << p;
        }
        for (int threads : {2, 3}) {
            ThreadPool pool(threads);
            for (int bins : {100, 300}) {
                const MiStats a = mi_prepare(images[0], bins), b = mi_prepare(images[1], bins);
                EXPECT_TRUE(same_bits(mi_compare(a, b, &pool), mi_compare(a, b))) << threads << " threads, bins " << bins;
            }
        }
    }
}

TEST(SimilarityPaths, ASliceAgainstItselfScoresExactlyWhatTheFullComputationGives) {
    const auto images = load_8bit(test::ct_data() / "pancreas-ct-cb-001", 2);
    const SsimStats a = ssim_prepare(images[0]), copy = ssim_prepare(images[0]);
    EXPECT_EQ(ssim_compare(a, a), 1.0);     // the shortcut
    EXPECT_EQ(ssim_compare(a, copy), 1.0);  // the full computation on an equal slice
    const MiStats m = mi_prepare(images[0], 100), m_copy = mi_prepare(images[0], 100);
    EXPECT_EQ(mi_compare(m, m), 2.0);
    EXPECT_EQ(mi_compare(m, m_copy), 2.0);
    const Image8 flat(64, 64);  // constant: H = 0, so 0/0 both ways
    const MiStats f = mi_prepare(flat, 100), f_copy = mi_prepare(flat, 100);
    EXPECT_TRUE(std::isnan(mi_compare(f, f)));
    EXPECT_TRUE(std::isnan(mi_compare(f, f_copy)));
    const SsimStats s = ssim_prepare(flat), s_copy = ssim_prepare(flat);
    EXPECT_EQ(ssim_compare(s, s), 1.0);
    EXPECT_EQ(ssim_compare(s, s_copy), 1.0);
}

TEST(SimilarityPaths, SlicesOfDifferentSizesAreRefused) {
    const SsimStats a = ssim_prepare(Image8(20, 20)), b = ssim_prepare(Image8(20, 21));
    EXPECT_THROW(ssim_compare(a, b), InputError);
    double out[2];
    EXPECT_THROW(ssim_compare_pairs({&a, &a, &b}, {{0, 1}, {1, 2}}, out), InputError);
    EXPECT_THROW(mi_compare(mi_prepare(Image8(20, 20), 100), mi_prepare(Image8(20, 21), 100)), InputError);
    EXPECT_THROW(mi_compare(mi_prepare(Image8(20, 20), 100), mi_prepare(Image8(20, 20), 99)), InputError);
}

}  // namespace
}  // namespace lessmore
