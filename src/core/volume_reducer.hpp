#pragma once
// Reduces one loaded volume: features, pruning, slice files.
#include <lessmore/metric.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/thread_pool.hpp>

#include <filesystem>
#include <memory>

namespace lessmore {

class VolumeReducer {
public:
    // metric is null for everyn.
    VolumeReducer(const ReduceConfig& config, const Metric* metric, std::filesystem::path out_dir);

    VolumeRecord run(const Volume& volume, ThreadPool& pool, ProgressSink& progress, const CancelToken& cancel) const;

    // OUT-relative path of a kept slice's file (extension without the dot).
    std::string output_path(const std::string& id, std::size_t index, const char* ext) const;

private:
    PruneResult prune(const Volume& volume, VolumeRecord& record, ThreadPool& pool, ProgressSink& progress,
                      const CancelToken& cancel) const;
    void write_outputs(const Volume& volume, VolumeRecord& record, ThreadPool& pool, const CancelToken& cancel) const;

    const ReduceConfig& m_config;
    const Metric* m_metric;
    std::filesystem::path m_out;
};

}  // namespace lessmore
