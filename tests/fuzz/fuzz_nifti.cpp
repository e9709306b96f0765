// libFuzzer target: lessmore's NIfTI reader (io/nifti_file.hpp) and the gzip stream under
// it (io/gzip_stream.hpp). The input is one file: parsed as a header block in memory,
// then read by NiftiReader from the scratch folder as f.nii, or f.nii.gz when it starts
// with the gzip magic; a header whose magic says "ni1"/"ni2" is read as a pair, f.hdr
// (the header's bytes) + f.img (the rest). Then the gzip stream alone, drained to its end.
// Properties: no sanitizer report; refusals are one-line InputErrors; a volume read without
// error delivered exactly its voxel bytes.
#include "fuzz_support.hpp"

#include "io/gzip_stream.hpp"
#include "io/nifti_file.hpp"

#include <lessmore/error.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

namespace {

using namespace lessmore;
namespace fs = std::filesystem;

void parse_in_memory(const std::uint8_t* data, std::size_t size) {
    try {
        const NiftiHeader h = parse_nifti_header(reinterpret_cast<const std::byte*>(data), size);
        (void)nibabel_scaling(h);
        (void)h.voxel_bytes();
        (void)h.affine();
    } catch (const InputError& e) {
        fuzz::check_message(e.what());
    }
}

// The file(s) as lessmore would find them; returns the path to open.
fs::path write_files(const std::uint8_t* data, std::size_t size) {
    const fs::path dir = fuzz::scratch();
    for (const char* name : {"f.nii", "f.nii.gz", "f.hdr", "f.img"}) fs::remove(dir / name);
    const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (gzip) {
        fuzz::write_file(dir / "f.nii.gz", data, size);
        return dir / "f.nii.gz";
    }
    std::size_t header = 0;
    if (size >= 348 && std::memcmp(data + 344, "ni1", 4) == 0) header = 348;
    if (size >= 540 && std::memcmp(data + 4, "ni2", 4) == 0) header = 540;
    if (header == 0) {
        fuzz::write_file(dir / "f.nii", data, size);
        return dir / "f.nii";
    }
    fuzz::write_file(dir / "f.hdr", data, header);
    fuzz::write_file(dir / "f.img", data + header, size - header);
    return dir / "f.hdr";
}

void read_volume(const fs::path& path) {
    try {
        NiftiReader reader = NiftiReader::open(path);
        const NiftiHeader& h = reader.header();
        const std::uint64_t slice = h.slice_bytes();
        LESSMORE_FUZZ_CHECK(slice > 0 && reader.slices_left() == h.slice_count());
        // Slices in pieces of about 1 MiB, as a walk reads them in chunks.
        const std::size_t per_read =
            static_cast<std::size_t>(std::max<std::uint64_t>(1, (std::uint64_t{1} << 20) / slice));
        std::vector<std::byte> buffer(static_cast<std::size_t>(slice) * per_read);
        std::uint64_t delivered = 0;
        while (reader.slices_left() > 0) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(per_read, reader.slices_left()));
            reader.read_slices(n, buffer.data());
            delivered += n * slice;
        }
        LESSMORE_FUZZ_CHECK(delivered == h.voxel_bytes());
    } catch (const InputError& e) {
        fuzz::check_message(e.what());
    }
}

// Every member decompressed and its CRC-32 and length checked, without NIfTI's reading.
void drain_stream(const fs::path& path) {
    try {
        auto stream = open_input_stream(path);
        stream->finish();
        LESSMORE_FUZZ_CHECK(stream->position() <= stream->capacity());
    } catch (const InputError& e) {
        fuzz::check_message(e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parse_in_memory(data, size);
    const fs::path path = write_files(data, size);
    read_volume(path);
    if (path.extension() == ".gz") drain_stream(path);
    return 0;
}
