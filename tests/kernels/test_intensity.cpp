#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>

#include <cmath>
#include <limits>

namespace lessmore {
namespace {

template <typename T>
SliceView view(const std::vector<T>& v, VoxelType type, int w, int h) {
    return SliceView{v.data(), type, w, h};
}

TEST(Intensity, MinMaxRoundsHalfToEven) {
    // min 0, max 510: v = x / 510 * 255 = x / 2, so odd x land exactly on .5.
    std::vector<std::int16_t> px = {0, 1, 3, 5, 7, 509, 510};
    const Image8 out = to_8bit(view(px, VoxelType::Int16, 7, 1), IntensityMapping{});
    EXPECT_EQ(std::vector<int>(out.pixels.begin(), out.pixels.end()), (std::vector<int>{0, 0, 2, 2, 4, 254, 255}));
}

TEST(Intensity, MinMaxUsesDivideThenMultiplyOrder) {
    // (x - min) / (max - min) * 255 and (x - min) * (255 / (max - min)) differ here.
    std::vector<std::int16_t> px(3001);
    for (int i = 0; i <= 3000; ++i) px[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(i - 1000);
    const Image8 out = to_8bit(view(px, VoxelType::Int16, 3001, 1), IntensityMapping{});
    for (int i = 0; i <= 3000; ++i) {
        const double v = static_cast<double>(i) / 3000.0 * 255.0;
        EXPECT_EQ(out.pixels[static_cast<std::size_t>(i)], static_cast<int>(std::nearbyint(v))) << i;
    }
}

TEST(Intensity, ConstantSliceBecomesZeros) {
    std::vector<std::int16_t> px(16, 42);
    const Image8 out = to_8bit(view(px, VoxelType::Int16, 4, 4), IntensityMapping{});
    for (auto p : out.pixels) EXPECT_EQ(p, 0);
    std::vector<float> f(16, 3.5f);
    for (auto p : to_8bit(view(f, VoxelType::Float32, 4, 4), IntensityMapping{}).pixels) EXPECT_EQ(p, 0);
}

TEST(Intensity, NonFiniteVoxelsAreIgnoredAndMapToZero) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> f = {nan, -100.0f, 0.0f, 100.0f, inf, -inf};
    const Image8 out = to_8bit(view(f, VoxelType::Float32, 6, 1), IntensityMapping{});
    EXPECT_EQ(std::vector<int>(out.pixels.begin(), out.pixels.end()), (std::vector<int>{0, 0, 128, 255, 0, 0}));
    std::vector<float> all_nan(4, nan);
    for (auto p : to_8bit(view(all_nan, VoxelType::Float32, 2, 2), IntensityMapping{}).pixels) EXPECT_EQ(p, 0);
}

TEST(Intensity, WindowClipsToCenterAndWidth) {
    const IntensityMapping w = IntensityMapping::from_string("window:40,400").value();  // [-160, 240]
    std::vector<std::int16_t> px = {-1000, -160, 40, 240, 3000, -159};
    const Image8 out = to_8bit(view(px, VoxelType::Int16, 6, 1), w);
    // (x + 160) / 400 * 255: 40 -> 127.5 -> 128 (even); -159 -> 0.6375 -> 1
    EXPECT_EQ(std::vector<int>(out.pixels.begin(), out.pixels.end()), (std::vector<int>{0, 0, 128, 255, 255, 1}));
    EXPECT_EQ(w.to_string(), "window:40,400");
}

TEST(Intensity, UnsignedAndEightBitInputs) {
    std::vector<std::uint16_t> u16 = {0, 65535, 32768};
    const Image8 a = to_8bit(view(u16, VoxelType::UInt16, 3, 1), IntensityMapping{});
    EXPECT_EQ(std::vector<int>(a.pixels.begin(), a.pixels.end()), (std::vector<int>{0, 255, 128}));
    std::vector<std::uint8_t> u8 = {10, 20, 30};
    const IntensityMapping none = IntensityMapping::from_string("none").value();
    const Image8 b = to_8bit(view(u8, VoxelType::UInt8, 3, 1), none);
    EXPECT_EQ(std::vector<int>(b.pixels.begin(), b.pixels.end()), (std::vector<int>{10, 20, 30}));
    const Image8 c = to_8bit(view(u8, VoxelType::UInt8, 3, 1), IntensityMapping{});
    EXPECT_EQ(std::vector<int>(c.pixels.begin(), c.pixels.end()), (std::vector<int>{0, 128, 255}));
}

TEST(Intensity, NoneRejectsWideInput) {
    std::vector<std::int16_t> px = {1, 2};
    EXPECT_THROW(to_8bit(view(px, VoxelType::Int16, 2, 1), IntensityMapping::from_string("none").value()), InputError);
}

TEST(Intensity, TextFormRoundTrips) {
    for (const char* bad : {"window:40", "window:a,b", "window:40,0", "window:40,-5", "minmix", "window:1,2,3", "",
                            "window:40,400x", "window:nan,400", "window:40,inf"}) {
        EXPECT_FALSE(IntensityMapping::from_string(bad)) << bad;
    }
    EXPECT_EQ(IntensityMapping::from_string("minmax").value().kind, IntensityMapping::Kind::MinMax);
    EXPECT_EQ(IntensityMapping::from_string("window:-600,1500").value().center, -600.0);
    // Every window reads back exactly (the report rebuilds the run's mapping from its text).
    for (const auto& [c, w] : {std::pair{40.0, 400.0}, {-600.0, 1500.0}, {40.123456789, 0.1}, {1e-7, 3e9}}) {
        IntensityMapping m;
        m.kind = IntensityMapping::Kind::Window;
        m.center = c;
        m.width = w;
        const auto back = IntensityMapping::from_string(m.to_string()).value();
        EXPECT_EQ(back.center, c);
        EXPECT_EQ(back.width, w);
    }
    EXPECT_EQ(IntensityMapping::from_string("window:40,400").value().to_string(), "window:40,400");
}

}  // namespace
}  // namespace lessmore
