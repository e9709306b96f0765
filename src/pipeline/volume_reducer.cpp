#include "pipeline/volume_reducer.hpp"

#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/files.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/png_writer.hpp>

#include "pipeline/features.hpp"
#include "pipeline/output_store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace fs = std::filesystem;

namespace lessmore {

VolumeReducer::VolumeReducer(const ReduceConfig& config, const Metric* metric, fs::path out_dir)
    : m_config(config), m_metric(metric), m_out(std::move(out_dir)) {}

PruneResult VolumeReducer::prune(const Volume& volume, VolumeRecord& record, ThreadPool& pool, ProgressSink& progress,
                                 const CancelToken& cancel) const {
    const std::size_t n = volume.slice_count();
    if (!m_metric) {
        progress.slices_done(n);
        const std::size_t every = m_config.every ? static_cast<std::size_t>(*m_config.every)
                                                 : std::max<std::size_t>(1, static_cast<std::size_t>(
                                                                                std::lround(1.0 / *m_config.fraction)));
        return prune_every_n(n, every);
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
    auto prepare_up_to = [&](std::size_t last) {
        if (n == 0 || last < prepared) return;
        const std::size_t end = std::min(n, std::max(last + 1, prepared + chunk));
        auto part = prepare_features(volume, prepared, end - prepared, metric, m_config.intensity, pool, progress, cancel);
        for (std::size_t k = 0; k < part.size(); ++k) {
            record.slices[prepared + k].description = metric.describe(*part[k]);
            features[prepared + k] = std::move(part[k]);
        }
        prepared = end;
    };

    if (leader) {
        LeaderOptions options;
        // Expensive metrics score a block of kept slices in parallel; the decision is the
        // same for any block size (the first similar slice in kept order wins).
        options.block = metric.cheap_compare() ? 1 : static_cast<std::size_t>(2 * pool.size());
        options.neighbours = m_config.neighbours;
        options.decided = [&](std::size_t i, bool kept) {
            if (!kept) features[i].reset();
        };
        const ScoresAgainst scores = [&](std::size_t i, const std::vector<std::size_t>& cand, std::vector<double>& out) {
            cancel.check();
            prepare_up_to(i);
            if (cand.size() == 1 || metric.cheap_compare()) {
                for (std::size_t k = 0; k < cand.size(); ++k) out[k] = metric.compare(*features[i], *features[cand[k]]);
                return;
            }
            pool.parallel_for(cand.size(), [&](std::size_t k) { out[k] = metric.compare(*features[i], *features[cand[k]]); });
        };
        prepare_up_to(0);
        PruneResult r = prune_leader(n, scores, metric.sense(), *m_config.threshold, options);
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

void VolumeReducer::write_outputs(const Volume& volume, VolumeRecord& record, ThreadPool& pool,
                                  const CancelToken& cancel) const {
    const OutputFormat format = m_config.format;
    if (format == OutputFormat::None) return;
    std::vector<std::size_t> kept;
    for (const SliceRecord& s : record.slices)
        if (s.kept) kept.push_back(s.index);
    if (kept.empty()) return;
    const bool png = format == OutputFormat::Png || format == OutputFormat::Both;
    const bool npy = format == OutputFormat::Npy || format == OutputFormat::Both;
    const std::string id = volume.info().id;
    // Create folders once, before the parallel writes.
    const fs::path folder = (m_out / OutputStore::slice_path(id, 0, "png", m_config.flat)).parent_path();
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) throw Error(path_text(folder) + ": cannot create: " + ec.message());
    pool.parallel_for(kept.size(), [&](std::size_t k) {
        cancel.check();
        const std::size_t index = kept[k];
        SliceRecord& rec = record.slices[index];
        const SliceView view = volume.slice(index);
        if (png) {
            const std::string rel = OutputStore::slice_path(id, index, "png", m_config.flat);
            write_file_atomic(m_out / rel, encode_png(to_8bit(view, m_config.intensity)));
            rec.output = rel;
        }
        if (npy) {
            const std::string rel = OutputStore::slice_path(id, index, "npy", m_config.flat);
            write_file_atomic(m_out / rel, encode_npy(view));
            if (png) {
                rec.output_npy = rel;
            } else {
                rec.output = rel;
            }
        }
    });
}

VolumeRecord VolumeReducer::run(const Volume& volume, ThreadPool& pool, ProgressSink& progress,
                                const CancelToken& cancel) const {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t n = volume.slice_count();
    VolumeRecord record;
    record.info = volume.info();
    record.slices.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        record.slices[i].index = i;
        record.slices[i].file = record.info.slices[i].file;
        record.slices[i].z = record.info.slices[i].z;
    }
    progress.volume_started(record.info.id, n);

    const PruneResult pruned = prune(volume, record, pool, progress, cancel);
    for (std::size_t i = 0; i < n; ++i) {
        SliceRecord& s = record.slices[i];
        s.kept = pruned.kept[i];
        s.match = pruned.match[i];
        s.score = pruned.score[i];
    }
    record.kept = pruned.kept_count();
    record.pairs_computed = pruned.pairs_computed;

    write_outputs(volume, record, pool, cancel);
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return record;
}

}  // namespace lessmore
