#pragma once
// MetaImage (.mha/.mhd) and NRRD (.nrrd/.nhdr) files checked before ITK reads them: MetaIO
// reports short or undecodable pixel data only on std::cerr and carries on with whatever
// its buffer held, teem accepts a gzip stream whose end (and CRC) is missing, and both
// follow a header's data file anywhere on the machine.
#include <cstdint>
#include <filesystem>
#include <string>

namespace lessmore {

// A header that names the file holding its voxels (NRRD "data file:", MetaImage
// "ElementDataFile =") is read only when that file is a regular file inside the input the
// header was found in: a header must not decide what else on the machine is read. Throws
// InputError otherwise, and for a list or pattern of data files (not supported).
void check_detached_data(const std::string& path, const std::string& root);

// Throws InputError unless the pixel data of the MetaImage at `header` holds at least
// `needed` bytes: the rest of the file (ElementDataFile LOCAL) or the data file it names,
// inflated in full, to the end of its zlib stream, when CompressedData is True.
void check_metaimage_data(const std::filesystem::path& header, std::uint64_t needed);

// The same for NRRD: raw data (after "byte skip") holds `needed` bytes; gzip data
// inflates to its end with a matching CRC and at least `needed` bytes.
void check_nrrd_data(const std::filesystem::path& header, std::uint64_t needed);

}  // namespace lessmore
