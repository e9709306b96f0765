#pragma once
// Neighbour indexes on FAISS (the only file that includes it): exact candidate sets, so
// the cross-volume pass gives the brute-force result (tests/kernels/test_cross_volume.cpp).
#include <lessmore/neighbour_index.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace lessmore {

// Binary codes of `bits` bits (packed most-significant-first in 64-bit words), candidates
// within Hamming distance `radius`: multi-index hashing (FAISS IndexBinaryMultiHash: by
// the pigeonhole principle, a code within `radius` is within radius / m of the query in
// one of m substrings) where it pays, else an exhaustive scan (IndexBinaryFlat).
std::unique_ptr<NeighbourIndex> make_hamming_index(int bits, int radius, int threads,
                                                   std::function<const std::uint64_t*(const Feature&)> words);

// Unit vectors of `dims` values, candidates with cosine >= threshold: an exact inner-
// product range search (FAISS IndexFlatIP, one matrix product per block of queries) in
// float32, with a margin far above float32's rounding so no similar item is missed.
std::unique_ptr<NeighbourIndex> make_cosine_index(std::size_t dims, double threshold, int threads,
                                                  std::function<const double*(const Feature&)> unit);

}  // namespace lessmore
