#pragma once
// The similarity kernels as the portable build compiles them (no target_clones: the
// baseline instruction set), linked into the tests beside the dispatched ones
// (tests/CMakeLists.txt, lessmore_baseline_kernels), so that one test binary can compare
// the two code paths bit for bit. Standard types only: the kernels' own types live in a
// namespace of their own there.
#include <cstdint>
#include <vector>

namespace similarity_baseline {

struct Slice {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;
};

// SSIM and NMI (bins) of every pair i < j, row by row.
std::vector<double> ssim_pairs(const std::vector<Slice>& slices);
std::vector<double> nmi_pairs(const std::vector<Slice>& slices, int bins);

}  // namespace similarity_baseline
