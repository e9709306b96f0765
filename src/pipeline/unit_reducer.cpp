#include "pipeline/unit_reducer.hpp"

#include <lessmore/files.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/unit.hpp>
#include <lessmore/unit_similarity.hpp>

#include "io/feature_files.hpp"
#include "io/nifti_writer.hpp"
#include "pipeline/features.hpp"
#include "pipeline/unit_features.hpp"
#include "pipeline/volume_reducer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

// A unit metric: each unit prepared once (thread-safe for distinct units), then scored in
// pairs (thread-safe).
class UnitScorer {
public:
    virtual ~UnitScorer() = default;
    virtual Sense sense() const = 0;
    virtual void prepare(std::size_t unit) = 0;
    virtual void release(std::size_t /*unit*/) {}
    virtual double score(std::size_t a, std::size_t b) const = 0;
    virtual bool cheap() const { return false; }
    // --save-features: the unit's feature as float32 values (docs/models.md, section
    // "Features of 3-D units"); nullopt for a metric that keeps none.
    virtual std::optional<std::vector<float>> values(std::size_t /*unit*/) const { return std::nullopt; }
    // --scope patient|dataset: the unit's feature as the records keep it (its metric's
    // feature_text; HASH units: unit_hash_text), from which the cross-volume pass reads it.
    virtual std::optional<std::string> text(std::size_t /*unit*/) const { return std::nullopt; }
};

// Slab and patch HASH (docs/methods.md, section "Slab HASH", rule max): every in-plane
// crop a unit holds (a slab: its whole slices; a patch: its slices cropped to its rows and
// columns) hashed once with the run's HASH metric, units that share a crop sharing its
// hash; two units' distance is the largest of their position-by-position Hamming
// distances — what slab_hash_max_distance computes from the hashes.
class UnitHashScorer : public UnitScorer {
public:
    // crops[u]: unit u's crops (indices into `hashes`), slice by slice.
    UnitHashScorer(const Metric& metric, std::vector<std::unique_ptr<Feature>> hashes,
                   std::vector<std::vector<std::size_t>> crops)
        : m_metric(metric), m_hashes(std::move(hashes)), m_crops(std::move(crops)) {}
    Sense sense() const override { return Sense::LowerIsSimilar; }
    void prepare(std::size_t) override {}
    bool cheap() const override { return true; }
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
    std::vector<std::unique_ptr<Feature>> m_hashes;
    std::vector<std::vector<std::size_t>> m_crops;
};

// The scorer for a slab HASH run: each slice hashed once (prepare_features, as a slice run
// maps and hashes it).
std::unique_ptr<UnitScorer> slab_hash_scorer(const Volume& volume, const std::vector<UnitBox>& units,
                                             const Metric& metric, const IntensityMapping& intensity, ThreadPool& pool,
                                             ProgressSink& progress, const CancelToken& cancel) {
    std::vector<std::vector<std::size_t>> crops(units.size());
    for (std::size_t u = 0; u < units.size(); ++u)
        for (int k = 0; k < units[u].size[0]; ++k) crops[u].push_back(static_cast<std::size_t>(units[u].origin[0] + k));
    return std::make_unique<UnitHashScorer>(
        metric, prepare_features(volume, 0, volume.slice_count(), metric, intensity, pool, progress, cancel),
        std::move(crops));
}

// The scorer for a patch HASH run: each distinct crop (slice z, rows y0.., columns x0..)
// mapped to 8 bits on its own — to_8bit_block of that one slice's rectangle, which maps a
// crop exactly as a slice run maps a slice of the crop's size (docs/methods.md, section
// "Intensity of a unit") — and hashed once, in parallel; crops listed in the units' order,
// so the features never depend on threads.
std::unique_ptr<UnitScorer> patch_hash_scorer(const Volume& volume, const std::vector<UnitBox>& units,
                                              const Metric& metric, const IntensityMapping& intensity, ThreadPool& pool,
                                              const CancelToken& cancel) {
    std::map<std::array<int, 3>, std::size_t> index;  // crop (z, y0, x0) -> its hash
    std::vector<std::array<int, 3>> listed;
    std::vector<std::vector<std::size_t>> crops(units.size());
    for (std::size_t u = 0; u < units.size(); ++u) {
        const UnitBox& b = units[u];
        for (int k = 0; k < b.size[0]; ++k) {
            const std::array<int, 3> key{b.origin[0] + k, b.origin[1], b.origin[2]};
            const auto [it, added] = index.emplace(key, listed.size());
            if (added) listed.push_back(key);
            crops[u].push_back(it->second);
        }
    }
    // Every patch of a run has the same in-plane size.
    const int height = units.empty() ? 0 : units[0].size[1];
    const int width = units.empty() ? 0 : units[0].size[2];
    std::vector<std::unique_ptr<Feature>> hashes(listed.size());
    pool.parallel_for(listed.size(), [&](std::size_t c) {
        if (c % 64 == 0) cancel.check();
        const auto& [z, y0, x0] = listed[c];
        const Unit8 crop = to_8bit_block({volume.slice(static_cast<std::size_t>(z))}, x0, y0, width, height, intensity);
        Image8 image;
        image.width = crop.width;
        image.height = crop.height;
        image.pixels = crop.voxels;
        hashes[c] = metric.prepare(image);
    });
    return std::make_unique<UnitHashScorer>(metric, std::move(hashes), std::move(crops));
}

// DeepNet from --features: one embedding per unit, read (Metric::precomputed with the
// volume's unit count: one row per unit, docs/models.md, section "Features of 3-D units"),
// compared by the metric's cosine.
class UnitEmbeddingScorer : public UnitScorer {
public:
    UnitEmbeddingScorer(const Metric& metric, std::vector<std::unique_ptr<Feature>> embeddings)
        : m_metric(metric), m_embeddings(std::move(embeddings)) {}
    Sense sense() const override { return m_metric.sense(); }
    void prepare(std::size_t) override {}
    bool cheap() const override { return m_metric.cheap_compare(); }
    double score(std::size_t a, std::size_t b) const override {
        return m_metric.compare(*m_embeddings[a], *m_embeddings[b]);
    }
    std::optional<std::vector<float>> values(std::size_t unit) const override {
        return m_metric.feature_values(*m_embeddings[unit]);
    }
    std::optional<std::string> text(std::size_t unit) const override {
        return m_metric.feature_text(*m_embeddings[unit]);
    }

private:
    const Metric& m_metric;
    std::vector<std::unique_ptr<Feature>> m_embeddings;
};

// 3-D SSIM and NMI on each unit's 8-bit block (one mapping over the whole unit).
class BlockScorer : public UnitScorer {
public:
    BlockScorer(bool ssim, int bins, const Volume& volume, const std::vector<UnitBox>& units,
                const IntensityMapping& intensity)
        : m_ssim(ssim),
          m_bins(bins),
          m_volume(volume),
          m_units(units),
          m_intensity(intensity),
          m_ssim_stats(units.size()),
          m_mi_stats(units.size()) {}
    Sense sense() const override { return Sense::HigherIsSimilar; }
    void prepare(std::size_t unit) override {
        const UnitBox& b = m_units[unit];
        std::vector<SliceView> slices;
        for (int k = 0; k < b.size[0]; ++k) slices.push_back(m_volume.slice(static_cast<std::size_t>(b.origin[0] + k)));
        const Unit8 block = to_8bit_block(slices, b.origin[2], b.origin[1], b.size[2], b.size[1], m_intensity);
        if (m_ssim) {
            m_ssim_stats[unit] = std::make_unique<Ssim3dStats>(ssim3d_prepare(block));
        } else {
            m_mi_stats[unit] = std::make_unique<MiStats>(mi3d_prepare(block, m_bins));
        }
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
    const Volume& m_volume;
    const std::vector<UnitBox>& m_units;
    const IntensityMapping& m_intensity;
    std::vector<std::unique_ptr<Ssim3dStats>> m_ssim_stats;
    std::vector<std::unique_ptr<MiStats>> m_mi_stats;
};

constexpr std::int64_t k_max_units = 1000000;
constexpr std::int64_t k_max_pairs_units = 16384;

// Units prepared at a time ahead of the leader walk: fixed, so nothing depends on threads.
constexpr std::size_t k_unit_chunk = 8;
// Candidates scored per leader step for SSIM/MI (in parallel); fixed for the same reason.
constexpr std::size_t k_unit_block = 4;

PruneResult prune_units(UnitScorer& scorer, std::size_t n, const ReduceConfig& config, ThreadPool& pool,
                        const CancelToken& cancel) {
    std::size_t prepared = 0;
    auto prepare_up_to = [&](std::size_t last) {
        if (n == 0 || last < prepared) return;
        const std::size_t end = std::min(n, std::max(last + 1, prepared + k_unit_chunk));
        pool.parallel_for(end - prepared, [&](std::size_t k) {
            cancel.check();
            scorer.prepare(prepared + k);
        });
        prepared = end;
    };
    if (config.resolved_strategy() == Strategy::Leader) {
        LeaderOptions options;
        options.block = scorer.cheap() ? 1 : k_unit_block;
        options.neighbours = config.neighbours;
        options.decided = [&](std::size_t i, bool kept) {
            prepare_up_to(i);
            if (!kept) scorer.release(i);  // a removed unit's data goes at once
        };
        const ScoresAgainst scores = [&](std::size_t i, const std::vector<std::size_t>& cand,
                                         std::vector<double>& out) {
            cancel.check();
            prepare_up_to(i);
            if (scorer.cheap() || cand.size() == 1) {
                for (std::size_t k = 0; k < cand.size(); ++k) out[k] = scorer.score(i, cand[k]);
                return;
            }
            pool.parallel_for(cand.size(), [&](std::size_t k) { out[k] = scorer.score(i, cand[k]); });
        };
        return prune_leader(n, scores, scorer.sense(), *config.threshold, options);
    }
    prepare_up_to(n - 1);
    ScoreMatrix m(n);
    std::fill(m.values.begin(), m.values.end(), std::numeric_limits<double>::quiet_NaN());  // NaN: not scored
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    const std::size_t reach = config.neighbours.value_or(n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n && j - i <= reach; ++j) pairs.emplace_back(i, j);
    std::vector<double> scores(pairs.size());
    pool.parallel_for(pairs.size(), [&](std::size_t k) {
        if (k % 64 == 0) cancel.check();
        scores[k] = scorer.score(pairs[k].first, pairs[k].second);
    });
    for (std::size_t k = 0; k < pairs.size(); ++k) m.set(pairs[k].first, pairs[k].second, scores[k]);
    PairsTarget target;
    target.threshold = config.threshold;
    target.fraction = config.fraction;
    return prune_pairs(m, scorer.sense(), target);
}

// --save-features: a row per unit, in grid order, in the --features layout (the file the
// id gives; DIR/index.csv is written at the end of the run with the unit counts).
void save_features(const UnitScorer& scorer, std::size_t n, const std::string& id, const std::string& dir) {
    std::vector<std::vector<float>> rows(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto v = scorer.values(i);
        if (!v) throw std::logic_error("UnitReducer: a unit without features to save");
        rows[i] = std::move(*v);
    }
    write_volume_features(dir, id, rows);
}

std::string shape_text(const std::array<int, 3>& shape) {
    return std::to_string(shape[0]) + "x" + std::to_string(shape[1]) + "x" + std::to_string(shape[2]);
}

}  // namespace

UnitReducer::UnitReducer(const ReduceConfig& config, const Metric* slice_metric, fs::path out_dir)
    : m_config(config), m_metric(slice_metric), m_out(std::move(out_dir)) {}

void UnitReducer::run(const Volume& volume, VolumeRecord& record, ThreadPool& pool, ProgressSink& progress,
                      const CancelToken& cancel) const {
    const VolumeInfo& info = volume.info();
    const std::array<int, 3> shape{static_cast<int>(info.slice_count()), info.height, info.width};
    const UnitSpec spec = resolve_unit_spec(m_config.unit, shape, info.spacing[2]);
    // Grids too large to hold are refused before they are listed: every unit is a manifest
    // row, and pairs scores a units x units matrix (16384 units: 2 GiB of doubles).
    const std::int64_t listed = count_units(spec, shape)[0];
    const bool pairs = m_metric && m_config.resolved_strategy() == Strategy::Pairs;
    const std::int64_t most = pairs ? k_max_pairs_units : k_max_units;
    if (listed > most) {
        throw InputError(info.id + ": --unit " + m_config.unit.to_string() + " gives " + std::to_string(listed) +
                         " units, more than " + std::to_string(most) + (pairs ? " for --strategy pairs" : "") +
                         " (use larger units or strides)");
    }
    const UnitGrid grid = enumerate_units(spec, shape);
    if (grid.units.empty()) {
        throw VolumeSkipped(info.id + ": smaller than one unit (--unit " + m_config.unit.to_string() + ": " +
                            shape_text(spec.size) + " voxels z,y,x; the volume has " + shape_text(shape) + ")");
    }
    // The volume's unit in slices (slab:10mm becomes slab:15:15 at 0.67 mm); the run's
    // parameters keep the text as given.
    record.unit = spec.kind == UnitSpec::Kind::Slab
                      ? "slab:" + std::to_string(spec.size[0]) + ":" + std::to_string(spec.stride[0])
                      : spec.to_string();
    record.dropped_units = grid.dropped;
    const std::size_t n = grid.units.size();
    record.units.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        record.units[i].index = i;
        record.units[i].origin = grid.units[i].origin;
        record.units[i].size = grid.units[i].size;
    }
    PruneResult pruned;
    if (!m_metric) {
        pruned = prune_every_n(n, everyn_step(m_config));
        progress.slices_done(info.slice_count());
    } else {
        std::unique_ptr<UnitScorer> scorer;
        const std::string& method = m_config.metric.method;
        const bool hash = method == "hash";
        const bool patch = spec.kind == UnitSpec::Kind::Patch;
        if (hash && !patch) {
            scorer = slab_hash_scorer(volume, grid.units, *m_metric, m_config.intensity, pool, progress, cancel);
        } else if (hash) {
            scorer = patch_hash_scorer(volume, grid.units, *m_metric, m_config.intensity, pool, cancel);
        } else if (method == "deepnet") {
            auto embeddings = m_metric->precomputed(info.id, n);  // InputError naming the file and row
            if (embeddings.size() != n) throw std::logic_error("UnitReducer: deepnet on units without --features");
            scorer = std::make_unique<UnitEmbeddingScorer>(*m_metric, std::move(embeddings));
        } else {
            scorer = std::make_unique<BlockScorer>(method == "ssim", m_config.metric.bins, volume, grid.units,
                                                   m_config.intensity);
        }
        pruned = prune_units(*scorer, n, m_config, pool, cancel);
        if (!m_config.save_features.empty()) save_features(*scorer, n, info.id, m_config.save_features);
        if (m_config.scope != Scope::Volume) {
            for (std::size_t i = 0; i < n; ++i) {
                if (!pruned.kept[i]) continue;
                record.units[i].feature = scorer->text(i);
                if (!record.units[i].feature) throw std::logic_error("UnitReducer: --scope on a unit without text");
            }
        }
        if (!hash || patch) progress.slices_done(info.slice_count());
    }
    for (std::size_t i = 0; i < n; ++i) {
        UnitRecord& u = record.units[i];
        u.kept = pruned.kept[i];
        u.match = pruned.match[i];
        u.score = pruned.score[i];
    }
    record.kept = pruned.kept_count();
    record.pairs_computed = pruned.pairs_computed;
    write_units(volume, record, pool, cancel);
}

std::array<std::array<double, 4>, 3> UnitReducer::unit_affine_lps(const VolumeInfo& info, const UnitBox& box) {
    std::array<std::array<double, 4>, 3> a{};
    const auto z0 = static_cast<std::size_t>(box.origin[0]);
    const std::size_t n = info.slice_count();
    const auto position = [&](std::size_t k) { return k < n ? info.slices[k].position : std::nullopt; };
    if (!info.orientation || !position(z0)) {
        // No geometry (an image folder): voxels at their indices times the spacing.
        for (int axis = 0; axis < 3; ++axis) {
            a[static_cast<std::size_t>(axis)][static_cast<std::size_t>(axis)] =
                info.spacing[static_cast<std::size_t>(axis)];
            a[static_cast<std::size_t>(axis)][3] =
                box.origin[static_cast<std::size_t>(2 - axis)] * info.spacing[static_cast<std::size_t>(axis)];
        }
        return a;
    }
    const std::array<double, 6>& o = *info.orientation;
    const std::array<double, 3> p0 = *position(z0);
    std::array<double, 3> step{};
    // The slice axis from the unit's own slices (first to last: an unevenly spaced slab
    // gets its mean step), else from the neighbouring slice, else the normal times the
    // volume's slice spacing.
    const auto last = z0 + static_cast<std::size_t>(box.size[0]) - 1;
    if (box.size[0] > 1 && position(last)) {
        for (int c = 0; c < 3; ++c) step[c] = ((*position(last))[c] - p0[c]) / (box.size[0] - 1);
    } else if (position(z0 + 1)) {
        for (int c = 0; c < 3; ++c) step[c] = (*position(z0 + 1))[c] - p0[c];
    } else if (z0 > 0 && position(z0 - 1)) {
        for (int c = 0; c < 3; ++c) step[c] = p0[c] - (*position(z0 - 1))[c];
    } else {
        const std::array<double, 3> normal{o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                                           o[0] * o[4] - o[1] * o[3]};
        for (int c = 0; c < 3; ++c) step[c] = normal[c] * info.spacing[2];
    }
    for (int c = 0; c < 3; ++c) {
        const double ax = o[c] * info.spacing[0];
        const double ay = o[3 + c] * info.spacing[1];
        a[c][0] = ax;
        a[c][1] = ay;
        a[c][2] = step[c];
        a[c][3] = p0[c] + box.origin[2] * ax + box.origin[1] * ay;
    }
    return a;
}

namespace {

// A z-major block of `type` as the window's float32 values (to_unit_window per slice).
std::vector<char> window_block(const std::vector<char>& block, VoxelType type, std::size_t depth, std::size_t rows,
                               std::size_t cols, const ExportValues& window) {
    std::vector<char> out(depth * rows * cols * sizeof(float));
    std::vector<float> slice;
    const std::size_t plane = rows * cols;
    for (std::size_t z = 0; z < depth; ++z) {
        const SliceView view{block.data() + z * plane * voxel_size(type), type, static_cast<int>(cols),
                             static_cast<int>(rows)};
        to_unit_window(view, window.center, window.width, slice);
        std::memcpy(out.data() + z * plane * sizeof(float), slice.data(), plane * sizeof(float));
    }
    return out;
}

}  // namespace

void UnitReducer::write_units(const Volume& volume, VolumeRecord& record, ThreadPool& pool,
                              const CancelToken& cancel) const {
    const OutputFormat format = m_config.format;
    if (format == OutputFormat::None) return;
    std::vector<std::size_t> kept;
    for (const UnitRecord& u : record.units)
        if (u.kept) kept.push_back(u.index);
    if (kept.empty()) return;
    const bool nifti = format == OutputFormat::Nifti || format == OutputFormat::Both;
    const bool npy = format == OutputFormat::Npy || format == OutputFormat::Both;
    const VolumeInfo& info = volume.info();
    const std::string& id = info.id;
    const std::size_t count = record.units.size();
    const std::string first = unit_output_path(id, 0, count, "npy");
    const auto out = Folder::open(m_out);
    if (!out) throw Error(path_text(m_out) + ": missing");
    const Folder folder = out->make(first.substr(0, first.rfind('/')));
    const auto write = [&](const std::string& rel, std::string_view bytes) {
        write_file_atomic(folder, rel.substr(rel.rfind('/') + 1), bytes);
    };
    const bool geometry = info.orientation && !info.slices.empty() && info.slices[0].position;
    pool.parallel_for(kept.size(), [&](std::size_t k) {
        cancel.check();
        UnitRecord& u = record.units[kept[k]];
        // The unit's voxels as read (docs/output.md, section "Unit files"), z-major.
        const std::size_t bytes = voxel_size(info.type);
        const auto depth = static_cast<std::size_t>(u.size[0]);
        const auto rows = static_cast<std::size_t>(u.size[1]);
        const auto cols = static_cast<std::size_t>(u.size[2]);
        std::vector<char> block(depth * rows * cols * bytes);
        for (std::size_t z = 0; z < depth; ++z) {
            const SliceView s = volume.slice(static_cast<std::size_t>(u.origin[0]) + z);
            for (std::size_t y = 0; y < rows; ++y) {
                const auto* src = static_cast<const char*>(s.data) +
                                  ((static_cast<std::size_t>(u.origin[1]) + y) * static_cast<std::size_t>(s.width) +
                                   static_cast<std::size_t>(u.origin[2])) *
                                      bytes;
                std::memcpy(block.data() + ((z * rows + y) * cols) * bytes, src, cols * bytes);
            }
        }
        // --export-values window: the window's [0, 1] float32 values, slice by slice as a
        // slice's NPY has them; every other choice keeps the values as read (docs/output.md,
        // section "Unit files").
        VoxelType type = info.type;
        if (m_config.export_values.kind == ExportValues::Kind::Window) {
            block = window_block(block, type, depth, rows, cols, m_config.export_values);
            type = VoxelType::Float32;
        }
        if (nifti) {
            NiftiBlock b;
            b.data = block.data();
            b.type = type;
            b.dims = {u.size[2], u.size[1], u.size[0]};
            b.scanner = geometry;
            const auto lps = unit_affine_lps(info, {u.origin, u.size});
            // NIfTI's world is RAS+: LPS's x and y negated.
            for (std::size_t r = 0; r < 3; ++r)
                for (std::size_t c = 0; c < 4; ++c) b.affine[r][c] = (r < 2 && geometry ? -1.0 : 1.0) * lps[r][c];
            const std::string rel = unit_output_path(id, u.index, count, "nii.gz");
            write(rel, encode_nifti_gz(b));
            u.output = rel;
        }
        if (npy) {
            const std::string rel = unit_output_path(id, u.index, count, "npy");
            write(rel, encode_npy_block(block.data(), type, depth, rows, cols));
            if (nifti) {
                u.output_npy = rel;
            } else {
                u.output = rel;
            }
        }
    });
}

}  // namespace lessmore
