#pragma once
// How a unit run scores its units (docs/methods.md, section "3-D units"): each unit
// prepared once from the slices a SliceWindow holds, then scored in pairs.
#include <lessmore/cancel.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/unit.hpp>

#include "pipeline/slice_window.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

class UnitScorer {
public:
    virtual ~UnitScorer() = default;
    virtual Sense sense() const = 0;
    // Prepares units [first, end), in parallel; the window holds their slices (when
    // needs_voxels()). Called with consecutive ranges in unit order.
    virtual void prepare(std::size_t first, std::size_t end, ThreadPool& pool, const CancelToken& cancel) = 0;
    // A removed unit's data goes at once (it is never compared again).
    virtual void release(std::size_t /*unit*/) {}
    // Thread-safe for prepared units.
    virtual double score(std::size_t a, std::size_t b) const = 0;
    virtual bool cheap() const { return false; }
    // False when the features come from elsewhere (--features): deciding reads no voxels.
    virtual bool needs_voxels() const { return true; }
    // --save-features: the unit's feature as float32 values (docs/models.md, section
    // "Features of 3-D units"); nullopt for a metric that keeps none.
    virtual std::optional<std::vector<float>> values(std::size_t /*unit*/) const { return std::nullopt; }
    // --scope patient|dataset: the unit's feature as the records keep it (its metric's
    // feature_text; HASH units: unit_hash_text), from which the cross-volume pass reads it.
    virtual std::optional<std::string> text(std::size_t /*unit*/) const { return std::nullopt; }
};

// The scorer of the method (hash: slab or patch HASH; deepnet: --features; ssim, mi: 3-D
// blocks) for `units` of the window's volume. `metric` is the run's slice metric;
// it, `units` and `window` outlive the scorer. Throws InputError naming the features file
// and row when --features does not hold the volume's units.
std::unique_ptr<UnitScorer> make_unit_scorer(const MetricOptions& options, const IntensityMapping& intensity,
                                             const Metric& metric, const UnitSpec& spec,
                                             const std::vector<UnitBox>& units, const SliceWindow& window);

// What no unit metric can do, refused as a usage error naming `--unit ...` (reduce and
// score): slices in name order (no geometry for a unit), --resize, and 3-D SSIM units with
// a side given in voxels shorter than its 7-voxel window.
void check_unit_metric(const UnitSpec& unit, const MetricOptions& options, SliceOrder order);

// DeepNet's model on units, once it is loaded (reduce and score, before any volume is
// read): a 2-D model is refused (it embeds slices), and a 3-D model of fixed depth needs
// units of that many slices, given in slices. Usage errors name --unit and --model.
void check_unit_model(const UnitSpec& unit, const Metric& metric);

}  // namespace lessmore
