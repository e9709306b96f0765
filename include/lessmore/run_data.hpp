#pragma once
// A finished run as data (the Python package's lessmore.Run, docs/python.md): what
// manifest.json says, rebuilt from OUT's typed records (src/pipeline/run_record.cpp) by the
// reader that merge, report and compare use, so there is one reader of a run.
#include <lessmore/cancel.hpp>
#include <lessmore/volume.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>

namespace lessmore {

// JSON: {"parameters", "errors", "skipped", "duplicates", "volumes"} with each volume as
// manifest.json shows it (its slices included, the cross-volume pass's decisions applied),
// and "slice_table": the text manifest.csv holds, made by the same code from the same rows.
// A unit run (--unit slab|patch): "unit_table" is that text (one row per unit) and
// "slice_table" the slice table's header alone.
// Throws UsageError naming OUT when it holds no finished run, or the record at fault.
std::string run_json(const std::string& out, int threads, const CancelToken& cancel);

// One slice's original voxels, read again from its source the way the run read it: the
// run's inputs (run.json) discovered again, as `report` does, and the volume `id` read
// with the run's slice order (a source's path is never taken from a record). The volume
// keeps its VolumeInfo (spacing, positions) and only slice `index`. Throws UsageError when
// OUT holds no run or the volume is no longer among the inputs (or has another slice
// count), InputError when it cannot be read.
Volume source_slice(const std::string& out, const std::string& id, std::size_t index,
                    const std::string& decoder_program, const CancelToken& cancel);

// A block of volume `id`'s original voxels, read again from its source as source_slice
// reads a slice (a unit of a --unit slab|patch run: its origin and size, z, y, x, as the
// unit rows give them): a volume of size[0] slices of size[1] rows and size[2] columns, the
// voxel type the run read, each slice's position moved to the block's first voxel. Throws
// UsageError as source_slice does, and naming the volume and the block when the block does
// not lie inside the volume.
Volume source_block(const std::string& out, const std::string& id, const std::array<int, 3>& origin,
                    const std::array<int, 3>& size, const std::string& decoder_program, const CancelToken& cancel);

}  // namespace lessmore
