// The export kernels (include/lessmore/intensity.hpp): the mode's text, the 16-bit PNG
// offset from the header's range, value - offset, and the window in [0, 1] as float32.
#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>

#include "io/dicom_values.hpp"
#include "io/voxel_storage.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace lessmore {
namespace {

template <typename T>
SliceView view(const std::vector<T>& v, VoxelType type) {
    return SliceView{v.data(), type, static_cast<int>(v.size()), 1};
}

std::uint32_t bits_of(float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

std::string message_of(const VolumeInfo& info) {
    try {
        png16_offset(info);
    } catch (const InputError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(ExportValues, TextFormRoundTrips) {
    for (const char* text : {"intensity", "minmax", "hu", "window:40,400", "window:-600,1500", "window:0.5,0.25"}) {
        const auto e = ExportValues::from_string(text);
        ASSERT_TRUE(e) << text;
        EXPECT_EQ(e->to_string(), text);
    }
    EXPECT_EQ(ExportValues::from_string("hu")->kind, ExportValues::Kind::Hu);
    EXPECT_EQ(ExportValues::from_string("window:-600,1500")->center, -600.0);
    EXPECT_EQ(ExportValues::from_string("window:-600,1500")->width, 1500.0);
    for (const char* bad : {"", "none", "HU", "window:", "window:1", "window:1,0", "window:1,-2", "window:a,b",
                            "window:1,2,3", "minmax ", "window:nan,1"}) {
        EXPECT_FALSE(ExportValues::from_string(bad)) << bad;
    }
    EXPECT_EQ(ExportValues{}.kind, ExportValues::Kind::Intensity);
}

TEST(ExportValues, PngOffsetIsTheSmallestValueTheHeaderAllows) {
    VolumeInfo info;
    info.type = VoxelType::Int16;
    EXPECT_EQ(png16_offset(info), -32768);  // no narrower range known: the type's
    info.value_range = std::make_pair(-1000.0, 3095.0);
    EXPECT_EQ(png16_offset(info), -1000);
    info.type = VoxelType::UInt8;
    info.value_range.reset();
    EXPECT_EQ(png16_offset(info), 0);
    info.type = VoxelType::UInt16;
    EXPECT_EQ(png16_offset(info), 0);
    // int32 whose header range spans exactly 65536 values fits; one more does not.
    info.type = VoxelType::Int32;
    info.value_range = std::make_pair(-1024.0, 64511.0);
    EXPECT_EQ(png16_offset(info), -1024);
    info.value_range = std::make_pair(-1024.0, 64512.0);
    EXPECT_EQ(message_of(info),
              "--export-values hu: the header allows values from -1024 to 64512, more than a 16-bit PNG holds (use "
              "--format npy, or --export-values window:C,W)");
    info.value_range.reset();
    EXPECT_THROW(png16_offset(info), InputError);
    for (const VoxelType t : {VoxelType::Float32, VoxelType::Float64}) {
        info.type = t;
        info.value_range = std::make_pair(0.0, 10.0);  // a float volume is refused whatever it claims
        EXPECT_NE(
            message_of(info).find(std::string("a ") + voxel_type_name(t) + " volume cannot be written as 16-bit PNG"),
            std::string::npos);
    }
}

// The ranges the readers record (docs/dicom.md, section "Value model").
TEST(ExportValues, ReadersRangesFollowTheValueModel) {
    // DICOM: 16-bit unsigned CT with intercept -1024 is int32 yet spans 65536 values.
    StoredFormat u16;
    u16.type = StoredType::UInt16;
    u16.bits_stored = 16;
    const ValueRule ct{true, 1.0, -1024.0};
    EXPECT_EQ(value_type(u16, ct), VoxelType::Int32);
    EXPECT_EQ(value_range(u16, ct), std::make_pair(-1024.0, 64511.0));
    // 12 bits stored, signed; slope 2.5 truncates toward zero, the intercept too.
    StoredFormat s12;
    s12.type = StoredType::Int16;
    s12.bits_stored = 12;
    EXPECT_EQ(value_range(s12, ValueRule{true, 2.5, -1024.7}), std::make_pair(-6144.0, 4093.0));
    // Other modalities with a fractional slope give float64: no range.
    EXPECT_FALSE(value_range(u16, ValueRule{false, 0.5, 0.0}));
    EXPECT_EQ(value_range(u16, ValueRule{false, -2.0, 10.0}), std::make_pair(-131060.0, 10.0));
    EXPECT_FALSE(union_range(value_range(u16, ct), std::nullopt));
    EXPECT_EQ(union_range(std::make_pair(-5.0, 3.0), std::make_pair(-1.0, 9.0)), std::make_pair(-5.0, 9.0));
    // Volume files: the disk type's range through the scaling, when kept as integers.
    EXPECT_EQ(storage_range(DiskType::Int16, Scaling{1.0, -1024.0}), std::make_pair(-33792.0, 31743.0));
    EXPECT_EQ(storage_range(DiskType::Int8, Scaling{}), std::make_pair(-128.0, 127.0));
    EXPECT_EQ(storage_range(DiskType::UInt16, Scaling{-1.0, 0.0}), std::make_pair(-65535.0, 0.0));
    EXPECT_FALSE(storage_range(DiskType::UInt16, Scaling{0.5, 0.0}));
    EXPECT_FALSE(storage_range(DiskType::Float32, Scaling{}));
    EXPECT_FALSE(storage_range(DiskType::UInt32, Scaling{}));  // kept as float64
}

TEST(ExportValues, SixteenBitIsValueMinusOffset) {
    std::vector<std::uint16_t> out;
    const std::vector<std::int16_t> hu = {-1000, -1, 0, 3095, 64};
    to_16bit(view(hu, VoxelType::Int16), -1000, out);
    EXPECT_EQ(out, (std::vector<std::uint16_t>{0, 999, 1000, 4095, 1064}));
    const std::vector<std::int32_t> wide = {-1024, 64511};
    to_16bit(view(wide, VoxelType::Int32), -1024, out);
    EXPECT_EQ(out, (std::vector<std::uint16_t>{0, 65535}));
    const std::vector<std::int16_t> full = {-32768, 32767};
    to_16bit(view(full, VoxelType::Int16), -32768, out);
    EXPECT_EQ(out, (std::vector<std::uint16_t>{0, 65535}));
    // A value outside [offset, offset + 65535] is an error, never a wrapped pixel.
    const std::vector<std::int32_t> beyond = {-1024, 64512};
    EXPECT_THROW(to_16bit(view(beyond, VoxelType::Int32), -1024, out), InputError);
    const std::vector<std::int16_t> below = {-1001};
    EXPECT_THROW(to_16bit(view(below, VoxelType::Int16), -1000, out), InputError);
    const std::vector<float> f = {1.0f};
    EXPECT_THROW(to_16bit(view(f, VoxelType::Float32), 0, out), InputError);
}

TEST(ExportValues, UnitWindowIsComputedInDoubleThenRoundedToFloat32) {
    std::vector<float> out;
    // window:1.5,3 is [0, 3]: 1/3 in double rounds to float32 0x3eaaaaab.
    const std::vector<std::int16_t> px = {-5, 0, 1, 2, 3, 7};
    to_unit_window(view(px, VoxelType::Int16), 1.5, 3.0, out);
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], 0.0f);
    EXPECT_EQ(bits_of(out[2]), 0x3eaaaaabu);
    EXPECT_EQ(bits_of(out[3]), 0x3f2aaaabu);  // 2/3
    EXPECT_EQ(out[4], 1.0f);
    EXPECT_EQ(out[5], 1.0f);
    // A value float32 cannot hold exactly: the double quotient is rounded once.
    // (16777217 - 0) / 33554432 = 0.5 + 2^-25, a tie between 0.5 and its successor: to even.
    const std::vector<std::int32_t> big = {16777217, 16777219, 16777221};
    to_unit_window(view(big, VoxelType::Int32), 16777216.0, 33554432.0, out);
    EXPECT_EQ(out[0], 0.5f);
    EXPECT_EQ(out[1], std::nextafter(std::nextafter(0.5f, 1.0f), 1.0f));  // 0.5 + 1.5 ulp: to even (2 ulp)
    EXPECT_EQ(out[2], std::nextafter(std::nextafter(0.5f, 1.0f), 1.0f));  // 0.5 + 2.5 ulp: to even (2 ulp)
    // Non-finite values give 0, as in the 8-bit window; the 8-bit window is the same quotient * 255.
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<double> odd = {std::nan(""), inf, -inf, -160.0, 40.0, 240.0};
    to_unit_window(view(odd, VoxelType::Float64), 40.0, 400.0, out);
    EXPECT_EQ(out, (std::vector<float>{0.0f, 0.0f, 0.0f, 0.0f, 0.5f, 1.0f}));
    const Image8 eight =
        to_8bit(view(odd, VoxelType::Float64), ExportValues::from_string("window:40,400")->window_mapping());
    EXPECT_EQ(std::vector<int>(eight.pixels.begin(), eight.pixels.end()), (std::vector<int>{0, 0, 0, 0, 128, 255}));
}

// The 8-bit window rounds (clip(x) - (C - W/2)) / W * 255 half to even: window:0,510 maps
// x to (x + 255) / 2, so odd x + 255 lands on a tie, which goes to the even neighbour (down
// as often as up), never half away from zero.
TEST(ExportValues, EightBitWindowRoundsHalfToEven) {
    const std::vector<std::int16_t> px = {-255, -254, -253, -130, -129, -128, 0, 252, 253, 254, 255, 300};
    const Image8 eight =
        to_8bit(view(px, VoxelType::Int16), ExportValues::from_string("window:0,510")->window_mapping());
    // 0 0.5 1 | 62.5 63 63.5 | 127.5 | 253.5 254 254.5 255 | clipped: ties to the even neighbour.
    EXPECT_EQ(std::vector<int>(eight.pixels.begin(), eight.pixels.end()),
              (std::vector<int>{0, 0, 1, 62, 63, 64, 128, 254, 254, 254, 255, 255}));
}

}  // namespace
}  // namespace lessmore
