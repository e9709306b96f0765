// float16 -> float32 (include/lessmore/half_float.hpp), checked against OpenCV's converter on
// every one of the 65,536 bit patterns: zeros, subnormals, normals, infinities (NaNs as NaN
// with their sign).
#include "test_support.hpp"

#include <lessmore/half_float.hpp>

#include <opencv2/core.hpp>

#include <cmath>
#include <cstring>

namespace lessmore {
namespace {

TEST(HalfFloat, EqualsOpenCvOnEveryPattern) {
    cv::Mat half(1, 65536, CV_16U);
    for (int i = 0; i < 65536; ++i) half.at<std::uint16_t>(0, i) = static_cast<std::uint16_t>(i);
    cv::Mat as_half(1, 65536, CV_16F, half.data);
    cv::Mat expected;
    as_half.convertTo(expected, CV_32F);
    int nans = 0;
    for (int i = 0; i < 65536; ++i) {
        const float got = half_to_float(static_cast<std::uint16_t>(i));
        const float want = expected.at<float>(0, i);
        if (std::isnan(want)) {
            ++nans;
            EXPECT_TRUE(std::isnan(got)) << i;
            EXPECT_EQ(std::signbit(got), std::signbit(want)) << i;
            continue;
        }
        std::uint32_t a = 0, b = 0;
        std::memcpy(&a, &got, 4);
        std::memcpy(&b, &want, 4);
        ASSERT_EQ(a, b) << "pattern " << i << ": " << got << " vs " << want;
    }
    EXPECT_EQ(nans, 2 * 1023);
    EXPECT_EQ(half_to_float(0x3c00), 1.0f);
    EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
}

}  // namespace
}  // namespace lessmore
