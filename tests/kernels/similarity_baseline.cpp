// Compiled only into lessmore_baseline_kernels, with LESSMORE_PORTABLE and the kernels'
// namespace renamed (tests/CMakeLists.txt): the wrappers of similarity_baseline.hpp.
#include "kernels/similarity_baseline.hpp"

#include <lessmore/mutual_information.hpp>
#include <lessmore/ssim.hpp>

namespace similarity_baseline {
namespace {

lessmore::Image8 image(const Slice& s) {
    lessmore::Image8 out(s.width, s.height);
    out.pixels = s.pixels;
    return out;
}

}  // namespace

std::vector<double> ssim_pairs(const std::vector<Slice>& slices) {
    std::vector<lessmore::SsimStats> stats;
    for (const Slice& s : slices) stats.push_back(lessmore::ssim_prepare(image(s)));
    std::vector<double> out;
    for (std::size_t i = 0; i < stats.size(); ++i)
        for (std::size_t j = i + 1; j < stats.size(); ++j) out.push_back(lessmore::ssim_compare(stats[i], stats[j]));
    return out;
}

std::vector<double> nmi_pairs(const std::vector<Slice>& slices, int bins) {
    std::vector<lessmore::MiStats> stats;
    for (const Slice& s : slices) stats.push_back(lessmore::mi_prepare(image(s), bins));
    std::vector<double> out;
    for (std::size_t i = 0; i < stats.size(); ++i)
        for (std::size_t j = i + 1; j < stats.size(); ++j) out.push_back(lessmore::mi_compare(stats[i], stats[j]));
    return out;
}

}  // namespace similarity_baseline
