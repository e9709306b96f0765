// Pillow's LANCZOS resize, checked against Pillow's own output (tests/golden).
#include "test_support.hpp"

#include <lessmore/resize_pillow.hpp>

namespace lessmore {
namespace {

nlohmann::json golden() { return test::read_json(test::source_dir() / "tests/golden/dhash_golden.json"); }

TEST(ResizeLanczosPillow, MatchesPillowOnEveryGoldenCase) {
    const nlohmann::json g = golden();
    const auto& cases = g.at("resize_cases");
    ASSERT_GE(cases.size(), 10u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.at("name").get<std::string>());
        Image8 in(c.at("width"), c.at("height"));
        const auto bytes = test::base64_decode(c.at("input_b64"));
        ASSERT_EQ(bytes.size(), in.pixels.size());
        in.pixels.assign(bytes.begin(), bytes.end());
        const Image8 out = resize_lanczos_pillow(in, c.at("out_width"), c.at("out_height"));
        const auto expected = test::base64_decode(c.at("output_b64"));
        ASSERT_EQ(out.pixels.size(), expected.size());
        EXPECT_EQ(std::vector<std::uint8_t>(out.pixels.begin(), out.pixels.end()), expected);
    }
}

TEST(ResizeLanczosPillow, ConstantImageStaysConstant) {
    for (int v : {0, 1, 128, 254, 255}) {
        Image8 in(512, 512);
        std::fill(in.pixels.begin(), in.pixels.end(), static_cast<std::uint8_t>(v));
        const Image8 out = resize_lanczos_pillow(in, 9, 8);
        for (std::uint8_t p : out.pixels) EXPECT_EQ(p, v);
    }
}

TEST(ResizeLanczosPillow, SameSizeIsACopy) {
    Image8 in(9, 8);
    for (std::size_t i = 0; i < in.pixels.size(); ++i) in.pixels[i] = static_cast<std::uint8_t>(i * 7);
    EXPECT_EQ(resize_lanczos_pillow(in, 9, 8).pixels, in.pixels);
}

TEST(ResizeLanczosPillow, RejectsEmptySizes) {
    Image8 in(4, 4);
    EXPECT_THROW(resize_lanczos_pillow(in, 0, 8), std::invalid_argument);
    EXPECT_THROW(resize_lanczos_pillow(Image8(), 9, 8), std::invalid_argument);
}

}  // namespace
}  // namespace lessmore
