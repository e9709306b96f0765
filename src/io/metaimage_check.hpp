#pragma once
// MetaImage (.mha/.mhd) files checked before MetaIO reads them: MetaIO reports short or
// undecodable pixel data only on std::cerr and carries on with whatever its buffer held.
#include <cstdint>
#include <filesystem>

namespace lessmore {

// Throws InputError unless the pixel data of the MetaImage at `header` holds at least
// `needed` bytes: the rest of the file (ElementDataFile LOCAL) or the data file beside
// it, inflated in full when CompressedData is True.
void check_metaimage_data(const std::filesystem::path& header, std::uint64_t needed);

}  // namespace lessmore
