#pragma once
// Reduces one loaded volume: features, pruning, slice files.
#include <lessmore/metric.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/thread_pool.hpp>

#include "pipeline/run_record.hpp"

#include <filesystem>
#include <memory>

namespace lessmore {

class VolumeReducer {
public:
    // metric is null for everyn.
    VolumeReducer(const ReduceConfig& config, const Metric* metric, std::filesystem::path out_dir);

    // Prunes the volume and writes its kept slices. Throws InputError when the volume
    // cannot be reduced (e.g. slices too small for the metric), Error when OUT cannot be
    // written.
    VolumeRecord run(const Volume& volume, ThreadPool& pool, ProgressSink& progress, const CancelToken& cancel) const;

private:
    PruneResult prune(const Volume& volume, VolumeRecord& record, ThreadPool& pool, ProgressSink& progress,
                      const CancelToken& cancel) const;
    void write_outputs(const Volume& volume, VolumeRecord& record, ThreadPool& pool, const CancelToken& cancel) const;

    const ReduceConfig& m_config;
    const Metric* m_metric;
    std::filesystem::path m_out;
};

}  // namespace lessmore
