// The SSIM and NMI kernels' code paths give the same bits: the one this CPU dispatches to
// (AVX-512 or AVX2 where the CPU has it) and the baseline one the portable build uses;
// pairs scored together (ssim_compare_pairs), on a pool's threads, or one by one; a slice
// against itself.
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
    for (std::size_t i = 0; i < v.slice_count() && i < max_slices; ++i)
        out.push_back(to_8bit(v.slice(i), IntensityMapping{}));
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
            for (std::size_t p = 0; p < pairs->size(); ++p)
                EXPECT_TRUE(same_bits(together[p], alone[p])) << "pair " << p;
        }
        for (int threads : {2, 3}) {
            ThreadPool pool(threads);
            for (int bins : {100, 300}) {
                const MiStats a = mi_prepare(images[0], bins), b = mi_prepare(images[1], bins);
                EXPECT_TRUE(same_bits(mi_compare(a, b, &pool), mi_compare(a, b)))
                    << threads << " threads, bins " << bins;
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

// The documented evaluation (docs/methods.md, "SSIM fast evaluation and its accuracy")
// written the plain way, on the statistics ssim_prepare stored: G*d^2 as a direct 11x11
// sum, every map value in double. lessmore's separable passes and its order of sums may
// differ from it by ~1e-15; a rounding to float anywhere in the per-pair arithmetic would
// show as ~1e-11.
double documented_ssim(const Image8& x, const Image8& y, const SsimStats& sx, const SsimStats& sy) {
    const auto g = ssim_gaussian_taps();
    const int ow = x.width - 10, oh = x.height - 10;
    const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    double total = 0.0;
    for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            double gd2 = 0.0;
            for (int j = 0; j < 11; ++j) {
                for (int k = 0; k < 11; ++k) {
                    const double d = double(x.row(oy + j)[ox + k]) - double(y.row(oy + j)[ox + k]);
                    gd2 += g[std::size_t(j)] * g[std::size_t(k)] * d * d;
                }
            }
            // The statistics' layout: strips of 128 output columns, [strip][row][128].
            const std::size_t at =
                (std::size_t(ox / 128) * std::size_t(oh) + std::size_t(oy)) * 128 + std::size_t(ox % 128);
            const double ux = sx.mean[at] / 8388608.0, uy = sy.mean[at] / 8388608.0;
            const double vx = sx.variance[at], vy = sy.variance[at];
            const double vd = gd2 - (ux - uy) * (ux - uy);
            total += (2 * ux * uy + c1) * (vx + vy - vd + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
        }
    }
    return total / (double(ow) * double(oh));
}

TEST(SimilarityPaths, PairScoresFollowTheDocumentedArithmetic) {
    const auto ct = load_8bit(test::ct_data() / "pancreas-ct-cb-001", 3);
    for (const Image8* pick : {&ct[0], &ct[2]}) {
        // A crop with two strips, the last one narrow, keeps the direct sums quick.
        const Image8 a = crop(ct[1], 150, 120, 150, 90), b = crop(*pick, 150, 120, 150, 90);
        const SsimStats sa = ssim_prepare(a), sb = ssim_prepare(b);
        EXPECT_NEAR(ssim_compare(sa, sb), documented_ssim(a, b, sa, sb), 1e-13);
        // The stored statistics themselves: the mean to the nearest 2^-23, the variance to
        // float precision.
        const auto g = ssim_gaussian_taps();
        for (int oy : {0, 37, 79}) {
            for (int ox : {0, 64, 127, 128, 139}) {
                double mu = 0.0, ex2 = 0.0;
                for (int j = 0; j < 11; ++j) {
                    for (int k = 0; k < 11; ++k) {
                        const double v = a.row(oy + j)[ox + k], w = g[std::size_t(j)] * g[std::size_t(k)];
                        mu += w * v;
                        ex2 += w * v * v;
                    }
                }
                const std::size_t at = (std::size_t(ox / 128) * 80 + std::size_t(oy)) * 128 + std::size_t(ox % 128);
                EXPECT_NEAR(sa.mean[at] / 8388608.0, mu, 1.0 / 8388608.0) << ox << "," << oy;
                EXPECT_NEAR(sa.variance[at], ex2 - mu * mu, 1e-6 * (ex2 - mu * mu) + 1e-9) << ox << "," << oy;
            }
        }
    }
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
