#pragma once
// Kept units as NIfTI-1 (.nii.gz): written here by hand, because ITK — the only library in
// the mandated set that writes NIfTI — lives in the decoder worker, not in lessmore
// (ARCHITECTURE.md, section "Layers"); the header is NIfTI-1's 348 bytes, the file gzip
// (zlib).
#include <lessmore/volume.hpp>

#include <array>
#include <string>

namespace lessmore {

// A 3-D block in NIfTI's voxel order: i (columns, fastest), j (rows), k (slices); the
// voxels as `data` holds them, z-major (k, then j, then i), in `type`.
struct NiftiBlock {
    const void* data = nullptr;
    VoxelType type = VoxelType::Int16;
    std::array<int, 3> dims{0, 0, 0};  // i, j, k
    // Voxel (i, j, k) lies at affine * (i, j, k, 1) in RAS+ millimetres (NIfTI's world).
    std::array<std::array<double, 4>, 3> affine{};
    // Scanner geometry (sform and, when the affine's axes are orthogonal, qform codes 1);
    // false: only aligned to an arbitrary frame (sform code 2, no qform).
    bool scanner = true;
};

// The .nii.gz file's bytes: sform rows = the affine; qform = its rotation as a quaternion
// with pixdim = the columns' lengths (only when the columns are orthogonal: a tilted
// gantry's sheared affine has no qform); scl_slope 0 (values as stored); xyzt_units mm.
std::string encode_nifti_gz(const NiftiBlock& block);

}  // namespace lessmore
