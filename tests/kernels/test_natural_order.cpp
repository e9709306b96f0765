#include "test_support.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/load.hpp>
#include <lessmore/natural_order.hpp>

#include <algorithm>

namespace lessmore {
namespace {

TEST(NaturalOrder, NumbersCompareByValue) {
    std::vector<std::string> names = {"slice10.png", "slice2.png",   "slice1.png",  "slice002.png",
                                      "a.png",       "slice20b.png", "slice20a.png"};
    std::sort(names.begin(), names.end(), natural_less);
    EXPECT_EQ(names, (std::vector<std::string>{"a.png", "slice1.png", "slice002.png", "slice2.png", "slice10.png",
                                               "slice20a.png", "slice20b.png"}));
}

TEST(NaturalOrder, IsAStrictWeakOrder) {
    EXPECT_FALSE(natural_less("x1", "x1"));
    EXPECT_TRUE(natural_less("I2", "I10"));
    EXPECT_FALSE(natural_less("I10", "I2"));
    EXPECT_TRUE(natural_less("01", "1"));  // equal value: byte order decides
    EXPECT_FALSE(natural_less("1", "01"));
}

}  // namespace
}  // namespace lessmore
