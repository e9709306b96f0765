#pragma once
// A HASH unit's feature for the cross-volume pass (docs/methods.md, sections "Slab HASH"
// and "Scope on units"): the hashes of its in-plane crops (a slab's slices, a patch's
// crops), compared position by position with the run's slice HASH metric, max over the
// positions — the rule reduce uses within a volume — as a Metric, so the same pure
// cross_volume_pass (include/lessmore/cross_volume.hpp) runs over units as over slices.
#include <lessmore/metric.hpp>
#include <lessmore/neighbour_index.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

// A HASH unit's feature text: its crops' feature_text (hex digests) joined by ','.
std::optional<std::string> unit_hash_text(const Metric& slice_hash, const std::vector<const Feature*>& crops);

class UnitHashMetric final : public Metric {
public:
    explicit UnitHashMetric(const Metric& slice_hash) : m_hash(slice_hash) {}

    std::string name() const override { return m_hash.name(); }
    Sense sense() const override { return m_hash.sense(); }
    void check_threshold(double t) const override { m_hash.check_threshold(t); }
    bool cheap_compare() const override { return true; }
    // Units are read from their records' text only; nothing is prepared from an image.
    std::unique_ptr<Feature> prepare(const Image8& image) const override;
    // The largest position-by-position distance; NaN (never similar) when the two units
    // hold different numbers of crops (slab:Nmm over volumes of different slice spacing).
    double compare(const Feature& a, const Feature& b) const override;
    // The crops' hex digests joined by ',' (a digest never holds one), and back.
    std::optional<std::string> feature_text(const Feature& f) const override;
    std::unique_ptr<Feature> feature_from_text(const std::string& text) const override;
    // The slice HASH index over each unit's first crop: every unit within the threshold at
    // every position is within it at the first, so its candidates are a superset.
    std::unique_ptr<NeighbourIndex> make_index(double threshold, int threads) const override;

    // A unit's feature made of its crops' hash features, in position order.
    static std::unique_ptr<Feature> make(std::vector<std::unique_ptr<Feature>> crops);

private:
    const Metric& m_hash;
};

}  // namespace lessmore
