#pragma once
// SHA-256 (FIPS 180-4): the digests lessmore records and compares — the model file of a
// DeepNet run, PatientID keys, source fingerprints for --resume, shortened output names.
// Hand-written (tested against the FIPS vectors in tests/kernels/test_sha256.cpp): none of
// the libraries lessmore links offers SHA-256 in its public API (OpenCV, ITK and GDCM keep
// theirs internal), and 60 lines were cheaper than OpenSSL as a dependency.
#include <cstddef>
#include <cstdint>
#include <string>

namespace lessmore {

std::string sha256_hex(const void* data, std::size_t size);

}  // namespace lessmore
