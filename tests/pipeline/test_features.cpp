// score_matrix: scored in tiles of slices (one compare_pairs call each), on any number of
// threads, every entry is the metric's compare() of that pair, bit for bit; pairs beyond
// the reach and (without the diagonal) a slice against itself stay NaN.
#include "test_support.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/progress.hpp>

#include "pipeline/features.hpp"

#include <cmath>
#include <cstring>

namespace lessmore {
namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(ScoreMatrix, TilesAndThreadsGiveEachPairsOwnScore) {
    const Discovery d = discover({test::bundled_sample().string()});
    ThreadPool loader(2);
    CancelToken cancel;
    auto loaded = load_source(d.sources.at(0), LoadOptions{}, loader, cancel);
    const Volume& volume = *loaded.at(0).volume;
    ASSERT_GE(volume.slice_count(), 14u);
    for (const char* method : {"ssim", "mi", "hash"}) {
        MetricOptions o;
        o.method = method;
        const auto metric = make_metric(o);
        // 14 slices: full tiles of 4 and a partial one.
        NullProgress quiet;
        const auto features = prepare_features(volume, 0, 14, *metric, IntensityMapping{}, loader, quiet, cancel);
        for (const std::size_t reach : {std::size_t{14}, std::size_t{5}, std::size_t{1}}) {
            for (const bool diagonal : {true, false}) {
                for (const int threads : {1, 2, 3}) {
                    SCOPED_TRACE(std::string(method) + " reach " + std::to_string(reach) +
                                 (diagonal ? " diagonal " : " ") + std::to_string(threads) + " threads");
                    ThreadPool pool(threads);
                    const ScoreMatrix m = score_matrix(features, *metric, pool, cancel, reach, diagonal);
                    for (std::size_t i = 0; i < 14; ++i) {
                        for (std::size_t j = 0; j < 14; ++j) {
                            const std::size_t gap = i > j ? i - j : j - i;
                            if (gap > reach || (i == j && !diagonal)) {
                                EXPECT_TRUE(std::isnan(m.at(i, j))) << i << "," << j;
                            } else {
                                const std::size_t a = std::min(i, j), b = std::max(i, j);
                                EXPECT_TRUE(same_bits(m.at(i, j), metric->compare(*features[a], *features[b])))
                                    << i << "," << j;
                            }
                        }
                    }
                }
            }
        }
    }
}

}  // namespace
}  // namespace lessmore
