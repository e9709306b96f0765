#pragma once
// Reduces one volume's 3-D units (slabs, patches; docs/methods.md, section "3-D units"):
// the unit grid, each unit's feature, the same pure pruning strategies as for slices
// (include/lessmore/pruning.hpp) over units, and the kept units written as NIfTI / NPY.
#include <lessmore/cancel.hpp>
#include <lessmore/error.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/unit.hpp>
#include <lessmore/volume.hpp>

#include "pipeline/run_record.hpp"
#include "pipeline/slice_window.hpp"

#include <array>
#include <filesystem>

namespace lessmore {

// A volume that holds no whole unit: listed in the run's `skipped`, not a failure.
class VolumeSkipped : public Error {
public:
    using Error::Error;
};

class UnitReducer {
public:
    // slice_metric: the run's metric (HASH hashes the slab's slices with it); null for everyn.
    UnitReducer(const ReduceConfig& config, const Metric* slice_metric, std::filesystem::path out_dir);

    // Fills record's unit fields, kept count and pairs, and writes the kept units. Throws
    // VolumeSkipped when no unit fits in the volume, InputError when a unit cannot be
    // compared (e.g. a side shorter than SSIM's window).
    void run(const Volume& volume, VolumeRecord& record, ThreadPool& pool, ProgressSink& progress,
             const CancelToken& cancel) const;
    // The same for a volume read in order (`chunk` slices at a time), holding only the
    // slices of the units in hand (docs/methods.md, section "3-D units", "Memory"); not for
    // --strategy pairs on voxels (VolumeReducer::streams()). The result equals run() on the
    // whole volume.
    void run(SliceStream& stream, std::size_t chunk, VolumeRecord& record, ThreadPool& pool, ProgressSink& progress,
             const CancelToken& cancel) const;

    // Voxel (0, 0, 0) of `box` and its three axes (x = column, y = row, z = slice) in LPS
    // millimetres, as a 3 x 4 matrix [axis_x axis_y axis_z origin]; from the unit's own
    // slices where the volume has geometry (docs/output.md, section "Unit files").
    static std::array<std::array<double, 4>, 3> unit_affine_lps(const VolumeInfo& info, const UnitBox& box);

private:
    void run(SliceWindow& window, VolumeRecord& record, ThreadPool& pool, const CancelToken& cancel) const;
    // The volume's unit grid into `units` and the record's unit rows; the unit in voxels.
    UnitSpec list_units(SliceWindow& window, VolumeRecord& record, std::vector<UnitBox>& units,
                        const CancelToken& cancel) const;

    const ReduceConfig& m_config;
    const Metric* m_metric;
    std::filesystem::path m_out;
};

}  // namespace lessmore
