#pragma once
// The exact Hamming-radius index of HASH's cross-volume pass (include/lessmore/cross_volume.hpp).
#include <lessmore/neighbour_index.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace lessmore {

// Binary codes of `bits` bits (packed most-significant-first in 64-bit words), candidates
// exactly the codes within Hamming distance `radius` of the query: multi-index hashing
// (docs/methods.md, section "Scope") where it pays, else an exhaustive scan — always
// below `scan_below` codes, where building the tables costs more than scanning.
// The distances are counted with AVX-512 or the popcount instruction where the CPU has
// them (chosen at run time), portable code otherwise; `Scalar` forces the one-code-at-a-time
// loop on any CPU (tests).
inline constexpr std::size_t k_hamming_scan_below = 4096;
enum class HammingScan { Fastest, Scalar };
std::unique_ptr<NeighbourIndex> make_hamming_index(int bits, int radius,
                                                   std::function<const std::uint64_t*(const Feature&)> words,
                                                   std::size_t scan_below = k_hamming_scan_below,
                                                   HammingScan scan = HammingScan::Fastest);

}  // namespace lessmore
