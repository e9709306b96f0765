#pragma once
// DeepNet's neighbour index on FAISS (the only file that includes it): an exact candidate
// set, so the cross-volume pass gives the brute-force result (tests/kernels/test_cross_volume.cpp).
#include <lessmore/neighbour_index.hpp>

#include <cstddef>
#include <functional>
#include <memory>

namespace lessmore {

// Unit vectors of `dims` values, candidates with cosine >= threshold: an exact inner-
// product range search (FAISS IndexFlatIP, one matrix product per block of queries) in
// float32, with a margin far above float32's rounding so no similar item is missed.
std::unique_ptr<NeighbourIndex> make_cosine_index(std::size_t dims, double threshold, int threads,
                                                  std::function<const double*(const Feature&)> unit);

}  // namespace lessmore
