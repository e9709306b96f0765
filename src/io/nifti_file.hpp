#pragma once
// lessmore's own NIfTI-1 / NIfTI-2 reader. The header is validated in full before any
// voxel is read, then the voxels stream slice by slice through one file descriptor (a
// .nii.gz in one pass with its CRC-32 checked). ITK's NiftiImageIO read damaged files
// silently (short data as zeros, unchecked CRC) or aborted on them.
//
// Files: "n+1"/"n+2" single files (.nii, .nii.gz) hold header and voxels; "ni1"/"ni2"
// pairs are a.hdr + a.img (or a.hdr.gz + a.img.gz), same stem, same folder. A file is
// read from itself only: never a.nii in place of a.nii.gz. Compression is recognised by
// content (the gzip magic), but a name ending in .gz must hold gzip. Either byte order.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lessmore {

class InputStream;

// Whether NiftiReader::open reads a file of this name: .nii, .nii.gz, .hdr, .hdr.gz,
// .img or .img.gz, in any case.
bool is_nifti_name(const std::filesystem::path& path);

// The other file of a header/image pair: a.hdr -> a.img, a.IMG.gz -> a.HDR.gz (each
// letter's case kept); empty for .nii and .nii.gz, and for other names.
std::filesystem::path nifti_pair_sibling(const std::filesystem::path& path);

// The voxel types lessmore reads (complex, RGB, binary and float128 are refused).
enum class NiftiDataType { UInt8, Int8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float32, Float64 };

// numpy's name: "uint8", "int16", "float32", ...
const char* nifti_type_name(NiftiDataType type);

// Row-major: m[row][column]; maps (i, j, k, 1) voxel indices to world (x, y, z, 1).
using Matrix4 = std::array<std::array<double, 4>, 4>;

// A validated header, with the values nibabel sees: where nibabel repairs a field on
// load (pixdim[1..3] of 0 become 1, negative ones their absolute value; a qfac other
// than 1 or -1 becomes 1; a qform/sform code outside 0..5 becomes 0) the repaired value
// is here and `notes` says what was changed.
struct NiftiHeader {
    int version = 1;                    // 1 (348-byte header) or 2 (540-byte header)
    bool swapped = false;               // stored in the other byte order than this machine's
    bool pair = false;                  // "ni1"/"ni2": voxels in a separate .img file
    std::array<std::int64_t, 8> dim{};  // dim[0] = number of dimensions (1..7)
    NiftiDataType datatype = NiftiDataType::Int16;
    int datatype_code = 0;  // as stored: 2, 4, 8, 16, 64, 256, 512, 768, 1024, 1280
    std::size_t bytes_per_voxel = 0;
    std::array<double, 8> pixdim{};  // pixdim[0] = qfac; [1..3] voxel size
    std::uint64_t vox_offset = 0;    // byte of the first voxel in the data file
    double scl_slope = 0.0;          // as stored (see nibabel_scaling)
    double scl_inter = 0.0;
    int qform_code = 0;
    int sform_code = 0;
    std::array<double, 3> quatern{};              // b, c, d
    std::array<double, 3> qoffset{};              // x, y, z
    std::array<std::array<double, 4>, 3> srow{};  // srow_x, srow_y, srow_z
    int xyzt_units = 0;                           // NIFTI_UNITS_* bits as stored (2 = mm)
    int intent_code = 0;
    std::string intent_name;
    std::string descrip;
    std::vector<std::string> notes;  // repairs made as nibabel makes them, one line each

    // (dim[1], dim[2], dim[3]), 1 past dim[0].
    std::array<std::uint64_t, 3> shape() const;
    std::uint64_t slice_count() const { return shape()[2]; }
    std::uint64_t slice_bytes() const { return shape()[0] * shape()[1] * bytes_per_voxel; }
    std::uint64_t voxel_bytes() const { return slice_bytes() * slice_count(); }

    // nibabel's img.affine: the sform when sform_code > 0, else the qform when
    // qform_code > 0 (nibabel's quaternion math in long double, qfac from pixdim[0]),
    // else the pixdim-only fallback (x flipped, centred on the volume).
    Matrix4 affine() const;
    Matrix4 sform_affine() const;
    // Throws InputError when (b, c, d) is longer than 1 (open() checks this only when the
    // qform gives the affine, as nibabel fails to load only then).
    Matrix4 qform_affine() const;
    Matrix4 base_affine() const;
};

// The scaling nibabel applies. nibabel (5.x) takes (scl_slope, scl_inter) as float64;
// a slope of 0 or not finite means "no scaling", i.e. (1, 0); a finite non-zero slope
// with a non-finite intercept is an error (refused when the header is read). The value
// of a voxel is then, in float64:
//     value = double(raw) * slope + inter
// where nibabel skips the multiply when slope == 1 and the add when inter == 0 (the
// same numbers but for the sign of a zero). img.get_fdata() is always that float64;
// np.asanyarray(img.dataobj) is the raw array in its stored type when the pair is
// (1, 0) and that float64 otherwise (for integer raw types nibabel would move to long
// double only if int min/max * slope + inter overflowed float64, |slope| > ~1e289).
struct NiftiScaling {
    double slope = 1.0;
    double inter = 0.0;
    bool identity() const { return slope == 1.0 && inter == 0.0; }
    double apply(double raw) const {
        if (slope != 1.0) raw *= slope;
        if (inter != 0.0) raw += inter;
        return raw;
    }
};
NiftiScaling nibabel_scaling(const NiftiHeader& header);

// Parses and validates a header block (348 or 540 bytes from the start of the file, in
// either byte order). Checks everything that needs no file size: magic, dims, type,
// bitpix, vox_offset (finite, whole, not negative, past the header in a single file),
// pixdim, scaling, and the sform/qform when their codes are > 0. Throws InputError.
NiftiHeader parse_nifti_header(const std::byte* data, std::size_t size);

// A NIfTI file open for reading its voxels once, front to back.
class NiftiReader {
public:
    // Reads and checks the header, and checks that the data file can hold the voxels
    // (uncompressed: they end within the file; gzip: at most 1032x the compressed size).
    // path: .nii, .nii.gz, .hdr(.gz) or .img(.gz), any case. Throws InputError.
    static NiftiReader open(const std::filesystem::path& path);

    NiftiReader(NiftiReader&&) noexcept;
    NiftiReader& operator=(NiftiReader&&) noexcept;
    ~NiftiReader();

    const NiftiHeader& header() const { return m_header; }
    const std::filesystem::path& data_path() const { return m_data_path; }  // the .img of a pair
    std::uint64_t slices_left() const { return m_header.slice_count() - m_next_slice; }

    // Reads the next `count` slices (dim[1] * dim[2] voxels each) in file order into dest
    // (count * header().slice_bytes() bytes): the stored values in this machine's byte
    // order, unscaled. The call that reads the last slice also checks the rest of a gzip
    // stream (CRC-32, length, trailing bytes) and closes the file, so a volume is good
    // only once every slice has been read without an exception. After an exception the
    // file is closed and the reader unusable. count > slices_left() is a logic_error.
    void read_slices(std::size_t count, std::byte* dest);

private:
    NiftiReader(NiftiHeader header, std::unique_ptr<InputStream> stream, std::filesystem::path data_path);

    NiftiHeader m_header;
    std::unique_ptr<InputStream> m_stream;
    std::filesystem::path m_data_path;
    std::uint64_t m_next_slice = 0;
};

}  // namespace lessmore
