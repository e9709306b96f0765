// The decoder pool of the fuzz build: no worker processes. Compressed DICOM pixel data is
// decoded by GDCM in a worker in lessmore (include/lessmore/decoder_pool.hpp); what the
// parent process does with the file before and after that is what fuzz_dicom covers.
#include <lessmore/decoder_pool.hpp>
#include <lessmore/error.hpp>

namespace lessmore {

struct DecoderPool::Impl {};

DecoderPool::DecoderPool(std::string, std::size_t, std::chrono::milliseconds) {}
DecoderPool::~DecoderPool() = default;

DecodedData DecoderPool::run(const std::string& task, const std::string&, const std::string&) {
    throw InputError("no decoder for '" + task + "' in the fuzz build");
}

}  // namespace lessmore
