// The CLI's option parsers: typed values from what users type, errors naming the option.
#include "test_support.hpp"

#include "option_parsers.hpp"

#include <lessmore/error.hpp>

namespace lessmore::cli {
namespace {

template <typename F>
void expect_usage_error(F&& f, const std::string& option, const std::string& text) {
    try {
        f();
        ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
    }
}

TEST(OptionParsers, Shard) {
    EXPECT_EQ(parse_shard("3/10"), std::make_pair(3, 10));
    EXPECT_EQ(parse_shard("1/1"), std::make_pair(1, 1));
    for (const char* bad : {"0/3", "4/3", "3", "/3", "3/", "a/b", "1/3x", "1.5/3", "-1/3", "1/200000", ""}) {
        expect_usage_error([&] { parse_shard(bad); }, "--shard", bad);
    }
}

TEST(OptionParsers, Memory) {
    EXPECT_EQ(parse_memory("1024"), 1024u);
    EXPECT_EQ(parse_memory("500M"), 500ull << 20);
    EXPECT_EQ(parse_memory("8G"), 8ull << 30);
    EXPECT_EQ(parse_memory("8gib"), 8ull << 30);
    EXPECT_EQ(parse_memory("1.5G"), 3ull << 29);
    EXPECT_EQ(parse_memory("2TB"), 2ull << 40);
    for (const char* bad : {"", "G", "-1G", "0", "8X", "1e30T", "nan", "8 G"}) {
        expect_usage_error([&] { parse_memory(bad); }, "--max-memory", bad);
    }
}

TEST(OptionParsers, Range) {
    EXPECT_EQ(parse_range("0:100"), std::make_pair(std::optional<std::size_t>(0), std::optional<std::size_t>(100)));
    EXPECT_EQ(parse_range(":5").first, std::nullopt);
    EXPECT_EQ(parse_range(":5").second, 5u);
    EXPECT_EQ(parse_range("7:").first, 7u);
    EXPECT_EQ(parse_range("7:").second, std::nullopt);
    for (const char* bad : {"5", "a:b", "-1:5", "1:+5", "1.5:3", "1:2:3"}) {
        expect_usage_error([&] { parse_range(bad); }, "--range", bad);
    }
}

TEST(OptionParsers, Thresholds) {
    EXPECT_EQ(parse_thresholds("6,8,10"), (std::vector<double>{6, 8, 10}));
    EXPECT_EQ(parse_thresholds("0:3:1"), (std::vector<double>{0, 1, 2, 3}));
    // Steps that do not add up exactly in binary still give the decimal values.
    EXPECT_EQ(parse_thresholds("0.9:0.93:0.01"), (std::vector<double>{0.9, 0.91, 0.92, 0.93}));
    EXPECT_EQ(parse_thresholds("0.5"), (std::vector<double>{0.5}));
    for (const char* bad : {"", "a", "1,,2", "5:1:1", "0:1:0", "0:1", "0:1:2:3", "0:100000:1", "nan", "1,inf"}) {
        expect_usage_error([&] { parse_thresholds(bad); }, "--thresholds", bad);
    }
}

TEST(OptionParsers, Intensity) {
    EXPECT_EQ(parse_intensity("minmax").kind, IntensityMapping::Kind::MinMax);
    EXPECT_EQ(parse_intensity("none").kind, IntensityMapping::Kind::None);
    const IntensityMapping w = parse_intensity("window:-600,1500");
    EXPECT_EQ(w.kind, IntensityMapping::Kind::Window);
    EXPECT_EQ(w.center, -600.0);
    EXPECT_EQ(w.width, 1500.0);
    for (const char* bad : {"window:40", "window:a,b", "window:40,0", "window:40,-5", "minmix", "window:1,2,3", ""}) {
        expect_usage_error([&] { parse_intensity(bad); }, "--intensity", bad);
    }
    try {
        parse_intensity("window:40,-5");
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("width must be positive"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lessmore::cli
