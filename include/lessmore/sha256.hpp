#pragma once
// SHA-256 (FIPS 180-4): the digests lessmore records and compares — the model file of a
// DeepNet run, PatientID keys, source fingerprints for --resume, shortened output names.
// Computed by Nettle (Debian nettle-dev), which picks the CPU's SHA instructions where it
// has them: the source fingerprints of --resume hash the first 4 KiB of every file, and the
// hand-written version this replaced was 7% of the instructions of a DICOM HASH run
// (callgrind, 60 slices; docs/performance.md, "Per-slice work"). The FIPS vectors in
// tests/kernels/test_sha256.cpp still check it.
#include <cstddef>
#include <cstdint>
#include <string>

namespace lessmore {

std::string sha256_hex(const void* data, std::size_t size);

}  // namespace lessmore
