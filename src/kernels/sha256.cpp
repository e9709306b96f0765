#include <lessmore/sha256.hpp>

#include <nettle/sha2.h>

namespace lessmore {

std::string sha256_hex(const void* bytes, std::size_t size) {
    sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, size, static_cast<const std::uint8_t*>(bytes));
    std::uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof digest, digest);
    std::string hex(2 * sizeof digest, '0');
    static constexpr char k_digits[] = "0123456789abcdef";
    for (std::size_t i = 0; i < sizeof digest; ++i) {
        hex[2 * i] = k_digits[digest[i] >> 4];
        hex[2 * i + 1] = k_digits[digest[i] & 15];
    }
    return hex;
}

}  // namespace lessmore
