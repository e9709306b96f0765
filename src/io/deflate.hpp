#pragma once
// One deflate for what lessmore writes compressed: PNG's IDAT (a zlib stream) and .nii.gz
// units (a gzip member), by ISA-L's igzip at level 1 (deflate.cpp says why); and the CRC-32
// PNG's chunks carry.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lessmore {

enum class DeflateWrapper { Zlib, Gzip };  // RFC 1950 or RFC 1952 around the deflate data

// The concatenation of `pieces`, deflated into one stream in `wrapper`. Throws Error when
// the compressor fails (it does not on any input; the output buffer grows as needed).
std::string deflate_fast(const std::vector<std::string_view>& pieces, DeflateWrapper wrapper);

// CRC-32 of ISO 3309 (the one gzip and PNG use) of `size` bytes at `data`.
std::uint32_t crc32_of(const void* data, std::size_t size);

}  // namespace lessmore
