#include "io/deflate.hpp"

#include <lessmore/error.hpp>

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cstdint>

namespace lessmore {

// Decision: ISA-L's igzip at level 1 for every stream lessmore writes, because compressing
// is most of what writing a PNG or a .nii.gz costs. On lessmore's own 8-bit CT slices it
// takes 0.73 ms per 512x512 slice against 1.63 for libdeflate's level 1 and 2.29 for zlib's
// best level-1 setting, for files 4% larger than libdeflate's and 10% larger than zlib's
// (one core, bench/bench_png_encoders.sh; docs/performance.md, "Writing PNGs"); on int16
// unit slabs it is measured in docs/performance.md, "3-D units in reduce".
// The stateful interface takes the pieces one after another without copying them together;
// the output grows when a call fills it (incompressible data expands by a few bytes per block).
std::string deflate_fast(const std::vector<std::string_view>& pieces, DeflateWrapper wrapper) {
    std::size_t total = 0;
    for (std::string_view p : pieces) total += p.size();
    std::vector<std::uint8_t> level_buf(ISAL_DEF_LVL1_DEFAULT);
    isal_zstream s;
    isal_deflate_init(&s);
    s.level = 1;
    s.level_buf = level_buf.data();
    s.level_buf_size = static_cast<std::uint32_t>(level_buf.size());
    s.gzip_flag = wrapper == DeflateWrapper::Gzip ? IGZIP_GZIP : IGZIP_ZLIB;
    s.flush = NO_FLUSH;
    std::string out(total + total / 64 + 1024, '\0');
    std::size_t written = 0;
    const auto run = [&](bool last) {
        s.end_of_stream = last ? 1 : 0;
        while (true) {
            if (written == out.size()) out.resize(out.size() * 2);
            const std::size_t room = std::min<std::size_t>(out.size() - written, UINT32_MAX);
            s.next_out = reinterpret_cast<std::uint8_t*>(&out[written]);
            s.avail_out = static_cast<std::uint32_t>(room);
            if (isal_deflate(&s) != COMP_OK) throw Error("deflate failed");
            written += room - s.avail_out;
            const bool done = last ? s.internal_state.state == ZSTATE_END : s.avail_in == 0;
            if (done) return;
        }
    };
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        std::string_view rest = pieces[i];
        do {  // at most 1 GiB per call: avail_in is 32 bits
            const std::size_t n = std::min<std::size_t>(rest.size(), std::size_t{1} << 30);
            s.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(rest.data()));
            s.avail_in = static_cast<std::uint32_t>(n);
            rest.remove_prefix(n);
            run(i + 1 == pieces.size() && rest.empty());
        } while (!rest.empty());
    }
    if (pieces.empty()) run(true);
    out.resize(written);
    return out;
}

std::uint32_t crc32_of(const void* data, std::size_t size) {
    return crc32_gzip_refl(0, static_cast<const unsigned char*>(data), size);
}

}  // namespace lessmore
