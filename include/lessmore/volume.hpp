#pragma once
// Volume: a stack of 2D slices in slice order, as read from one source.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

// std::allocator whose resize leaves bytes uninitialised: voxel buffers are always
// overwritten by the reader, and zero-filling hundreds of MB first is wasted work.
template <typename T>
struct UninitialisedAllocator : std::allocator<T> {
    using std::allocator<T>::allocator;
    template <typename U>
    struct rebind {
        using other = UninitialisedAllocator<U>;
    };
    template <typename U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

using Bytes = std::vector<std::byte, UninitialisedAllocator<std::byte>>;

// How voxel values are kept: the narrowest type that holds every value the file can
// give, decided from its header alone (docs/dicom.md, section "Value model"), so
// nothing is ever clipped and `info` tells what `reduce` uses. CT in Hounsfield units
// is Int16; values int16 cannot hold are Int32; fractional values (PET, scaled NIfTI)
// are Float64 unless the file stores float32.
enum class VoxelType { UInt8, Int16, UInt16, Int32, Float32, Float64 };

// Every VoxelType, for lookups by name.
constexpr VoxelType k_voxel_types[] = {VoxelType::UInt8, VoxelType::Int16,   VoxelType::UInt16,
                                       VoxelType::Int32, VoxelType::Float32, VoxelType::Float64};

std::size_t voxel_size(VoxelType type);
const char* voxel_type_name(VoxelType type);  // numpy-style: "uint8", "int16", ...

// Geometry is in DICOM's patient coordinates (LPS: x to the patient's left, y to the
// posterior, z to the head; mm) whatever the format, each number at the precision its
// file stores it (docs/output.md, section "Geometry"). The voxel at row r, column c of
// slice k lies at
//     position[k] + c * spacing[0] * orientation[0..2] + r * spacing[1] * orientation[3..5]
struct SliceInfo {
    std::string file;         // source file relative to the volume; empty for single-file volumes
    std::optional<double> z;  // position along the slice normal (mm); none for image folders
    // Patient coordinates of the slice's first voxel (row 0, column 0); none without geometry.
    std::optional<std::array<double, 3>> position;
};

// What is known about a volume without reading its voxels.
struct VolumeInfo {
    std::string id;          // path relative to the INPUT (+ "#series" when a folder holds several)
    std::string source;      // the file or folder the volume came from, as the user can find it
    std::string format;      // "dicom", "nifti", "nrrd", "metaimage", "images"
    std::string series_uid;  // DICOM: the SeriesInstanceUID (copies of a series share it)
    std::string patient;     // DICOM: 16 hex digits of SHA-256(PatientID) ("" without one); --scope patient
    std::string study;       // DICOM: 16 hex digits of SHA-256(StudyInstanceUID) ("" without one)
    std::string series;      // DICOM: 16 hex digits of SHA-256(SeriesInstanceUID) ("" without one)
    int width = 0;           // size[0]: columns
    int height = 0;          // size[1]: rows
    // mm between adjacent columns, rows, slices.
    std::array<double, 3> spacing{1.0, 1.0, 1.0};
    // Direction cosines of a row (the way column indices grow), then of a column (the way
    // row indices grow), as DICOM's ImageOrientationPatient; none without geometry.
    std::optional<std::array<double, 6>> orientation;
    VoxelType type = VoxelType::Int16;
    // The smallest and largest value the header allows (the range `type` was chosen from,
    // docs/dicom.md, section "Value model"): every voxel lies within it. Integer types
    // only; unset for float volumes and where a reader proves no narrower range than the
    // type's (value_bounds() then gives the type's).
    std::optional<std::pair<double, double>> value_range;
    std::vector<SliceInfo> slices;

    std::size_t slice_count() const { return slices.size(); }
    std::size_t slice_pixels() const { return static_cast<std::size_t>(width) * height; }
    std::size_t slice_bytes() const { return slice_pixels() * voxel_size(type); }
    // value_range, else the range of an integer `type`; none for float volumes.
    std::optional<std::pair<double, double>> value_bounds() const;
};

// A read-only view of one slice's voxels.
struct SliceView {
    const void* data = nullptr;
    VoxelType type = VoxelType::Int16;
    int width = 0;
    int height = 0;
    std::size_t pixels() const { return static_cast<std::size_t>(width) * height; }
};

// The voxels of a volume. Storage is a list of chunks, each holding one or more
// consecutive slices, so readers can hand over their buffers without copying
// (one chunk per DICOM file, one chunk for a whole NIfTI volume).
class Volume {
public:
    Volume() = default;
    explicit Volume(VolumeInfo info) : m_info(std::move(info)) {}

    const VolumeInfo& info() const { return m_info; }
    VolumeInfo& info() { return m_info; }

    // Adds a chunk holding `count` consecutive slices (appended in slice order).
    void add_chunk(Bytes bytes, std::size_t count);
    // Adds a chunk whose k-th slice is slice `slices[k]` of the volume (frames of a
    // multi-frame file, stored in another order than the slices'); every slice of the
    // volume must be placed exactly once before it is read.
    void add_chunk_at(Bytes bytes, const std::vector<std::size_t>& slices);

    // Adds one slice whose voxels stay where they are (slice_bytes() bytes at `data`, in
    // the volume's type, aligned for it), appended in slice order: no copy. The caller
    // keeps that memory alive and unchanged for as long as the Volume is read
    // (lessmore.reduce_array lends a NumPy array's slices this way).
    void add_borrowed_slice(const void* data);

    SliceView slice(std::size_t k) const;
    std::size_t slice_count() const { return m_refs.size(); }

private:
    struct SliceRef {
        std::size_t chunk;
        std::size_t offset;
        const std::byte* borrowed = nullptr;  // add_borrowed_slice: the voxels themselves
    };
    static constexpr std::size_t k_unplaced = static_cast<std::size_t>(-1);
    VolumeInfo m_info;
    std::vector<Bytes> m_chunks;
    std::vector<SliceRef> m_refs;
};

}  // namespace lessmore
