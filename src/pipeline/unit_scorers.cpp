#include "pipeline/unit_scorers.hpp"

#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/unit_similarity.hpp>

#include "pipeline/features.hpp"
#include "pipeline/unit_features.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace lessmore {
namespace {

// Slab and patch HASH (docs/methods.md, section "Slab HASH", rule max): every in-plane
// crop a unit holds (a slab: its whole slices; a patch: its slices cropped to its rows and
// columns) hashed once with the run's HASH metric, units that share a crop sharing its
// hash; two units' distance is the largest of their position-by-position Hamming
// distances — what slab_hash_max_distance computes from the hashes.
class UnitHashScorer : public UnitScorer {
public:
    UnitHashScorer(const Metric& metric, const IntensityMapping& intensity, const std::vector<UnitBox>& units,
                   bool slab, const SliceWindow& window)
        : m_metric(metric), m_intensity(intensity), m_slab(slab), m_window(window), m_crops(units.size()) {
        // Crops listed in the units' order (key: slice, first row, first column), so which
        // crop a hash belongs to never depends on threads.
        std::map<std::array<int, 3>, std::size_t> index;
        for (std::size_t u = 0; u < units.size(); ++u) {
            const UnitBox& b = units[u];
            for (int k = 0; k < b.size[0]; ++k) {
                const std::array<int, 3> key{b.origin[0] + k, b.origin[1], b.origin[2]};
                const auto [it, added] = index.emplace(key, m_keys.size());
                if (added) m_keys.push_back(key);
                m_crops[u].push_back(it->second);
            }
        }
        // Every unit of a run has the same in-plane size.
        m_height = units.empty() ? 0 : units[0].size[1];
        m_width = units.empty() ? 0 : units[0].size[2];
        m_hashes.resize(m_keys.size());
    }
    Sense sense() const override { return Sense::LowerIsSimilar; }
    bool cheap() const override { return true; }

    // The crops of units [first, end) not hashed yet, hashed in parallel.
    void prepare(std::size_t first, std::size_t end, ThreadPool& pool, const CancelToken& cancel) override {
        std::vector<std::size_t> todo;
        for (std::size_t u = first; u < end; ++u)
            for (std::size_t c : m_crops[u])
                if (!m_hashes[c]) todo.push_back(c);
        std::sort(todo.begin(), todo.end());
        todo.erase(std::unique(todo.begin(), todo.end()), todo.end());
        if (m_slab) {
            // A slab's crop is a whole slice: mapped and hashed as a slice run does it.
            NullProgress quiet;
            auto part = prepare_features(
                [&](std::size_t k) { return m_window.slice(static_cast<std::size_t>(m_keys[todo[k]][0])); },
                todo.size(), m_metric, m_intensity, pool, quiet, cancel);
            for (std::size_t k = 0; k < todo.size(); ++k) m_hashes[todo[k]] = std::move(part[k]);
            return;
        }
        // A patch's crop mapped to 8 bits on its own — to_8bit_block of that one slice's
        // rectangle, which maps a crop exactly as a slice run maps a slice of the crop's size
        // (docs/methods.md, section "Intensity of a unit").
        pool.parallel_for(todo.size(), [&](std::size_t k) {
            if (k % 64 == 0) cancel.check();
            const auto& [z, y0, x0] = m_keys[todo[k]];
            const Unit8 crop =
                to_8bit_block({m_window.slice(static_cast<std::size_t>(z))}, x0, y0, m_width, m_height, m_intensity);
            Image8 image;
            image.width = crop.width;
            image.height = crop.height;
            image.pixels = crop.voxels;
            m_hashes[todo[k]] = m_metric.prepare(image);
        });
    }
    double score(std::size_t a, std::size_t b) const override {
        const std::vector<std::size_t>& x = m_crops[a];
        const std::vector<std::size_t>& y = m_crops[b];
        double worst = 0.0;
        for (std::size_t k = 0; k < x.size(); ++k)
            worst = std::max(worst, m_metric.compare(*m_hashes[x[k]], *m_hashes[y[k]]));
        return worst;
    }
    // The unit's hashes' bits as 0/1, position by position (what a slice run saves per slice).
    std::optional<std::vector<float>> values(std::size_t unit) const override {
        std::vector<float> out;
        for (std::size_t c : m_crops[unit]) {
            const auto bits = m_metric.feature_values(*m_hashes[c]);
            if (!bits) return std::nullopt;
            out.insert(out.end(), bits->begin(), bits->end());
        }
        return out;
    }
    std::optional<std::string> text(std::size_t unit) const override {
        std::vector<const Feature*> crops;
        for (std::size_t c : m_crops[unit]) crops.push_back(m_hashes[c].get());
        return unit_hash_text(m_metric, crops);
    }

private:
    const Metric& m_metric;
    const IntensityMapping& m_intensity;
    bool m_slab;
    const SliceWindow& m_window;
    std::vector<std::array<int, 3>> m_keys;          // crop -> (slice, first row, first column)
    std::vector<std::vector<std::size_t>> m_crops;   // unit -> its crops, slice by slice
    std::vector<std::unique_ptr<Feature>> m_hashes;  // crop -> its hash (null until prepared)
    int m_height = 0;
    int m_width = 0;
};

// DeepNet from --features: one embedding per unit, read (Metric::precomputed with the
// volume's unit count: one row per unit, docs/models.md, section "Features of 3-D units"),
// compared by the metric's cosine.
class UnitEmbeddingScorer : public UnitScorer {
public:
    UnitEmbeddingScorer(const Metric& metric, std::vector<std::unique_ptr<Feature>> embeddings)
        : m_metric(metric), m_embeddings(std::move(embeddings)) {}
    Sense sense() const override { return m_metric.sense(); }
    void prepare(std::size_t, std::size_t, ThreadPool&, const CancelToken&) override {}
    bool cheap() const override { return m_metric.cheap_compare(); }
    bool needs_voxels() const override { return false; }
    double score(std::size_t a, std::size_t b) const override {
        return m_metric.compare(*m_embeddings[a], *m_embeddings[b]);
    }
    std::optional<std::vector<float>> values(std::size_t unit) const override {
        return m_metric.feature_values(*m_embeddings[unit]);
    }
    std::optional<std::string> text(std::size_t unit) const override {
        return m_metric.feature_text(*m_embeddings[unit]);
    }

protected:
    const Metric& m_metric;
    std::vector<std::unique_ptr<Feature>> m_embeddings;
};

// DeepNet with a 3-D model (docs/models.md, section "3-D models"): each unit's block
// embedded by the model, units handed over in fixed batches of the metric's batch size
// counted from the range's first unit (the TorchScript runner runs one unit per forward
// pass, so an embedding never depends on its batch), compared by the metric's cosine.
class UnitModelScorer : public UnitEmbeddingScorer {
public:
    UnitModelScorer(const Metric& metric, const IntensityMapping& intensity, const std::vector<UnitBox>& units,
                    const SliceWindow& window)
        : UnitEmbeddingScorer(metric, std::vector<std::unique_ptr<Feature>>(units.size())),
          m_intensity(intensity),
          m_units(units),
          m_window(window) {}
    bool needs_voxels() const override { return true; }
    void prepare(std::size_t first, std::size_t end, ThreadPool& pool, const CancelToken& cancel) override {
        const std::size_t batch = std::max<std::size_t>(1, m_metric.batch_size());
        const std::size_t batches = (end - first + batch - 1) / batch;
        pool.parallel_for(batches, [&](std::size_t k) {
            cancel.check();
            const std::size_t from = first + k * batch;
            const std::size_t to = std::min(end, from + batch);
            std::vector<UnitCrop> crops;
            for (std::size_t unit = from; unit < to; ++unit) {
                const UnitBox& b = m_units[unit];
                UnitCrop crop;
                for (int z = 0; z < b.size[0]; ++z)
                    crop.slices.push_back(m_window.slice(static_cast<std::size_t>(b.origin[0] + z)));
                crop.x0 = b.origin[2];
                crop.y0 = b.origin[1];
                crop.width = b.size[2];
                crop.height = b.size[1];
                crops.push_back(std::move(crop));
            }
            auto features = m_metric.prepare_units(crops, m_intensity);  // InputError: the volume fails
            for (std::size_t unit = from; unit < to; ++unit) m_embeddings[unit] = std::move(features[unit - from]);
        });
    }

private:
    const IntensityMapping& m_intensity;
    const std::vector<UnitBox>& m_units;
    const SliceWindow& m_window;
};

// 3-D SSIM and NMI on each unit's 8-bit block (one mapping over the whole unit).
class BlockScorer : public UnitScorer {
public:
    BlockScorer(bool ssim, int bins, const std::vector<UnitBox>& units, const IntensityMapping& intensity,
                const SliceWindow& window)
        : m_ssim(ssim),
          m_bins(bins),
          m_units(units),
          m_intensity(intensity),
          m_window(window),
          m_ssim_stats(units.size()),
          m_mi_stats(units.size()) {}
    Sense sense() const override { return Sense::HigherIsSimilar; }
    void prepare(std::size_t first, std::size_t end, ThreadPool& pool, const CancelToken& cancel) override {
        pool.parallel_for(end - first, [&](std::size_t k) {
            cancel.check();
            const std::size_t unit = first + k;
            const UnitBox& b = m_units[unit];
            std::vector<SliceView> slices;
            for (int z = 0; z < b.size[0]; ++z)
                slices.push_back(m_window.slice(static_cast<std::size_t>(b.origin[0] + z)));
            const Unit8 block = to_8bit_block(slices, b.origin[2], b.origin[1], b.size[2], b.size[1], m_intensity);
            if (m_ssim) {
                m_ssim_stats[unit] = std::make_unique<Ssim3dStats>(ssim3d_prepare(block));
            } else {
                m_mi_stats[unit] = std::make_unique<MiStats>(mi3d_prepare(block, m_bins));
            }
        });
    }
    void release(std::size_t unit) override {
        m_ssim_stats[unit].reset();
        m_mi_stats[unit].reset();
    }
    double score(std::size_t a, std::size_t b) const override {
        if (m_ssim) return ssim3d_compare(*m_ssim_stats[a], *m_ssim_stats[b]);
        return mi3d_compare(*m_mi_stats[a], *m_mi_stats[b]);
    }

private:
    bool m_ssim;
    int m_bins;
    const std::vector<UnitBox>& m_units;
    const IntensityMapping& m_intensity;
    const SliceWindow& m_window;
    std::vector<std::unique_ptr<Ssim3dStats>> m_ssim_stats;
    std::vector<std::unique_ptr<MiStats>> m_mi_stats;
};

}  // namespace

std::unique_ptr<UnitScorer> make_unit_scorer(const MetricOptions& options, const IntensityMapping& intensity,
                                             const Metric& metric, const UnitSpec& spec,
                                             const std::vector<UnitBox>& units, const SliceWindow& window) {
    const std::string& method = options.method;
    if (method == "hash") {
        return std::make_unique<UnitHashScorer>(metric, intensity, units, spec.kind == UnitSpec::Kind::Slab, window);
    }
    if (method == "deepnet" && metric.model() && metric.model()->depth != 0)
        return std::make_unique<UnitModelScorer>(metric, intensity, units, window);
    if (method == "deepnet") {
        auto embeddings = metric.precomputed(window.info().id, units.size());  // InputError naming file and row
        if (embeddings.size() != units.size())
            throw std::logic_error("make_unit_scorer: deepnet on units without --features");
        return std::make_unique<UnitEmbeddingScorer>(metric, std::move(embeddings));
    }
    return std::make_unique<BlockScorer>(method == "ssim", options.bins, units, intensity, window);
}

void check_unit_metric(const UnitSpec& unit, const MetricOptions& options, SliceOrder order) {
    const std::string what = "--unit " + unit.to_string();
    if (order == SliceOrder::Name)
        throw UsageError(what + ": needs slices in position order (--order name gives no geometry to a unit)");
    // DeepNet with a model: check_unit_model, once the model is read.
    // 3-D SSIM's 7-voxel window must fit every side a unit is given in voxels (a slab's
    // in-plane size and millimetres are checked per volume: that volume then fails).
    if (options.method == "ssim" && !unit.size_mm) {
        const bool patch = unit.kind == UnitSpec::Kind::Patch;
        for (int axis = 0; axis < (patch ? 3 : 1); ++axis)
            if (unit.size[static_cast<std::size_t>(axis)] < k_ssim3d_window)
                throw UsageError(what + ": --method ssim needs units of at least " + std::to_string(k_ssim3d_window) +
                                 " voxels on every side (its 7x7x7 window)");
    }
    if (options.resize != 0) throw UsageError(what + ": --resize is not supported on units");
}

void check_unit_model(const UnitSpec& unit, const Metric& metric) {
    const ModelDescription* model = metric.model();
    if (metric.name() != "deepnet" || !model || model->runtime == "features") return;
    const std::string what = "--unit " + unit.to_string();
    // A 2-D model (a Python callback too: it is handed slices) embeds slices; a unit needs a
    // model of 3-D input, or embeddings from elsewhere (docs/models.md, sections "3-D
    // models" and "Features of 3-D units").
    if (model->depth == 0)
        throw UsageError(
            what + ": --method deepnet: " +
            (model->runtime == "callback" ? std::string("embed= (a callback)") : "--model " + model->name) +
            " embeds 2-D slices; on units give a 3-D model (its sidecar's 'depth', TorchScript) or "
            "--features DIR (one embedding per unit, computed elsewhere)");
    if (model->depth == k_any_depth) return;
    if (unit.size_mm)
        throw UsageError(what + ": --model " + model->name + " takes units of exactly " + std::to_string(model->depth) +
                         " slices; give the unit's depth in slices, not mm");
    if (unit.size[0] != model->depth)
        throw UsageError(what + ": --model " + model->name + " takes units of " + std::to_string(model->depth) +
                         " slices, this unit has " + std::to_string(unit.size[0]));
}

}  // namespace lessmore
