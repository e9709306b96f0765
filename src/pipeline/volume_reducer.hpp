#pragma once
// Reduces one loaded volume: features, pruning, slice files.
#include <lessmore/metric.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/thread_pool.hpp>

#include "pipeline/run_record.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace lessmore {

// everyn's N: --every, or the nearest whole step to 1 / --fraction (at least 1).
std::size_t everyn_step(const ReduceConfig& config);

class VolumeReducer {
public:
    // metric is null for everyn.
    VolumeReducer(const ReduceConfig& config, const Metric* metric, std::filesystem::path out_dir);

    // Prunes the volume and writes its kept slices. Throws InputError when the volume
    // cannot be reduced (e.g. slices too small for the metric), Error when OUT cannot be
    // written.
    VolumeRecord run(const Volume& volume, ThreadPool& pool, ProgressSink& progress, const CancelToken& cancel) const;

    // The same for a volume read slice by slice (leader or everyn): each slab of slices is
    // prepared and decided as it comes, kept slices are written at once and the rest let
    // go, so memory holds one slab and the kept slices' features, not the volume. The
    // result equals run() on the whole volume. Outputs already written are removed when
    // the stream fails.
    VolumeRecord run(SliceStream& stream, ThreadPool& pool, ProgressSink& progress, const CancelToken& cancel) const;
    // Whether run(SliceStream&) can serve this configuration (not the pairs strategy, but
    // for units decided from --features).
    bool streams() const;
    std::size_t chunk() const;  // slices prepared at a time: fixed, so batches never depend on threads

private:
    using SliceAt = std::function<SliceView(std::size_t)>;
    using Saved = std::vector<std::vector<float>>;  // --save-features: each slice's values
    PruneResult prune(const Volume& volume, VolumeRecord& record, Saved& saved, ThreadPool& pool,
                      ProgressSink& progress, const CancelToken& cancel) const;
    void write_slices(const std::vector<std::size_t>& kept, const SliceAt& slice, VolumeRecord& record,
                      ThreadPool& pool, const CancelToken& cancel) const;
    // write(k) writes the files of slice kept[k], from any thread (the folder is made first,
    // here); null when nothing is written (--format none, nothing kept). kept and slice are
    // held by reference: they must outlive the task.
    using WriteTask = std::function<void(std::size_t)>;
    WriteTask slice_writer(const std::vector<std::size_t>& kept, const SliceAt& slice, VolumeRecord& record,
                           const CancelToken& cancel) const;
    class Slab;  // the slab of a stream in hand (volume_reducer.cpp)
    // advance(ready): the next slab read (Slab::advance) while the pending kept slices of
    // the slab in hand are written; false when the stream is done.
    using Advance = std::function<bool(const std::function<void(std::size_t, const SliceView&)>&)>;
    PruneResult prune_slabs(Slab& slab, VolumeRecord& record, Saved& saved, std::vector<std::size_t>& pending,
                            const Advance& advance, ThreadPool& pool, ProgressSink& progress,
                            const CancelToken& cancel) const;
    // The leader walk both paths share: ensure(i) makes slice i's feature ready (reading
    // the next slab, or preparing the next chunk), on_kept(i) sees each slice kept.
    PruneResult walk_leader(std::vector<std::unique_ptr<Feature>>& features,
                            const std::function<void(std::size_t)>& ensure,
                            const std::function<void(std::size_t)>& on_kept, ThreadPool& pool,
                            const CancelToken& cancel) const;
    // The volume's record before any slice is decided; throws InputError when the export
    // cannot hold the volume (--export-values hu: a float volume, a range wider than 16 bits).
    VolumeRecord new_record(const VolumeInfo& info) const;
    std::string png_bytes(const SliceView& view, const VolumeRecord& record) const;  // per --export-values
    std::string npy_bytes(const SliceView& view) const;
    static void apply(const PruneResult& pruned, VolumeRecord& record);
    // The slice's manifest text and, for a cross-volume pass, its feature for the record.
    // With --save-features, its values go into saved[slice.index].
    void describe(const Feature& feature, SliceRecord& slice, Saved& saved) const;
    // --save-features: writes the volume's features (every slice has them).
    void save_features(const VolumeRecord& record, const Saved& saved) const;

    const ReduceConfig& m_config;
    const Metric* m_metric;
    std::filesystem::path m_out;
};

}  // namespace lessmore
