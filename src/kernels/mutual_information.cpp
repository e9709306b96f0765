// Normalized mutual information as scikit-image 0.19 computes it (docs/methods.md, sections "NMI (mutual information)"
// and "NMI histogram binning").
#include <lessmore/error.hpp>
#include <lessmore/mutual_information.hpp>
#include <lessmore/ssim.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace lessmore {
namespace {

// -sum p log p over counts n / total (zero counts contribute nothing).
template <typename Count>
double entropy(const Count* counts, std::size_t n, double total) {
    double h = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        if (counts[i] == 0) continue;
        const double p = static_cast<double>(counts[i]) / total;
        h -= p * std::log(p);
    }
    return h;
}

}  // namespace

MiStats mi_prepare(const Image8& image, int bins) {
    if (bins < 2 || bins > 65535) throw InputError("mi: bins must be from 2 to 65535");
    MiStats s;
    s.bins = bins;
    if (image.pixels.empty()) throw InputError("mi: empty slice");
    const auto [lo_it, hi_it] = std::minmax_element(image.pixels.begin(), image.pixels.end());
    // numpy.histogramdd: edges = linspace(min, max, bins + 1) over the image's own range
    // (a constant image uses [v - 0.5, v + 0.5]); bin = searchsorted(edges, v, 'right') - 1,
    // and v equal to the last edge goes into the last bin. linspace's edge i is
    // i * ((stop - start) / bins) + start, the last one exactly stop.
    double start = *lo_it, stop = *hi_it;
    if (start == stop) {
        start -= 0.5;
        stop += 0.5;
    }
    const double step = (stop - start) / bins;
    std::vector<double> edges(static_cast<std::size_t>(bins) + 1);
    for (int i = 0; i < bins; ++i) {
        const double scaled = static_cast<double>(i) * step;  // two roundings, as numpy
        edges[static_cast<std::size_t>(i)] = scaled + start;
    }
    edges[static_cast<std::size_t>(bins)] = stop;
    std::uint16_t lut[256];
    for (int v = 0; v < 256; ++v) {
        const auto count = std::upper_bound(edges.begin(), edges.end(), static_cast<double>(v)) - edges.begin();
        long b = static_cast<long>(count) - 1;
        if (static_cast<double>(v) == edges.back()) b = bins - 1;
        lut[v] = static_cast<std::uint16_t>(std::clamp<long>(b, 0, bins - 1));  // values outside never occur
    }
    s.bin.resize(image.pixels.size());
    std::vector<std::uint32_t> hist(static_cast<std::size_t>(bins), 0);
    for (std::size_t i = 0; i < image.pixels.size(); ++i) {
        s.bin[i] = lut[image.pixels[i]];
        ++hist[s.bin[i]];
    }
    s.entropy = entropy(hist.data(), hist.size(), static_cast<double>(image.pixels.size()));
    return s;
}

double mi_compare(const MiStats& a, const MiStats& b) {
    if (a.bin.size() != b.bin.size() || a.bins != b.bins) throw InputError("mi: slices of different sizes");
    const std::size_t n = a.bin.size();
    const auto bins = static_cast<std::size_t>(a.bins);
    // Two interleaved histograms halve the store-to-load stalls of runs of equal bins
    // (CT background).
    std::vector<std::uint32_t> joint(2 * bins * bins, 0);
    std::uint32_t* h0 = joint.data();
    std::uint32_t* h1 = joint.data() + bins * bins;
    std::size_t i = 0;
    for (; i + 1 < n; i += 2) {
        ++h0[a.bin[i] * bins + b.bin[i]];
        ++h1[a.bin[i + 1] * bins + b.bin[i + 1]];
    }
    if (i < n) ++h0[a.bin[i] * bins + b.bin[i]];
    for (std::size_t k = 0; k < bins * bins; ++k) h0[k] += h1[k];
    const double joint_entropy = entropy(h0, bins * bins, static_cast<double>(n));
    return (a.entropy + b.entropy) / joint_entropy;
}

double normalized_mutual_information(const Image8& a, const Image8& b, int bins) {
    return mi_compare(mi_prepare(a, bins), mi_prepare(b, bins));
}

}  // namespace lessmore
