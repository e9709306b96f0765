#pragma once
// SHA-256 (FIPS 180-4), for recording the model file a DeepNet run used. None of the
// mandated libraries provides it, so it is written here (tested against FIPS vectors).
#include <cstddef>
#include <cstdint>
#include <string>

namespace lessmore {

std::string sha256_hex(const void* data, std::size_t size);

}  // namespace lessmore
