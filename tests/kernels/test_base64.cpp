// Base64 (include/lessmore/base64.hpp): RFC 4648's test vectors, round trips of every byte,
// and refusal of text that is not canonical padded base64 (run records carry embeddings in
// it, so damage must be noticed, not decoded into other numbers).
#include "test_support.hpp"

#include <lessmore/base64.hpp>

namespace lessmore {
namespace {

TEST(Base64, Rfc4648Vectors) {
    const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                      {"f", "Zg=="},
                                                                      {"fo", "Zm8="},
                                                                      {"foo", "Zm9v"},
                                                                      {"foob", "Zm9vYg=="},
                                                                      {"fooba", "Zm9vYmE="},
                                                                      {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, coded] : vectors) {
        EXPECT_EQ(base64_encode(plain), coded) << plain;
        EXPECT_EQ(base64_decode(coded).value_or("<refused>"), plain) << coded;
    }
}

TEST(Base64, EveryByteRoundTrips) {
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
    for (std::size_t n = 0; n <= all.size(); n += 37) {
        const std::string part = all.substr(0, n);
        const std::string coded = base64_encode(part);
        EXPECT_EQ(coded.size() % 4, 0u);
        EXPECT_EQ(*base64_decode(coded), part) << n;
    }
    EXPECT_EQ(*base64_decode(base64_encode(std::string("\0\xff\x10", 3))), std::string("\0\xff\x10", 3));
}

TEST(Base64, RejectsNonCanonicalText) {
    for (const char* bad :
         {"Zm8", "Zm9=", "Z===", "Zm=8", "Zm8=Zm8=", "Zm 8", "Zm8*", "Zg", "Zh==", "====", "Zm9v\n"}) {
        EXPECT_FALSE(base64_decode(bad)) << bad;
    }
}

}  // namespace
}  // namespace lessmore
