// libFuzzer target: the NRRD and MetaImage header reader and the checks lessmore makes
// before ITK reads a volume (io/volume_header.hpp, io/volume_data_check.hpp). The input is
// the header file (with any attached data after it): in/v.nrrd when it starts with "NRRD",
// else in/v.mha, in a folder that also holds data files a header may name (data.raw,
// data.gz, data.zraw, sub/data.raw), a folder (dir) and a link to a file outside the input
// (escape.raw -> ../outside.raw). As in volume_file_reader.cpp: read_volume_layout(), then
// check_data_location(), then check_volume_data() with and without inflating. Properties:
// no sanitizer report; refusals are one-line InputErrors; a layout that passes names a
// data file inside the input, and raw data that passes is really there.
#include "fuzz_support.hpp"

#include "io/volume_data_check.hpp"

#include <lessmore/error.hpp>

#include <zlib.h>

#include <cstring>
#include <string>

namespace {

using namespace lessmore;
namespace fs = std::filesystem;

std::string compressed(const std::string& bytes, bool gzip) {
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, gzip ? 16 + MAX_WBITS : MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        fuzz::fail("deflateInit2", __FILE__, __LINE__);
    }
    std::string out(deflateBound(&z, bytes.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) fuzz::fail("deflate", __FILE__, __LINE__);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

const fs::path& input_root() {
    static const fs::path root = [] {
        const fs::path r = fuzz::scratch() / "in";
        fs::create_directories(r / "sub");
        fs::create_directories(r / "dir");
        std::string data(4096, '\0');
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
        fuzz::write_file(r / "data.raw", data);
        fuzz::write_file(r / "sub" / "data.raw", data);
        fuzz::write_file(r / "data.gz", compressed(data, true));
        fuzz::write_file(r / "data.zraw", compressed(data, false));
        fuzz::write_file(fuzz::scratch() / "outside.raw", data);
        fs::create_symlink("../outside.raw", r / "escape.raw");
        return r;
    }();
    return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fs::path& root = input_root();
    const bool nrrd = size >= 4 && std::memcmp(data, "NRRD", 4) == 0;
    const fs::path header = root / (nrrd ? "v.nrrd" : "v.mha");
    fs::remove(root / "v.nrrd");
    fs::remove(root / "v.mha");
    fuzz::write_file(header, data, size);
    try {
        const VolumeLayout layout = read_volume_layout(header);
        LESSMORE_FUZZ_CHECK(layout.header_end <= size);
        check_data_location(layout, root.string());
        // A data file that passes lies inside the input (the link out never passes).
        LESSMORE_FUZZ_CHECK(
            layout.attached ||
            fs::weakly_canonical(layout.data_file).string().rfind(fs::weakly_canonical(root).string(), 0) == 0);
        for (const bool inflate : {false, true}) {
            check_volume_data(layout, inflate);
            if (layout.encoding == VolumeLayout::Encoding::Raw && layout.skip >= 0) {
                // Raw data that passes is all there.
                const auto file_size = fs::file_size(layout.data_file);
                LESSMORE_FUZZ_CHECK(layout.voxel_bytes() <= file_size);
            }
        }
    } catch (const InputError& e) {
        fuzz::check_message(e.what());
    }
    return 0;
}
