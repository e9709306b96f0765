#pragma once
// The text headers of NRRD (.nrrd/.nhdr) and MetaImage (.mha/.mhd) files, read by
// lessmore before ITK sees the file: from a bounded prefix (8 KB, then at most 1 MB, by
// pread on a descriptor opened without blocking), so no file of any size is read whole
// to find out what it is. The layout they describe -- voxel count, element size, where
// the data lies and how it is encoded -- is what io/volume_data_check.hpp checks against
// the data file before ITK reads it (docs/dicom.md, section "Volume files").
//
// The rules mirror the readers ITK uses (teem's NrrdIO, MetaIO) for the fields that decide
// where voxels come from; a header these readers could read differently from lessmore
// (a duplicate field, an unparsable number, a line MetaIO would misread) is refused.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

// Longest NRRD or MetaImage header read (and accepted).
constexpr std::uint64_t k_max_text_header = std::uint64_t{1} << 20;

struct VolumeLayout {
    enum class Format { Nrrd, MetaImage };
    // Raw bytes; NRRD gzip (one or more gzip members); MetaImage CompressedData (one zlib
    // or gzip stream); NRRD ascii/hex text (teem counts its values itself).
    enum class Encoding { Raw, Gzip, Zlib, Text };

    Format format = Format::Nrrd;
    std::filesystem::path header;      // the file given
    std::vector<std::uint64_t> sizes;  // samples along each axis, fastest first
    std::uint64_t element_size = 0;    // bytes per sample
    bool big_endian = false;
    Encoding encoding = Encoding::Raw;
    bool attached = true;             // data in the header file after the header
    std::string data_name;            // the data file as the header names it (detached)
    std::filesystem::path data_file;  // the header itself, or the named file
    std::uint64_t header_end = 0;     // first byte after the header
    // NRRD "byte skip" (>= 0, or -N: the data ends N - 1 bytes before the file's end);
    // MetaImage "HeaderSize" (0, -1: the data is the file's last bytes, or the absolute
    // offset of the data).
    std::int64_t skip = 0;
    std::uint64_t line_skip = 0;                   // NRRD "line skip"
    std::optional<std::uint64_t> compressed_size;  // MetaImage "CompressedDataSize"
    std::string element_type;                      // as written: "short", "MET_SHORT"

    std::uint64_t voxel_count() const;
    std::uint64_t voxel_bytes() const { return voxel_count() * element_size; }
};

// Reads and checks the header of a .nrrd/.nhdr/.mha/.mhd file (by extension). Throws
// InputError with a one-line reason: not such a file (no NRRD magic, no MetaImage
// fields), a header longer than 1 MB or holding NUL bytes, fields missing, duplicated or
// malformed, sizes that overflow, and the forms lessmore refuses (data file lists and
// patterns, standard input, more than one sample per voxel, MetaImage text data).
VolumeLayout read_volume_layout(const std::filesystem::path& header);

}  // namespace lessmore
