#include "pipeline/unit_features.hpp"

#include <lessmore/error.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace lessmore {
namespace {

struct UnitHashFeature final : Feature {
    std::vector<std::unique_ptr<Feature>> crops;
};

const UnitHashFeature& unit_of(const Feature& f) { return static_cast<const UnitHashFeature&>(f); }

// The slice index over the units' first crops.
class FirstCropIndex final : public NeighbourIndex {
public:
    explicit FirstCropIndex(std::unique_ptr<NeighbourIndex> inner) : m_inner(std::move(inner)) {}
    void add(const std::vector<const Feature*>& items) override { m_inner->add(firsts(items)); }
    std::size_t size() const override { return m_inner->size(); }
    std::vector<std::vector<std::uint32_t>> candidates(const std::vector<const Feature*>& queries,
                                                       ThreadPool& pool) const override {
        return m_inner->candidates(firsts(queries), pool);
    }

private:
    static std::vector<const Feature*> firsts(const std::vector<const Feature*>& units) {
        std::vector<const Feature*> out;
        out.reserve(units.size());
        for (const Feature* u : units) out.push_back(unit_of(*u).crops.front().get());
        return out;
    }
    std::unique_ptr<NeighbourIndex> m_inner;
};

}  // namespace

std::unique_ptr<Feature> UnitHashMetric::prepare(const Image8& /*image*/) const {
    throw std::logic_error("UnitHashMetric: units are compared from their crops' hashes");
}

double UnitHashMetric::compare(const Feature& a, const Feature& b) const {
    const auto& x = unit_of(a).crops;
    const auto& y = unit_of(b).crops;
    if (x.size() != y.size()) return std::numeric_limits<double>::quiet_NaN();
    double worst = 0.0;
    for (std::size_t k = 0; k < x.size(); ++k) worst = std::max(worst, m_hash.compare(*x[k], *y[k]));
    return worst;
}

std::optional<std::string> unit_hash_text(const Metric& slice_hash, const std::vector<const Feature*>& crops) {
    std::string text;
    for (const Feature* crop : crops) {
        const auto t = slice_hash.feature_text(*crop);
        if (!t) return std::nullopt;
        if (!text.empty()) text += ',';
        text += *t;
    }
    return text;
}

std::optional<std::string> UnitHashMetric::feature_text(const Feature& f) const {
    std::vector<const Feature*> crops;
    for (const auto& crop : unit_of(f).crops) crops.push_back(crop.get());
    return unit_hash_text(m_hash, crops);
}

std::unique_ptr<Feature> UnitHashMetric::feature_from_text(const std::string& text) const {
    std::vector<std::unique_ptr<Feature>> crops;
    std::size_t begin = 0;
    while (true) {
        const std::size_t comma = text.find(',', begin);
        crops.push_back(m_hash.feature_from_text(text.substr(begin, comma - begin)));  // Error on a bad digest
        if (comma == std::string::npos) break;
        begin = comma + 1;
    }
    return make(std::move(crops));
}

std::unique_ptr<NeighbourIndex> UnitHashMetric::make_index(double threshold, int threads) const {
    auto inner = m_hash.make_index(threshold, threads);
    if (!inner) return nullptr;
    return std::make_unique<FirstCropIndex>(std::move(inner));
}

std::unique_ptr<Feature> UnitHashMetric::make(std::vector<std::unique_ptr<Feature>> crops) {
    if (crops.empty()) throw Error("a unit without hashes");
    auto f = std::make_unique<UnitHashFeature>();
    f->crops = std::move(crops);
    return f;
}

}  // namespace lessmore
