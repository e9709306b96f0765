// The gzip stream under the NIfTI reader (io/gzip_stream.cpp, ISA-L's inflate): a member's
// trailer is told apart (CRC-32 or ISIZE wrong) wherever it falls against the 256 KiB reads
// the stream makes, including split across two of them; and multi-member content, made by
// zlib (an independent implementation), reads back whole.
#include "test_support.hpp"

#include "io/gzip_stream.hpp"

#include <lessmore/error.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lessmore {
namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

// The whole content, read in pieces of `piece` bytes, then finish() (which checks the rest).
std::string read_through(const test::fs::path& p, std::size_t piece) {
    auto stream = open_input_stream(p);
    std::string out;
    std::string buf(piece, '\0');
    while (true) {
        try {
            stream->read(reinterpret_cast<std::byte*>(buf.data()), piece);
        } catch (const InputError& e) {
            if (std::string(e.what()).find("ends early: it holds only") == std::string::npos) throw;
            break;  // the content ended inside this piece
        }
        out += buf;
    }
    return out;
}

TEST(GzipStream, TrailerFaultsAreToldApartWhereverTheTrailerFalls) {
    test::TempDir dir;
    // Stored blocks: 10 + n + 5 per 64 KiB block + 8 bytes. Sizes put the trailer's 8 bytes
    // on both sides of the first read's end (256 KiB plus the 8 bytes kept before it).
    const std::size_t first_read = (std::size_t{256} << 10) + 8;
    for (std::size_t target = first_read - 12; target <= first_read + 12; ++target) {
        std::size_t n = target - 10 - 8 - 5 * 5;  // five stored blocks for ~256 KiB
        const std::string data = random_bytes(n, static_cast<unsigned>(target));
        const std::string gz = test::gzip(data, 0);
        SCOPED_TRACE("file of " + std::to_string(gz.size()) + " bytes");
        const auto p = dir / "a.gz";
        test::write_file(p, gz);
        auto ok = open_input_stream(p);
        std::string got(data.size(), '\0');
        ok->read(reinterpret_cast<std::byte*>(got.data()), got.size());
        EXPECT_NO_THROW(ok->finish());
        EXPECT_TRUE(got == data);
        for (const auto& [at, what] : {std::pair{gz.size() - 8, "gzip CRC mismatch in member 1"},
                                       std::pair{gz.size() - 5, "gzip CRC mismatch in member 1"},
                                       std::pair{gz.size() - 4, "gzip length mismatch in member 1"},
                                       std::pair{gz.size() - 1, "gzip length mismatch in member 1"}}) {
            std::string bad = gz;
            bad[at] = static_cast<char>(bad[at] ^ 0x01);
            test::write_file(p, bad);
            auto s = open_input_stream(p);
            std::string sink(data.size(), '\0');
            try {
                s->read(reinterpret_cast<std::byte*>(sink.data()), sink.size());
                s->finish();
                ADD_FAILURE() << "byte " << at << " flipped, read without an error";
            } catch (const InputError& e) {
                EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << "byte " << at << ": " << e.what();
            }
        }
    }
}

TEST(GzipStream, ManyMembersReadBackWholeInAnyPieces) {
    test::TempDir dir;
    const std::string data = random_bytes(700000, 5) + std::string(300000, 'x');
    std::string gz;
    for (std::size_t at = 0; at < data.size(); at += 99991) gz += test::gzip(data.substr(at, 99991), (at / 99991) % 10);
    gz += test::gzip("", 6);  // an empty member at the end
    const auto p = dir / "m.gz";
    test::write_file(p, gz);
    for (std::size_t piece : {std::size_t{1} << 20, std::size_t{4096}, std::size_t{777}}) {
        const std::string got = read_through(p, piece);
        EXPECT_EQ(got.size(), data.size() / piece * piece) << piece;
        EXPECT_TRUE(got == data.substr(0, got.size())) << piece;
    }
    auto whole = open_input_stream(p);
    std::string got(data.size(), '\0');
    whole->read(reinterpret_cast<std::byte*>(got.data()), got.size());
    EXPECT_NO_THROW(whole->finish());
    EXPECT_TRUE(got == data);
}

}  // namespace
}  // namespace lessmore
