// The metric adapters: each metric's prepare/compare equals the kernel it wraps, its
// sense and threshold range are right, and bad options are refused naming the option.
#include "test_support.hpp"

#include <lessmore/dhash.hpp>
#include <lessmore/error.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/mutual_information.hpp>
#include <lessmore/resize_area.hpp>
#include <lessmore/ssim.hpp>

namespace lessmore {
namespace {

Image8 pattern(int w, int h, int seed) {
    Image8 img(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.row(y)[x] = static_cast<std::uint8_t>((x * 7 + y * 3 + seed * 11 + x * y * seed) % 256);
    return img;
}

std::unique_ptr<Metric> metric(const std::string& method, int resize = 0) {
    MetricOptions o;
    o.method = method;
    o.resize = resize;
    return make_metric(o);
}

TEST(MetricAdapters, HashIsTheHammingDistanceOfDhashes) {
    const auto m = metric("hash");
    EXPECT_EQ(m->name(), "hash");
    EXPECT_EQ(m->sense(), Sense::LowerIsSimilar);
    const Image8 a = pattern(40, 30, 1), b = pattern(40, 30, 2);
    const auto fa = m->prepare(a), fb = m->prepare(b);
    EXPECT_EQ(m->compare(*fa, *fb), hamming_distance(dhash(a), dhash(b)));
    EXPECT_EQ(m->compare(*fa, *fa), 0.0);
    EXPECT_EQ(m->describe(*fa), dhash(a).hex());
    m->check_threshold(0);
    m->check_threshold(64);
    EXPECT_THROW(m->check_threshold(65), UsageError);
    EXPECT_THROW(m->check_threshold(2.5), UsageError);
    EXPECT_EQ(m->model(), nullptr);
}

TEST(MetricAdapters, SsimAndMiEqualTheirKernels) {
    const Image8 a = pattern(48, 40, 3), b = pattern(48, 40, 4);
    const auto s = metric("ssim");
    EXPECT_EQ(s->sense(), Sense::HigherIsSimilar);
    EXPECT_DOUBLE_EQ(s->compare(*s->prepare(a), *s->prepare(b)), ssim(a, b));
    EXPECT_THROW(s->check_threshold(1.5), UsageError);
    const auto mi = metric("mi");
    EXPECT_DOUBLE_EQ(mi->compare(*mi->prepare(a), *mi->prepare(b)), normalized_mutual_information(a, b, 100));
    EXPECT_THROW(mi->check_threshold(0.9), UsageError);
    mi->check_threshold(2.0);
    EXPECT_FALSE(mi->describe(*mi->prepare(a)));
}

TEST(MetricAdapters, ResizeComputesOnAreaResizedSlices) {
    const Image8 a = pattern(64, 64, 5), b = pattern(64, 64, 6);
    const auto s = metric("ssim", 32);
    EXPECT_DOUBLE_EQ(s->compare(*s->prepare(a), *s->prepare(b)), ssim(resize_area(a, 32, 32), resize_area(b, 32, 32)));
    EXPECT_THROW(metric("ssim", 8), UsageError);  // smaller than the 11x11 window
    EXPECT_THROW(metric("hash", 32), UsageError);
}

TEST(MetricAdapters, BadOptionsNameTheOption) {
    auto message = [](MetricOptions o) {
        try {
            make_metric(o);
        } catch (const UsageError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    MetricOptions o;
    o.method = "hsah";
    EXPECT_NE(message(o).find("--method"), std::string::npos);
    o.method = "hash";
    o.hash_size = 1;
    EXPECT_NE(message(o).find("--hash-size"), std::string::npos);
    o = MetricOptions{};
    o.method = "mi";
    o.bins = 1;
    EXPECT_NE(message(o).find("--bins"), std::string::npos);
    // A model path whose files were never read is a programming error, not the user's.
    o = MetricOptions{};
    o.method = "deepnet";
    o.model.path = "/some/model.onnx";
    EXPECT_THROW(make_metric(o), std::logic_error);
}

}  // namespace
}  // namespace lessmore
