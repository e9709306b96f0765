#include <lessmore/dhash.hpp>
#include <lessmore/resize_pillow.hpp>
#include "kernels/cpu_dispatch.hpp"

#include <stdexcept>

namespace lessmore {

int DHash::bit(int index) const {
    return static_cast<int>((words[static_cast<std::size_t>(index) / 64] >> (63 - index % 64)) & 1u);
}

std::string DHash::hex() const {
    // imagehash: int(bit_string, 2) formatted as hex, zero-padded to ceil(bits / 4) digits.
    const int bits = hash_size * hash_size;
    const int digits = (bits + 3) / 4;
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out(static_cast<std::size_t>(digits), '0');
    // The last digit holds the last 4 bits; a short first digit holds the leading bits.
    for (int d = 0; d < digits; ++d) {
        const int last_bit = bits - 1 - 4 * (digits - 1 - d);  // bit index of this digit's LSB
        int value = 0;
        for (int b = 0; b < 4; ++b) {
            const int index = last_bit - b;
            if (index >= 0 && bit(index)) value |= 1 << b;
        }
        out[static_cast<std::size_t>(d)] = k_hex[value];
    }
    return out;
}

std::optional<DHash> DHash::from_hex(const std::string& text, int hash_size) {
    const int bits = hash_size * hash_size;
    const int digits = (bits + 3) / 4;
    if (hash_size < 1 || static_cast<int>(text.size()) != digits) return std::nullopt;
    DHash h;
    h.hash_size = hash_size;
    h.words.assign(static_cast<std::size_t>((bits + 63) / 64), 0);
    for (int d = 0; d < digits; ++d) {
        const char c = text[static_cast<std::size_t>(d)];
        const int value = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (value < 0) return std::nullopt;
        const int last_bit = bits - 1 - 4 * (digits - 1 - d);  // as in hex()
        for (int b = 0; b < 4; ++b) {
            if (!((value >> b) & 1)) continue;
            const int index = last_bit - b;
            if (index < 0) return std::nullopt;  // a bit above the hash's leading bit
            h.words[static_cast<std::size_t>(index / 64)] |= std::uint64_t{1} << (63 - index % 64);
        }
    }
    return h;
}

namespace {

DHash bits_of(const Image8& small, int hash_size) {
    DHash h;
    h.hash_size = hash_size;
    const int bits = hash_size * hash_size;
    h.words.assign(static_cast<std::size_t>((bits + 63) / 64), 0);
    int index = 0;
    for (int r = 0; r < hash_size; ++r) {
        const std::uint8_t* row = small.row(r);
        for (int c = 0; c < hash_size; ++c, ++index) {
            if (row[c + 1] > row[c])
                h.words[static_cast<std::size_t>(index) / 64] |= std::uint64_t{1} << (63 - index % 64);
        }
    }
    return h;
}

}  // namespace

DHash dhash(const Image8& image, int hash_size) { return DHasher(hash_size)(image); }

DHasher::DHasher(int hash_size) : m_hash_size(hash_size) {
    if (hash_size < 2) throw std::invalid_argument("dhash: hash_size must be at least 2");
}

std::shared_ptr<const PillowLanczosResizer> DHasher::resizer_for(int width, int height) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    auto& slot = m_resizers[{width, height}];
    if (!slot) slot = std::make_shared<const PillowLanczosResizer>(width, height, m_hash_size + 1, m_hash_size);
    return slot;
}

DHash DHasher::operator()(const Image8& image) const {
    if (image.width <= 0 || image.height <= 0) throw std::invalid_argument("dhash: empty image");
    return bits_of(resizer_for(image.width, image.height)->resize(image), m_hash_size);
}

// The popcount instruction where the CPU has it (chosen at load time): the cross-volume
// pass scores millions of pairs.
LESSMORE_CLONES_POPCNT int hamming_distance(const DHash& a, const DHash& b) {
    if (a.words.size() != b.words.size()) throw std::invalid_argument("hamming_distance: hash sizes differ");
    int d = 0;
    for (std::size_t i = 0; i < a.words.size(); ++i) d += __builtin_popcountll(a.words[i] ^ b.words[i]);
    return d;
}

}  // namespace lessmore
