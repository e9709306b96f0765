// Numbers as the manifests print them (docs/output.md, section "Numbers"). The expected
// texts are what Python prints for the same values: repr(float(numpy.float32(x))) for a
// float32 field's shortest decimal, repr(float) for the rest.
#include <lessmore/number_format.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace lessmore {
namespace {

TEST(NumberFormat, Float32FieldsPrintAsTheirShortestDecimal) {
    const double stored = static_cast<double>(540.2f);  // what a NIfTI-1 header field holds
    EXPECT_EQ(format_number(stored), "540.2000122070312");
    EXPECT_EQ(format_number(float32_decimal(stored)), "540.2");
    EXPECT_EQ(format_number(float32_decimal(static_cast<double>(0.1f))), "0.1");
    EXPECT_EQ(format_number(float32_decimal(static_cast<double>(-177.95633f))), "-177.95633");
    EXPECT_EQ(float32_decimal(static_cast<float>(float32_decimal(stored))), float32_decimal(stored));  // stable
    // -0 (a flipped axis) prints as 0; what a float32 cannot hold is left alone.
    EXPECT_FALSE(std::signbit(float32_decimal(-0.0)));
    EXPECT_EQ(float32_decimal(1e300), 1e300);
    EXPECT_TRUE(std::isnan(float32_decimal(std::numeric_limits<double>::quiet_NaN())));
}

TEST(NumberFormat, ComputedDecimalsLoseTheirBinaryNoise) {
    EXPECT_EQ(format_number(0.1 + 0.2), "0.30000000000000004");
    EXPECT_EQ(format_number(decimal15(0.1 + 0.2)), "0.3");
    EXPECT_EQ(format_number(decimal15(2.9999999999999996)), "3");
    EXPECT_EQ(format_number(decimal15(2.999999999999986)), "2.99999999999999");
    EXPECT_EQ(format_number(decimal15(-33.6654949295486)), "-33.6654949295486");  // 15 digits kept
    EXPECT_FALSE(std::signbit(decimal15(-0.0)));
    EXPECT_TRUE(std::isinf(decimal15(std::numeric_limits<double>::infinity())));
}

}  // namespace
}  // namespace lessmore
