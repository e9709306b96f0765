#pragma once
// Difference hash, bit-identical to imagehash 4.3.1's dhash() on Pillow.
// (docs/methods.md, section "HASH: imagehash dhash")
#include <lessmore/image.hpp>
#include <lessmore/resize_pillow.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

// hash_size^2 bits, row-major, packed most-significant-first into 64-bit words
// (bit 0 of the hash is the top bit of words[0]).
struct DHash {
    int hash_size = 8;
    std::vector<std::uint64_t> words;

    // imagehash's str(): the bits as one big-endian number in ceil(n/4) hex digits.
    std::string hex() const;
    int bit(int index) const;
    // The hash hex() printed, or nothing when text is not ceil(n/4) hex digits of n bits.
    static std::optional<DHash> from_hex(const std::string& text, int hash_size);
};

// Resize to (hash_size + 1) x hash_size with Pillow's LANCZOS, then
// bit(r, c) = pixel(r, c + 1) > pixel(r, c).
DHash dhash(const Image8& image, int hash_size = 8);

// dhash with the resize coefficients computed once per input size (thread-safe).
class DHasher {
public:
    explicit DHasher(int hash_size = 8);
    DHash operator()(const Image8& image) const;
    int hash_size() const { return m_hash_size; }

private:
    std::shared_ptr<const PillowLanczosResizer> resizer_for(int width, int height) const;

    int m_hash_size;
    mutable std::mutex m_mutex;
    mutable std::map<std::pair<int, int>, std::shared_ptr<const PillowLanczosResizer>> m_resizers;
};

// Number of differing bits.
int hamming_distance(const DHash& a, const DHash& b);

}  // namespace lessmore
