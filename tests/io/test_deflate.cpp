// The one deflate lessmore writes with (io/deflate.cpp, ISA-L's igzip): every stream is
// inflated back by zlib, an independent implementation, which also checks the wrapper's
// header and checksum (Adler-32 for zlib, CRC-32 and length for gzip); and the CRC-32 PNG
// chunks carry, against zlib's.
#include "test_support.hpp"

#include "io/deflate.hpp"

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lessmore {
namespace {

// zlib's inflate of a whole zlib (wbits 15) or gzip (wbits 31) stream; "" on any error,
// and on bytes left over after the stream.
std::string inflate_all(const std::string& in, int wbits) {
    z_stream z{};
    if (inflateInit2(&z, wbits) != Z_OK) return "";
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
        char buf[65536];
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
    }
    const bool whole = rc == Z_STREAM_END && z.avail_in == 0;
    inflateEnd(&z);
    return whole ? out : "\x01<bad stream>";
}

std::string noise(std::size_t n, std::uint64_t seed) {
    std::string s(n, '\0');
    for (char& c : s) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        c = static_cast<char>(seed >> 56);
    }
    return s;
}

TEST(Deflate, ZlibAndGzipStreamsInflateToTheirPiecesWithZlib) {
    const std::string ramp = [] {
        std::string s;
        for (int i = 0; i < 300000; ++i) s.push_back(static_cast<char>((i / 7) % 251));
        return s;
    }();
    const std::vector<std::vector<std::string>> cases = {
        {},                                                   // nothing at all
        {""},                                                 // one empty piece
        {"a"},                                                // one byte
        {std::string(348, 'h'), ramp},                        // a NIfTI header, then voxels
        {"", noise(70000, 1), "", std::string(5, '\0'), ""},  // empty pieces between
        {noise(3 << 20, 2)},                                  // incompressible, several blocks
        {std::string(4 << 20, '\0')},                         // 4 MB of zeros
    };
    for (std::size_t c = 0; c < cases.size(); ++c) {
        std::vector<std::string_view> views(cases[c].begin(), cases[c].end());
        std::string whole;
        for (const std::string& p : cases[c]) whole += p;
        for (const auto& [wrapper, wbits] :
             {std::pair{DeflateWrapper::Zlib, 15}, std::pair{DeflateWrapper::Gzip, 31}}) {
            const std::string z = deflate_fast(views, wrapper);
            EXPECT_EQ(inflate_all(z, wbits), whole) << "case " << c << ", wbits " << wbits;
            if (whole.size() > 1000 && whole.find_first_not_of('\0') == std::string::npos) {
                EXPECT_LT(z.size(), whole.size() / 100) << "zeros should compress";
            }
        }
    }
}

TEST(Deflate, ADamagedStreamFailsZlibsChecks) {
    std::string z = deflate_fast({noise(10000, 3)}, DeflateWrapper::Gzip);
    z[z.size() - 6] ^= 0x01;  // inside the CRC-32 of the gzip trailer
    EXPECT_NE(inflate_all(z, 31), noise(10000, 3));
}

TEST(Deflate, Crc32IsZlibs) {
    for (const std::string& s : {std::string(), std::string("IEND"), noise(100001, 4)}) {
        const auto zlib =
            static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
        EXPECT_EQ(crc32_of(s.data(), s.size()), zlib) << s.size() << " bytes";
    }
    EXPECT_EQ(crc32_of("IEND", 4), 0xAE426082u);  // the CRC every PNG's IEND chunk carries
}

}  // namespace
}  // namespace lessmore
