#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

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

// The integer paths look values up in tables (src/kernels/intensity.cpp); each voxel must
// map as the per-value formula maps the same number given as float64 (which has no table).
template <typename T>
void expect_table_equals_formula(const std::vector<T>& px, VoxelType type, int w, int h,
                                 const IntensityMapping& mapping) {
    const std::vector<double> as_double(px.begin(), px.end());
    const Image8 got = to_8bit(view(px, type, w, h), mapping);
    const Image8 want = to_8bit(view(as_double, VoxelType::Float64, w, h), mapping);
    ASSERT_EQ(got.pixels.size(), want.pixels.size());
    for (std::size_t i = 0; i < px.size(); ++i)
        ASSERT_EQ(got.pixels[i], want.pixels[i]) << "voxel " << i << " value " << static_cast<double>(px[i]);
}

template <typename T>
std::vector<T> every_value_shuffled(std::int64_t lo, std::int64_t hi, std::size_t n, unsigned seed) {
    std::vector<T> px(n);
    std::mt19937 rng(seed);
    for (std::size_t i = 0; i < n; ++i)
        px[i] = static_cast<T>(lo + static_cast<std::int64_t>(i % static_cast<std::size_t>(hi - lo + 1)));
    std::shuffle(px.begin(), px.end(), rng);
    return px;
}

TEST(Intensity, IntegerTablesEqualThePerValueFormula) {
    const IntensityMapping minmax{}, window{IntensityMapping::Kind::Window, 40.0, 400.0};
    // Every int16 and uint16 value (a width of 263: rows are not a multiple of 8 voxels).
    const auto i16 = every_value_shuffled<std::int16_t>(-32768, 32767, 263 * 250, 1);
    const auto u16 = every_value_shuffled<std::uint16_t>(0, 65535, 263 * 250, 2);
    const auto u8 = every_value_shuffled<std::uint8_t>(0, 255, 263 * 3, 3);
    const auto ct = every_value_shuffled<std::int16_t>(-1024, 3071, 61 * 67, 4);  // CT's usual range
    const auto i32_narrow = every_value_shuffled<std::int32_t>(-70000, 70000, 263 * 250, 5);
    const auto i32_wide = every_value_shuffled<std::int32_t>(-2000000000, 2000000000, 263 * 250, 6);
    for (const IntensityMapping& m : {minmax, window}) {
        SCOPED_TRACE(m.to_string());
        expect_table_equals_formula(i16, VoxelType::Int16, 263, 250, m);
        expect_table_equals_formula(u16, VoxelType::UInt16, 263, 250, m);
        expect_table_equals_formula(u8, VoxelType::UInt8, 263, 3, m);
        expect_table_equals_formula(ct, VoxelType::Int16, 61, 67, m);
        expect_table_equals_formula(i32_narrow, VoxelType::Int32, 263, 250, m);
        expect_table_equals_formula(i32_wide, VoxelType::Int32, 263, 250, m);
    }
    // A slice of one value, and slices shorter than the 8-voxel step.
    expect_table_equals_formula(std::vector<std::int16_t>(5, -7), VoxelType::Int16, 5, 1, minmax);
    expect_table_equals_formula(std::vector<std::uint16_t>{65535, 0, 3}, VoxelType::UInt16, 3, 1, minmax);
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
