#pragma once
// MetaImage (.mha/.mhd) and NRRD (.nrrd/.nhdr) data checked against the file before ITK
// reads it. ITK's readers do not: MetaIO reports short or undecodable pixel data only on
// std::cerr and leaves whatever the buffer held; teem takes the header's own text for
// voxels when "byte skip: -1" finds too few bytes after it, reads zlib data named gzip as
// raw bytes, and both follow a header's data file anywhere on the machine. The rules are
// in docs/dicom.md, section "Volume files".
#include "io/volume_header.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace lessmore {

// A detached data file (NRRD "data file:", MetaImage "ElementDataFile =") is read only
// when it is a regular file inside the input the header was found in, and not the header
// itself: a header must not decide what else on the machine is read. Throws InputError.
void check_data_location(const VolumeLayout& layout, const std::string& root);

// What the data check learned: for compressed data, the CRC-32 of the voxel bytes it
// inflated (in file byte order), to compare with what ITK hands back.
struct DataCheck {
    std::optional<std::uint32_t> crc32;
};

// Throws InputError, naming the data file and the bytes it holds, unless the data file
// can supply every voxel where the header says they are:
//  - raw: at least voxel_bytes() from the data offset (line skip, byte skip / HeaderSize,
//    -1 counted from the end but never reaching back into the header); trailing bytes
//    are ignored, as teem and MetaIO ignore them;
//  - NRRD gzip: gzip members (the magic checked) inflating, CRC-32 and length checked by
//    zlib, to exactly byte skip + voxel_bytes();
//  - MetaImage CompressedData: one zlib/gzip stream within CompressedDataSize bytes (the
//    rest of a detached file without it) inflating to exactly voxel_bytes().
// inflate = false (headers only): compressed data is only checked to be able to hold the
// voxels at deflate's best ratio.
DataCheck check_volume_data(const VolumeLayout& layout, bool inflate);

// Compares ITK's voxels (this machine's byte order) with the CRC-32 the check recorded;
// throws InputError when they differ. `data` is left as it was.
void verify_voxels(const VolumeLayout& layout, const DataCheck& check, std::byte* data, std::size_t size);

}  // namespace lessmore
