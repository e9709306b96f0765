#pragma once
// MetaImage (.mha/.mhd) and NRRD (.nrrd/.nhdr) data checked before ITK reads it: MetaIO
// reports short or undecodable pixel data only on std::cerr and carries on with whatever
// its buffer held, and teem accepts a gzip stream whose end (and CRC) is missing.
#include <cstdint>
#include <filesystem>

namespace lessmore {

// Throws InputError unless the pixel data of the MetaImage at `header` holds at least
// `needed` bytes: the rest of the file (ElementDataFile LOCAL) or the data file it names,
// inflated in full, to the end of its zlib stream, when CompressedData is True.
void check_metaimage_data(const std::filesystem::path& header, std::uint64_t needed);

// The same for NRRD: raw data (after "byte skip") holds `needed` bytes; gzip data
// inflates to its end with a matching CRC and at least `needed` bytes.
void check_nrrd_data(const std::filesystem::path& header, std::uint64_t needed);

}  // namespace lessmore
