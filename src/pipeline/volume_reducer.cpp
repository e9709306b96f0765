#include "pipeline/volume_reducer.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/png_writer.hpp>
#include <lessmore/pruning.hpp>

#include "io/feature_files.hpp"
#include "pipeline/features.hpp"
#include "pipeline/output_store.hpp"
#include "pipeline/unit_reducer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>

namespace fs = std::filesystem;

namespace lessmore {

// The slab of a stream in hand: slices [first, first + count), in one buffer reused from
// slab to slab (fresh pages for every slab would cost more than the hashing). The kept
// slices of a slab are copied aside (hold) and written while the next slab is read into
// the buffer, in one parallel pass, so neither waits on the other (docs/performance.md,
// section "One series on two threads"). One buffer and the few kept slices' copies, not
// two slabs: a second 8 MB buffer cost ~7% more CPU in cache misses and page faults.
class VolumeReducer::Slab {
public:
    // ready(i, slice): slice i of the next slab, read; it runs in the task that read the
    // slice when the stream reads slices one by one, else after the slab is read.
    using Ready = std::function<void(std::size_t, const SliceView&)>;

    Slab(SliceStream& stream, std::size_t size) : m_stream(stream), m_size(size) {}

    // Reads the next slab in one parallel pass with tasks extra(0 .. extras - 1), which
    // must not use the slab in hand (only what hold() kept of it). The extras run first in
    // the pass and their failures come first (the lowest task's), then the stream's (the
    // lowest slice's), then ready's (the lowest slice's), whatever the thread count.
    // false (after the extras) when the stream is done.
    bool advance(ThreadPool& pool, std::size_t extras, const std::function<void(std::size_t)>& extra,
                 const Ready& ready, const CancelToken& cancel) {
        const VolumeInfo& info = m_stream.info();
        const std::size_t next = first + count;
        const std::size_t n = std::min(m_size, info.slice_count() - next);
        if (n == 0) {
            pool.parallel_for(extras, extra);
            return false;
        }
        first = next;
        count = n;
        m_buffer.resize(n * info.slice_bytes());
        std::vector<std::exception_ptr> not_ready(n);
        const bool each = m_stream.reads_slices();
        pool.parallel_for(extras + (each ? n : 1), [&](std::size_t t) {
            if (t < extras) {
                extra(t);
                return;
            }
            cancel.check();
            if (!each) {
                m_stream.read(n, m_buffer.data());
                return;
            }
            const std::size_t k = t - extras;
            m_stream.read_slice(next + k, m_buffer.data() + k * info.slice_bytes());
            if (!ready) return;
            try {  // after every read error of the slab (above), as if read whole first
                ready(next + k, slice(next + k));
            } catch (...) {
                not_ready[k] = std::current_exception();
            }
        });
        if (!each && ready) pool.parallel_for(n, [&](std::size_t k) { ready(next + k, slice(next + k)); });
        for (const std::exception_ptr& e : not_ready)
            if (e) std::rethrow_exception(e);
        return true;
    }
    bool holds(std::size_t i) const { return i >= first && i < first + count; }
    SliceView slice(std::size_t i) const { return view(m_buffer, i - first); }

    // Copies slices `kept` (ascending) of the slab in hand aside, until the next hold.
    void hold(const std::vector<std::size_t>& kept) {
        const std::size_t bytes = m_stream.info().slice_bytes();
        m_held = kept;
        m_copies.resize(kept.size() * bytes);
        for (std::size_t k = 0; k < kept.size(); ++k)
            std::memcpy(m_copies.data() + k * bytes, slice(kept[k]).data, bytes);
    }
    SliceView held(std::size_t i) const {
        const auto at = std::lower_bound(m_held.begin(), m_held.end(), i);
        if (at == m_held.end() || *at != i) throw std::logic_error("VolumeReducer: a slice not held");
        return view(m_copies, static_cast<std::size_t>(at - m_held.begin()));
    }

    std::size_t first = 0;
    std::size_t count = 0;

private:
    SliceView view(const Bytes& buffer, std::size_t k) const {
        const VolumeInfo& info = m_stream.info();
        return SliceView{buffer.data() + k * info.slice_bytes(), info.type, info.width, info.height};
    }

    SliceStream& m_stream;
    std::size_t m_size;
    Bytes m_buffer;
    std::vector<std::size_t> m_held;  // the slices hold() copied, ascending
    Bytes m_copies;                   // their values
};

VolumeReducer::VolumeReducer(const ReduceConfig& config, const Metric* metric, fs::path out_dir)
    : m_config(config), m_metric(metric), m_out(std::move(out_dir)) {}

// Leader and everyn decide in order; pairs needs every slice's (unit's) feature at once,
// and its kept ones written after — only a unit run whose features come from --features
// decides without voxels and streams with pairs too (docs/methods.md, section "3-D units").
bool VolumeReducer::streams() const {
    if (!m_metric || m_config.resolved_strategy() == Strategy::Leader) return true;
    return m_config.unit.kind != UnitSpec::Kind::Slice && m_config.metric.method == "deepnet";
}

// 16 slices: a slab of 512² int16 slices (8 MB) stays warm in cache and is faulted in
// once; 64 made one DICOM series 30% slower single-threaded (bench/bench_reduce.sh).
std::size_t VolumeReducer::chunk() const {
    const std::size_t batch = m_metric ? std::max<std::size_t>(1, m_metric->batch_size()) : 1;
    return ((16 + batch - 1) / batch) * batch;
}

VolumeRecord VolumeReducer::run(SliceStream& stream, ThreadPool& pool, ProgressSink& progress,
                                const CancelToken& cancel) const {
    const auto start = std::chrono::steady_clock::now();
    VolumeRecord record = new_record(stream.info());
    const std::size_t n = record.slices.size();
    progress.volume_started(record.info.id, n);
    if (m_config.unit.kind != UnitSpec::Kind::Slice) {
        record.slices.clear();  // a unit run's rows are its units
        UnitReducer(m_config, m_metric, m_out).run(stream, chunk(), record, pool, progress, cancel);
        record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return record;
    }
    Slab slab(stream, chunk());
    Saved saved(n);                    // --save-features: each slice's feature values
    std::vector<std::size_t> pending;  // kept slices of the slab in hand, not yet written
    // Reads the next slab while the pending slices are written (ready: as Slab::advance).
    const SliceAt held = [&](std::size_t i) { return slab.held(i); };
    auto advance = [&](const Slab::Ready& ready) {
        const WriteTask write = slice_writer(pending, held, record, cancel);
        if (write) slab.hold(pending);
        const bool more = slab.advance(pool, write ? pending.size() : 0, write, ready, cancel);
        pending.clear();
        return more;
    };
    try {
        if (!m_metric) {
            const PruneResult pruned = prune_every_n(n, everyn_step(m_config));
            while (advance(nullptr)) {
                for (std::size_t i = slab.first; i < slab.first + slab.count; ++i)
                    if (pruned.kept[i]) pending.push_back(i);
                progress.slices_done(slab.count);
            }
            apply(pruned, record);
        } else {
            apply(prune_slabs(slab, record, saved, pending, advance, pool, progress, cancel), record);
        }
    } catch (...) {
        // A series reads whole or fails whole: nothing it wrote outlives it.
        if (const auto out = Folder::open(m_out)) {
            for (const SliceRecord& s : record.slices)
                for (const std::string* rel : {&s.output, &s.output_npy})
                    if (!rel->empty()) out->remove_file(*rel);
        }
        throw;
    }
    save_features(record, saved);
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return record;
}

void VolumeReducer::save_features(const VolumeRecord& record, const Saved& saved) const {
    if (m_config.save_features.empty() || !m_metric) return;
    for (const auto& row : saved)
        if (row.empty()) throw std::logic_error("VolumeReducer: a slice without features to save");
    write_volume_features(m_config.save_features, record.info.id, saved);
}

PruneResult VolumeReducer::prune_slabs(Slab& slab, VolumeRecord& record, Saved& saved,
                                       std::vector<std::size_t>& pending, const Advance& advance, ThreadPool& pool,
                                       ProgressSink& progress, const CancelToken& cancel) const {
    const Metric& metric = *m_metric;
    const std::size_t n = record.slices.size();
    std::vector<std::unique_ptr<Feature>> features(n);
    auto pre = metric.precomputed(record.info.id, n);  // --features: read, not prepared
    // A metric that prepares slices one by one does so in the task that read the slice,
    // while it is still in cache, with no wait between reading and preparing.
    SlicePreparer one(metric, m_config.intensity);
    const bool each = pre.empty() && SlicePreparer::serves(metric);
    const Slab::Ready ready = [&](std::size_t i, const SliceView& view) {
        features[i] = one.prepare(view);
        progress.slices_done(1);
    };
    // Slabs come in order; every slice of the slab in hand is decided before the next is read.
    auto load_through = [&](std::size_t i) {
        while (!slab.holds(i)) {
            if (!advance(each ? ready : nullptr)) throw std::logic_error("VolumeReducer: the stream ended early");
            if (!each) {
                auto part = !pre.empty()
                                ? take_features(pre, slab.first, slab.count, progress)
                                : prepare_features([&](std::size_t k) { return slab.slice(slab.first + k); },
                                                   slab.count, metric, m_config.intensity, pool, progress, cancel);
                for (std::size_t k = 0; k < part.size(); ++k) features[slab.first + k] = std::move(part[k]);
            }
            for (std::size_t k = slab.first; k < slab.first + slab.count; ++k)
                describe(*features[k], record.slices[k], saved);
        }
    };
    PruneResult pruned = walk_leader(
        features, load_through, [&](std::size_t i) { pending.push_back(i); }, pool, cancel);
    advance(nullptr);  // the last slab's kept slices (the stream has no more)
    return pruned;
}

PruneResult VolumeReducer::walk_leader(std::vector<std::unique_ptr<Feature>>& features,
                                       const std::function<void(std::size_t)>& ensure,
                                       const std::function<void(std::size_t)>& on_kept, ThreadPool& pool,
                                       const CancelToken& cancel) const {
    const Metric& metric = *m_metric;
    LeaderOptions options;
    // Expensive metrics score a block of kept slices in parallel; the decision is the same
    // for any block size (the first similar slice in kept order wins). A metric that puts
    // all threads on one pair (SSIM, MI) scores one candidate at a time: no pair is scored
    // past the first similar one (a block of 4 scored ~40% more pairs on thin-slice CT).
    options.block = metric.cheap_compare() || metric.splits_pairs() ? 1 : static_cast<std::size_t>(2 * pool.size());
    options.neighbours = m_config.neighbours;
    options.decided = [&](std::size_t i, bool kept) {
        ensure(i);
        if (kept) {
            on_kept(i);
        } else {
            features[i].reset();  // a removed slice's data goes at once
        }
    };
    const ScoresAgainst scores = [&](std::size_t i, const std::vector<std::size_t>& cand, std::vector<double>& out) {
        cancel.check();
        ensure(i);
        if (metric.cheap_compare()) {
            for (std::size_t k = 0; k < cand.size(); ++k) out[k] = metric.compare(*features[i], *features[cand[k]]);
            return;
        }
        std::vector<const Feature*> local{features[i].get()};
        std::vector<std::pair<std::size_t, std::size_t>> pairs;
        for (std::size_t k = 0; k < cand.size(); ++k) {
            local.push_back(features[cand[k]].get());
            pairs.emplace_back(0, k + 1);
        }
        metric.compare_pairs(local, pairs, out.data(), &pool);
    };
    return prune_leader(features.size(), scores, metric.sense(), *m_config.threshold, options);
}

PruneResult VolumeReducer::prune(const Volume& volume, VolumeRecord& record, Saved& saved, ThreadPool& pool,
                                 ProgressSink& progress, const CancelToken& cancel) const {
    const std::size_t n = volume.slice_count();
    if (!m_metric) {
        progress.slices_done(n);
        return prune_every_n(n, everyn_step(m_config));
    }
    const Metric& metric = *m_metric;
    const bool leader = m_config.resolved_strategy() == Strategy::Leader;

    // Slices are prepared in parallel chunks just ahead of the leader walk, and a removed
    // slice's data is freed at once, so memory holds the kept slices and one chunk
    // rather than the whole volume (SSIM keeps ~2.3 MB per 512x512 slice).
    std::vector<std::unique_ptr<Feature>> features(n);
    std::size_t prepared = 0;
    // A fixed chunk (a whole number of batches), so batches never depend on the thread count.
    const std::size_t batch = std::max<std::size_t>(1, metric.batch_size());
    const std::size_t chunk = leader && (!metric.cheap_compare() || batch > 1) ? ((64 + batch - 1) / batch) * batch : n;
    auto pre = metric.precomputed(volume.info().id, n);  // --features: read, not prepared
    auto prepare_up_to = [&](std::size_t last) {
        if (n == 0 || last < prepared) return;
        const std::size_t end = std::min(n, std::max(last + 1, prepared + chunk));
        auto part = !pre.empty() ? take_features(pre, prepared, end - prepared, progress)
                                 : prepare_features(volume, prepared, end - prepared, metric, m_config.intensity, pool,
                                                    progress, cancel);
        for (std::size_t k = 0; k < part.size(); ++k) {
            describe(*part[k], record.slices[prepared + k], saved);
            features[prepared + k] = std::move(part[k]);
        }
        prepared = end;
    };

    if (leader) {
        prepare_up_to(0);
        PruneResult r = walk_leader(
            features, prepare_up_to, [](std::size_t) {}, pool, cancel);
        prepare_up_to(n - 1);  // every slice described, even those never compared
        return r;
    }
    prepare_up_to(n - 1);
    const ScoreMatrix m = score_matrix(features, metric, pool, cancel, m_config.neighbours.value_or(n), false);
    features.clear();
    PairsTarget target;
    target.threshold = m_config.threshold;
    target.fraction = m_config.fraction;
    return prune_pairs(m, metric.sense(), target);
}

void VolumeReducer::write_slices(const std::vector<std::size_t>& kept, const SliceAt& slice, VolumeRecord& record,
                                 ThreadPool& pool, const CancelToken& cancel) const {
    if (const WriteTask write = slice_writer(kept, slice, record, cancel)) pool.parallel_for(kept.size(), write);
}

VolumeReducer::WriteTask VolumeReducer::slice_writer(const std::vector<std::size_t>& kept, const SliceAt& slice,
                                                     VolumeRecord& record, const CancelToken& cancel) const {
    const OutputFormat format = m_config.format;
    if (format == OutputFormat::None || kept.empty()) return nullptr;
    const bool png = format == OutputFormat::Png || format == OutputFormat::Both;
    const bool npy = format == OutputFormat::Npy || format == OutputFormat::Both;
    // The folder is made and opened once, before the parallel writes; the files are
    // created relative to it, never through a link (docs/output.md, section "OUT's own state").
    const std::size_t count = record.slices.size();
    const std::string first = OutputStore::slice_path(record.info.id, 0, count, "png", m_config.flat);
    const auto out = Folder::open(m_out);
    if (!out) throw Error(path_text(m_out) + ": missing");
    auto folder = std::make_shared<const Folder>(out->make(first.substr(0, first.rfind('/'))));
    return [this, folder, png, npy, count, &kept, &slice, &record, &cancel](std::size_t k) {
        const auto write = [&](const std::string& rel, std::string_view bytes) {
            write_file_atomic(*folder, rel.substr(rel.rfind('/') + 1), bytes);
        };
        const std::string& id = record.info.id;
        cancel.check();
        const std::size_t index = kept[k];
        SliceRecord& rec = record.slices[index];
        const SliceView view = slice(index);
        if (png) {
            const std::string rel = OutputStore::slice_path(id, index, count, "png", m_config.flat);
            write(rel, png_bytes(view, record));
            rec.output = rel;
        }
        if (npy) {
            const std::string rel = OutputStore::slice_path(id, index, count, "npy", m_config.flat);
            write(rel, npy_bytes(view));
            if (png) {
                rec.output_npy = rel;
            } else {
                rec.output = rel;
            }
        }
    };
}

// What --export-values puts in the files (docs/output.md, section "Slice values
// (--export-values)"); the decision's image is made apart from these, from --intensity.
std::string VolumeReducer::png_bytes(const SliceView& view, const VolumeRecord& record) const {
    const ExportValues& e = m_config.export_values;
    switch (e.kind) {
    case ExportValues::Kind::Intensity:
        return encode_png(to_8bit(view, m_config.intensity));
    case ExportValues::Kind::MinMax:
        return encode_png(to_8bit(view, IntensityMapping{}));
    case ExportValues::Kind::Window:
        return encode_png(to_8bit(view, e.window_mapping()));
    case ExportValues::Kind::Hu: {
        std::vector<std::uint16_t> pixels;
        to_16bit(view, *record.png_offset, pixels);
        return encode_png16(pixels, view.width, view.height);
    }
    }
    throw std::logic_error("png_bytes: unknown export mode");
}

std::string VolumeReducer::npy_bytes(const SliceView& view) const {
    const ExportValues& e = m_config.export_values;
    if (e.kind != ExportValues::Kind::Window) return encode_npy(view);
    std::vector<float> unit;
    to_unit_window(view, e.center, e.width, unit);
    return encode_npy(SliceView{unit.data(), VoxelType::Float32, view.width, view.height});
}

VolumeRecord VolumeReducer::new_record(const VolumeInfo& info) const {
    VolumeRecord record;
    record.info = info;
    // Decided from the header before any slice is read or written, so every 16-bit PNG of
    // the volume shares it, and a volume PNG cannot hold fails before it writes anything.
    const OutputFormat f = m_config.format;
    if (m_config.export_values.kind == ExportValues::Kind::Hu && (f == OutputFormat::Png || f == OutputFormat::Both))
        record.png_offset = png16_offset(info);
    record.slices.resize(info.slice_count());
    for (std::size_t i = 0; i < record.slices.size(); ++i) {
        record.slices[i].index = i;
        record.slices[i].file = info.slices[i].file;
        record.slices[i].z = info.slices[i].z;
    }
    return record;
}

void VolumeReducer::describe(const Feature& feature, SliceRecord& slice, Saved& saved) const {
    slice.description = m_metric->describe(feature);
    if (!m_config.save_features.empty()) {
        if (auto v = m_metric->feature_values(feature)) saved[slice.index] = std::move(*v);
    }
    if (m_config.scope == Scope::Volume) return;
    auto text = m_metric->feature_text(feature);
    if (text != slice.description) slice.feature = std::move(text);
}

void VolumeReducer::apply(const PruneResult& pruned, VolumeRecord& record) {
    for (std::size_t i = 0; i < record.slices.size(); ++i) {
        SliceRecord& s = record.slices[i];
        s.kept = pruned.kept[i];
        s.match = pruned.match[i];
        s.score = pruned.score[i];
        if (!s.kept) s.feature.reset();  // the cross-volume pass looks at kept slices only
    }
    record.kept = pruned.kept_count();
    record.pairs_computed = pruned.pairs_computed;
}

std::size_t everyn_step(const ReduceConfig& config) {
    return config.every ? static_cast<std::size_t>(*config.every)
                        : std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(1.0 / *config.fraction)));
}

VolumeRecord VolumeReducer::run(const Volume& volume, ThreadPool& pool, ProgressSink& progress,
                                const CancelToken& cancel) const {
    const auto start = std::chrono::steady_clock::now();
    VolumeRecord record = new_record(volume.info());
    progress.volume_started(record.info.id, record.slices.size());
    if (m_config.unit.kind != UnitSpec::Kind::Slice) {
        record.slices.clear();  // a unit run's rows are its units
        UnitReducer(m_config, m_metric, m_out).run(volume, record, pool, progress, cancel);
        record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return record;
    }
    Saved saved(record.slices.size());  // --save-features: each slice's feature values
    apply(prune(volume, record, saved, pool, progress, cancel), record);
    save_features(record, saved);
    std::vector<std::size_t> kept;
    for (const SliceRecord& s : record.slices)
        if (s.kept) kept.push_back(s.index);
    write_slices(
        kept, [&](std::size_t i) { return volume.slice(i); }, record, pool, cancel);
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return record;
}

}  // namespace lessmore
