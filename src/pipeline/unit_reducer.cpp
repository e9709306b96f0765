#include "pipeline/unit_reducer.hpp"

#include <lessmore/files.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/unit.hpp>

#include "io/feature_files.hpp"
#include "io/nifti_writer.hpp"
#include "pipeline/unit_scorers.hpp"
#include "pipeline/volume_reducer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

constexpr std::int64_t k_max_units = 1000000;
constexpr std::int64_t k_max_pairs_units = 16384;

// Voxels of the units prepared (or written) at a time: 8 M, two 16-slice 512 x 512 slabs
// or many small patches — enough to keep the threads busy, few enough that a streamed run
// holds a few units (docs/performance.md, "3-D units in reduce"). Fixed by the unit's
// size, never by the thread count (preparing is per unit, so it decides nothing either way).
constexpr std::int64_t k_chunk_voxels = 8 << 20;
constexpr std::size_t k_max_chunk_units = 64;
// Candidates scored per leader step for SSIM/MI (in parallel); fixed for the same reason.
constexpr std::size_t k_unit_block = 4;

std::string shape_text(const std::array<int, 3>& shape) {
    return std::to_string(shape[0]) + "x" + std::to_string(shape[1]) + "x" + std::to_string(shape[2]);
}

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

// The kept units' files (docs/output.md, section "Unit files"), written in batches while
// the window holds their slices; what was written goes again when the volume fails.
class UnitWriter {
public:
    UnitWriter(const ReduceConfig& config, const fs::path& out, VolumeRecord& record, const SliceWindow& window)
        : m_config(config), m_out(out), m_record(record), m_window(window) {}
    bool writes() const { return m_config.format != OutputFormat::None; }
    void add(std::size_t unit) {
        if (writes()) m_pending.push_back(unit);
    }
    void flush(ThreadPool& pool, const CancelToken& cancel) {
        if (m_pending.empty()) return;
        if (!m_folder) {
            const std::string first =
                unit_output_path(m_record.info.id, 0, m_record.units.size(), "npy", m_config.flat);
            const auto out = Folder::open(m_out);
            if (!out) throw Error(path_text(m_out) + ": missing");
            m_folder = out->make(first.substr(0, first.rfind('/')));
        }
        pool.parallel_for(m_pending.size(), [&](std::size_t k) {
            cancel.check();
            write(m_record.units[m_pending[k]]);
        });
        m_pending.clear();
    }
    // A failed volume leaves nothing behind (as a slice run's, src/pipeline/volume_reducer.cpp).
    void remove_written() const noexcept {
        try {
            if (const auto out = Folder::open(m_out))
                for (const UnitRecord& u : m_record.units)
                    for (const std::string* rel : {&u.output, &u.output_npy})
                        if (!rel->empty()) out->remove_file(*rel);
        } catch (...) {  // the volume's own error is the one to report
        }
    }

private:
    void write(UnitRecord& u) const;

    const ReduceConfig& m_config;
    const fs::path& m_out;
    VolumeRecord& m_record;
    const SliceWindow& m_window;
    std::optional<Folder> m_folder;
    std::vector<std::size_t> m_pending;
};

void UnitWriter::write(UnitRecord& u) const {
    const VolumeInfo& info = m_window.info();
    const std::size_t count = m_record.units.size();
    const bool nifti = m_config.format == OutputFormat::Nifti || m_config.format == OutputFormat::Both;
    const bool npy = m_config.format == OutputFormat::Npy || m_config.format == OutputFormat::Both;
    const auto put = [&](const std::string& rel, std::string_view bytes) {
        write_file_atomic(*m_folder, rel.substr(rel.rfind('/') + 1), bytes);
    };
    // The unit's voxels as read (docs/output.md, section "Unit files"), z-major.
    const std::size_t bytes = voxel_size(info.type);
    const auto depth = static_cast<std::size_t>(u.size[0]);
    const auto rows = static_cast<std::size_t>(u.size[1]);
    const auto cols = static_cast<std::size_t>(u.size[2]);
    std::vector<char> block(depth * rows * cols * bytes);
    for (std::size_t z = 0; z < depth; ++z) {
        const SliceView s = m_window.slice(static_cast<std::size_t>(u.origin[0]) + z);
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
        const bool geometry = info.orientation && !info.slices.empty() && info.slices[0].position;
        NiftiBlock b;
        b.data = block.data();
        b.type = type;
        b.dims = {u.size[2], u.size[1], u.size[0]};
        b.scanner = geometry;
        const auto lps = UnitReducer::unit_affine_lps(info, {u.origin, u.size});
        // NIfTI's world is RAS+: LPS's x and y negated.
        for (std::size_t r = 0; r < 3; ++r)
            for (std::size_t c = 0; c < 4; ++c) b.affine[r][c] = (r < 2 && geometry ? -1.0 : 1.0) * lps[r][c];
        const std::string rel = unit_output_path(info.id, u.index, count, "nii.gz", m_config.flat);
        put(rel, encode_nifti_gz(b));
        u.output = rel;
    }
    if (npy) {
        const std::string rel = unit_output_path(info.id, u.index, count, "npy", m_config.flat);
        put(rel, encode_npy_block(block.data(), type, depth, rows, cols));
        (nifti ? u.output_npy : u.output) = rel;
    }
}

// One volume's units decided in unit order, the window moving along with the walk: units
// are prepared a chunk at a time, and before each chunk the kept units decided so far are
// written and the slices no undecided unit needs are let go (docs/methods.md, section
// "3-D units", "Memory").
class UnitWalk {
public:
    UnitWalk(const ReduceConfig& config, const std::vector<UnitBox>& units, SliceWindow& window, UnitWriter& writer,
             ThreadPool& pool, const CancelToken& cancel)
        : m_config(config), m_units(units), m_window(window), m_writer(writer), m_pool(pool), m_cancel(cancel) {
        const std::array<int, 3>& size = units.empty() ? std::array<int, 3>{1, 1, 1} : units[0].size;
        const std::int64_t voxels = std::int64_t{size[0]} * size[1] * size[2];
        m_chunk = static_cast<std::size_t>(std::clamp<std::int64_t>(k_chunk_voxels / voxels, 2, k_max_chunk_units));
    }

    PruneResult decide(UnitScorer& scorer) {
        const std::size_t n = m_units.size();
        const bool streams = scorer.needs_voxels();
        if (m_config.resolved_strategy() == Strategy::Leader) {
            LeaderOptions options;
            options.block = scorer.cheap() ? 1 : k_unit_block;
            options.neighbours = m_config.neighbours;
            options.decided = [&](std::size_t i, bool kept) {
                prepare_up_to(scorer, i, i);
                if (!kept) {
                    scorer.release(i);  // a removed unit's data goes at once
                } else if (streams) {
                    m_writer.add(i);
                }
            };
            const ScoresAgainst scores = [&](std::size_t i, const std::vector<std::size_t>& cand,
                                             std::vector<double>& out) {
                m_cancel.check();
                prepare_up_to(scorer, i, i);
                if (scorer.cheap() || cand.size() == 1) {
                    for (std::size_t k = 0; k < cand.size(); ++k) out[k] = scorer.score(i, cand[k]);
                    return;
                }
                m_pool.parallel_for(cand.size(), [&](std::size_t k) { out[k] = scorer.score(i, cand[k]); });
            };
            PruneResult pruned = prune_leader(n, scores, scorer.sense(), *m_config.threshold, options);
            if (streams) {
                m_writer.flush(m_pool, m_cancel);
            } else {
                write_in_order(pruned.kept);
            }
            return pruned;
        }
        // Pairs scores every unit against every other: all are prepared first (the volume
        // is in memory: VolumeReducer::streams()), the kept ones written after.
        for (std::size_t i = 0; i < n; i += m_chunk) prepare_up_to(scorer, 0, i);
        PruneResult pruned = prune_pairs(pair_scores(scorer), scorer.sense(), {m_config.threshold, m_config.fraction});
        write_in_order(pruned.kept);
        return pruned;
    }

    // Kept units written in unit order, a chunk's slices held at a time (everyn, and
    // decisions made without voxels).
    void write_in_order(const std::vector<bool>& kept) {
        if (!m_writer.writes()) return;
        for (std::size_t c = 0; c < m_units.size(); c += m_chunk) {
            const std::size_t e = std::min(m_units.size(), c + m_chunk);
            hold(c, c, e);
            for (std::size_t i = c; i < e; ++i)
                if (kept[i]) m_writer.add(i);
            m_writer.flush(m_pool, m_cancel);
        }
    }

private:
    // Units [prepared, at least `last`] prepared; `undecided` is the first unit not decided.
    void prepare_up_to(UnitScorer& scorer, std::size_t undecided, std::size_t last) {
        const std::size_t n = m_units.size();
        if (n == 0 || last < m_prepared) return;
        const std::size_t end = std::min(n, std::max(last + 1, m_prepared + m_chunk));
        if (scorer.needs_voxels()) {
            m_writer.flush(m_pool, m_cancel);  // kept units before `undecided`: their slices are about to go
            hold(undecided, m_prepared, end);
        }
        scorer.prepare(m_prepared, end, m_pool, m_cancel);
        m_prepared = end;
    }
    // The window from unit `from`'s first slice through the last slice of units [first, end).
    void hold(std::size_t from, std::size_t first, std::size_t end) {
        std::size_t last = 0;
        for (std::size_t u = first; u < end; ++u)
            last = std::max(last, static_cast<std::size_t>(m_units[u].origin[0] + m_units[u].size[0]));
        m_window.hold(static_cast<std::size_t>(m_units[from].origin[0]), last, m_cancel);
    }
    ScoreMatrix pair_scores(const UnitScorer& scorer) const {
        const std::size_t n = m_units.size();
        ScoreMatrix m(n);
        std::fill(m.values.begin(), m.values.end(), std::numeric_limits<double>::quiet_NaN());  // NaN: not scored
        std::vector<std::pair<std::size_t, std::size_t>> pairs;
        const std::size_t reach = m_config.neighbours.value_or(n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = i + 1; j < n && j - i <= reach; ++j) pairs.emplace_back(i, j);
        std::vector<double> scores(pairs.size());
        m_pool.parallel_for(pairs.size(), [&](std::size_t k) {
            if (k % 64 == 0) m_cancel.check();
            scores[k] = scorer.score(pairs[k].first, pairs[k].second);
        });
        for (std::size_t k = 0; k < pairs.size(); ++k) m.set(pairs[k].first, pairs[k].second, scores[k]);
        return m;
    }

    const ReduceConfig& m_config;
    const std::vector<UnitBox>& m_units;
    SliceWindow& m_window;
    UnitWriter& m_writer;
    ThreadPool& m_pool;
    const CancelToken& m_cancel;
    std::size_t m_chunk = 2;  // units prepared (written) at a time
    std::size_t m_prepared = 0;
};

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

}  // namespace

UnitReducer::UnitReducer(const ReduceConfig& config, const Metric* slice_metric, fs::path out_dir)
    : m_config(config), m_metric(slice_metric), m_out(std::move(out_dir)) {}

void UnitReducer::run(const Volume& volume, VolumeRecord& record, ThreadPool& pool, ProgressSink& progress,
                      const CancelToken& cancel) const {
    SliceWindow window(volume, progress);
    run(window, record, pool, cancel);
}

void UnitReducer::run(SliceStream& stream, std::size_t chunk, VolumeRecord& record, ThreadPool& pool,
                      ProgressSink& progress, const CancelToken& cancel) const {
    SliceWindow window(stream, chunk, progress);
    run(window, record, pool, cancel);
}

UnitSpec UnitReducer::list_units(SliceWindow& window, VolumeRecord& record, std::vector<UnitBox>& units,
                                 const CancelToken& cancel) const {
    const VolumeInfo& info = window.info();
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
    UnitGrid grid = enumerate_units(spec, shape);
    if (grid.units.empty()) {
        window.finish(cancel);  // read whole first: a damaged series fails rather than being skipped
        throw VolumeSkipped(info.id + ": smaller than one unit (--unit " + m_config.unit.to_string() + ": " +
                            shape_text(spec.size) + " voxels z,y,x; the volume has " + shape_text(shape) + ")");
    }
    // The volume's unit in slices (slab:10mm becomes slab:15:15 at 0.67 mm); the run's
    // parameters keep the text as given.
    record.unit = spec.kind == UnitSpec::Kind::Slab
                      ? "slab:" + std::to_string(spec.size[0]) + ":" + std::to_string(spec.stride[0])
                      : spec.to_string();
    record.dropped_units = grid.dropped;
    record.units.resize(grid.units.size());
    for (std::size_t i = 0; i < grid.units.size(); ++i) {
        record.units[i].index = i;
        record.units[i].origin = grid.units[i].origin;
        record.units[i].size = grid.units[i].size;
    }
    units = std::move(grid.units);
    return spec;
}

void UnitReducer::run(SliceWindow& window, VolumeRecord& record, ThreadPool& pool, const CancelToken& cancel) const {
    std::vector<UnitBox> units;
    const UnitSpec spec = list_units(window, record, units, cancel);
    const std::size_t n = units.size();
    UnitWriter writer(m_config, m_out, record, window);
    UnitWalk walk(m_config, units, window, writer, pool, cancel);
    try {
        PruneResult pruned;
        if (!m_metric) {
            pruned = prune_every_n(n, everyn_step(m_config));
            walk.write_in_order(pruned.kept);
        } else {
            const std::string& id = window.info().id;
            const std::unique_ptr<UnitScorer> scorer =
                make_unit_scorer(m_config.metric, m_config.intensity, *m_metric, spec, units, window);
            pruned = walk.decide(*scorer);
            if (!m_config.save_features.empty()) save_features(*scorer, n, id, m_config.save_features);
            if (m_config.scope != Scope::Volume) {
                for (std::size_t i = 0; i < n; ++i) {
                    if (!pruned.kept[i]) continue;
                    record.units[i].feature = scorer->text(i);
                    if (!record.units[i].feature) throw std::logic_error("UnitReducer: --scope on a unit without text");
                }
            }
        }
        for (std::size_t i = 0; i < n; ++i) {
            UnitRecord& u = record.units[i];
            u.kept = pruned.kept[i];
            u.match = pruned.match[i];
            u.score = pruned.score[i];
        }
        record.kept = pruned.kept_count();
        record.pairs_computed = pruned.pairs_computed;
        window.finish(cancel);
    } catch (...) {
        writer.remove_written();
        throw;
    }
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

}  // namespace lessmore
