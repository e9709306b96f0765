// The codestream header reader (io/codestream_header.hpp): what real codestreams declare,
// hand-made codestreams for each rule, every prefix of a real codestream refused, and
// random damage refused or read without harm.
#include "test_support.hpp"

#include <lessmore/error.hpp>

#include "io/codestream_header.hpp"
#include "io/dicom_parser.hpp"

#include <chrono>
#include <iostream>
#include <random>

namespace lessmore {
namespace {

using Bytes8 = std::vector<std::uint8_t>;

// One frame's codestream (its fragments joined) from a DICOM file.
Bytes8 frame_of(const test::fs::path& file) {
    const std::string bytes = test::read_file(file);
    const ParsedDicom parsed = parse_dicom(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "");
    const auto frames = encapsulated_frames(parsed.dataset());
    Bytes8 out;
    for (const DicomFragment& f : frames.at(0)) {
        const std::uint8_t* p = parsed.bytes().data + f.offset;
        out.insert(out.end(), p, p + f.length);
    }
    return out;
}

std::string refusal(CodestreamKind kind, const Bytes8& data, const DeclaredImage& header) {
    try {
        check_frame_codestream(kind, data.data(), data.size(), header, 1);
    } catch (const InputError& e) {
        return e.what();
    }
    return {};
}

const test::fs::path k_quirks = test::source_dir() / "tests" / "data" / "dicom-quirks";

struct RealCase {
    const char* file;
    CodestreamKind kind;
    std::uint32_t columns, rows;
    int precision;
};

// The geometry of the real codestreams: Rows/Columns as pydicom reads them from the
// headers, the precision from each codestream's SIZ Ssiz / SOF P byte (read with Python
// when the quirk corpus was added: 693_J2KR declares 14 bits under BitsStored 16,
// bad_sequence 16 bits under BitsStored 12, signed13-j2k 13 bits unsigned).
const RealCase k_real[] = {
    {"wg04-ct1/CT1_J2KR", CodestreamKind::Jpeg2000, 512, 512, 16},
    {"wg04-ct1/CT1_J2KI", CodestreamKind::Jpeg2000, 512, 512, 16},
    {"wg04-ct1/CT1_JLSL", CodestreamKind::JpegLs, 512, 512, 16},
    {"wg04-ct1/CT1_JLSN", CodestreamKind::JpegLs, 512, 512, 16},
    {"wg04-ct1/CT1_JPLL", CodestreamKind::Jpeg, 512, 512, 16},
    {"pydicom-data/693_J2KR.dcm", CodestreamKind::Jpeg2000, 512, 512, 14},
    {"pydicom-data/bad_sequence.dcm", CodestreamKind::Jpeg, 512, 512, 16},
    {"pydicom-data/explicit_VR-UN.dcm", CodestreamKind::Jpeg2000, 512, 512, 16},
    {"../readers/signed13-j2k/j1.dcm", CodestreamKind::Jpeg2000, 64, 64, 13},
};

CodestreamInfo read(CodestreamKind kind, const Bytes8& d) {
    switch (kind) {
    case CodestreamKind::Jpeg:
        return read_jpeg_header(d.data(), d.size(), false);
    case CodestreamKind::JpegLs:
        return read_jpeg_header(d.data(), d.size(), true);
    case CodestreamKind::Jpeg2000:
        return read_jpeg2000_header(d.data(), d.size());
    case CodestreamKind::Rle:
        return read_rle_header(d.data(), d.size());
    }
    return {};
}

TEST(CodestreamHeader, RealCodestreamsDeclareTheirGeometry) {
    for (const RealCase& c : k_real) {
        SCOPED_TRACE(c.file);
        const Bytes8 d = frame_of(k_quirks / c.file);
        const CodestreamInfo info = read(c.kind, d);
        EXPECT_EQ(info.columns, c.columns);
        EXPECT_EQ(info.rows, c.rows);
        EXPECT_EQ(info.components, 1);
        EXPECT_EQ(info.precision, c.precision);
        const DeclaredImage header{static_cast<int>(c.rows), static_cast<int>(c.columns), 1, 16};
        EXPECT_EQ(refusal(c.kind, d, header), "");
        // The same codestream under a header one row taller, or 32-bit: refused naming both.
        EXPECT_NE(
            refusal(c.kind, d, {header.rows + 1, header.columns, 1, 16})
                .find("is " + std::to_string(c.columns) + "x" + std::to_string(c.rows) + ", the header says Columns " +
                      std::to_string(c.columns) + " Rows " + std::to_string(c.rows + 1)),
            std::string::npos);
        EXPECT_NE(refusal(c.kind, d, {header.rows, header.columns, 1, 32}).find("BitsAllocated 32"), std::string::npos);
    }
    // RLE: two segments (16 bits) of 512 x 512 bytes each.
    const Bytes8 rle = frame_of(k_quirks / "wg04-ct1/CT1_RLE");
    const CodestreamInfo info = read_rle_header(rle.data(), rle.size());
    EXPECT_EQ(info.components, 2);
    EXPECT_EQ(info.segment_lengths, (std::vector<std::size_t>{262144, 262144}));
    EXPECT_EQ(refusal(CodestreamKind::Rle, rle, {512, 512, 1, 16}), "");
    EXPECT_NE(refusal(CodestreamKind::Rle, rle, {511, 512, 1, 16}).find("segment 1 decodes to 262144 bytes"),
              std::string::npos);
    EXPECT_NE(refusal(CodestreamKind::Rle, rle, {512, 512, 1, 8}).find("has 2 segments"), std::string::npos);
}

void put16(Bytes8& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes8& b, std::uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}

// SOC, SIZ (one component), then one tile-part per tile (SOT + SOD, no data), EOC.
struct J2k {
    std::uint32_t x = 40, y = 30, x0 = 0, y0 = 0, tile_w = 40, tile_h = 30;
    int precision = 12;
    int subsampling = 1;
    int tiles_written = -1;  // all
    std::uint32_t psot = 14;
    bool eoc = true;

    Bytes8 bytes() const {
        Bytes8 b{0xff, 0x4f, 0xff, 0x51};
        put16(b, 41);
        put16(b, 0);
        for (std::uint32_t v : {x, y, x0, y0, tile_w, tile_h, 0u, 0u}) put32(b, v);
        put16(b, 1);
        b.push_back(static_cast<std::uint8_t>(precision - 1));
        b.push_back(static_cast<std::uint8_t>(subsampling));
        b.push_back(static_cast<std::uint8_t>(subsampling));
        b.insert(b.end(), {0xff, 0x64, 0x00, 0x04, 'h', 'i'});  // a COM segment in the main header
        const std::uint32_t tiles = ((x + tile_w - 1) / tile_w) * ((y + tile_h - 1) / tile_h);
        const std::uint32_t n = tiles_written < 0 ? tiles : static_cast<std::uint32_t>(tiles_written);
        for (std::uint32_t t = 0; t < n; ++t) {
            b.insert(b.end(), {0xff, 0x90});
            put16(b, 10);
            put16(b, t);
            put32(b, psot);
            b.push_back(0);
            b.push_back(1);
            b.insert(b.end(), {0xff, 0x93});
        }
        if (eoc) b.insert(b.end(), {0xff, 0xd9});
        return b;
    }
};

TEST(CodestreamHeader, Jpeg2000SizTilePartsAndEoc) {
    const CodestreamInfo info = read_jpeg2000_header(J2k{}.bytes().data(), J2k{}.bytes().size());
    EXPECT_EQ(info.columns, 40u);
    EXPECT_EQ(info.rows, 30u);
    EXPECT_EQ(info.precision, 12);
    const DeclaredImage header{30, 40, 1, 16};
    EXPECT_EQ(refusal(CodestreamKind::Jpeg2000, J2k{}.bytes(), header), "");
    // The image area is Xsiz - XOsiz by Ysiz - YOsiz.
    J2k offset;
    offset.x0 = 8;
    offset.y0 = 5;
    EXPECT_NE(
        refusal(CodestreamKind::Jpeg2000, offset.bytes(), header).find("is 32x25, the header says Columns 40 Rows 30"),
        std::string::npos);
    // Four tiles of 20x15, every one needed.
    J2k tiled;
    tiled.tile_w = 20;
    tiled.tile_h = 15;
    EXPECT_EQ(refusal(CodestreamKind::Jpeg2000, tiled.bytes(), header), "");
    tiled.tiles_written = 3;
    EXPECT_NE(refusal(CodestreamKind::Jpeg2000, tiled.bytes(), header).find("no data for tile 3 of 4"),
              std::string::npos);
    J2k long_part;
    long_part.psot = 400;
    EXPECT_NE(refusal(CodestreamKind::Jpeg2000, long_part.bytes(), header).find("cut short"), std::string::npos);
    J2k no_eoc;
    no_eoc.eoc = false;
    EXPECT_NE(refusal(CodestreamKind::Jpeg2000, no_eoc.bytes(), header).find("no EOC"), std::string::npos);
    // Psot 0: the last tile-part runs to EOC, which must be there.
    J2k open_ended;
    open_ended.psot = 0;
    EXPECT_EQ(refusal(CodestreamKind::Jpeg2000, open_ended.bytes(), header), "");
    open_ended.eoc = false;
    EXPECT_NE(refusal(CodestreamKind::Jpeg2000, open_ended.bytes(), header).find("EOC"), std::string::npos);
    // One padding byte after EOC, 0x00 or 0xFF, is a DICOM fragment's; two are not.
    for (std::uint8_t pad : {0x00, 0xff}) {
        Bytes8 b = J2k{}.bytes();
        b.push_back(pad);
        EXPECT_EQ(refusal(CodestreamKind::Jpeg2000, b, header), "");
        b.push_back(pad);
        EXPECT_NE(refusal(CodestreamKind::Jpeg2000, b, header), "");
    }
    J2k sub;
    sub.subsampling = 2;
    EXPECT_NE(refusal(CodestreamKind::Jpeg2000, sub.bytes(), header).find("subsampled"), std::string::npos);
    J2k wide;
    wide.precision = 17;
    EXPECT_NE(refusal(CodestreamKind::Jpeg2000, wide.bytes(), header).find("17-bit samples need BitsAllocated 32"),
              std::string::npos);
    // Wrapped in JP2 boxes: the jp2c box's codestream is read.
    Bytes8 jp2{0,   0,   0,   0x0c, 'j', 'P', ' ', ' ', 0x0d, 0x0a, 0x87, 0x0a, 0,   0,   0,   0x14,
               'f', 't', 'y', 'p',  'j', 'p', '2', ' ', 0,    0,    0,    0,    'j', 'p', '2', ' '};
    const Bytes8 cs = J2k{}.bytes();
    put32(jp2, static_cast<std::uint32_t>(8 + cs.size()));
    jp2.insert(jp2.end(), {'j', 'p', '2', 'c'});
    jp2.insert(jp2.end(), cs.begin(), cs.end());
    EXPECT_EQ(refusal(CodestreamKind::Jpeg2000, jp2, header), "");
    jp2[35] = 0xff;  // the jp2c box claims more bytes than there are
    EXPECT_NE(refusal(CodestreamKind::Jpeg2000, jp2, header).find("JP2 box"), std::string::npos);
}

// An RLE frame: the 64-byte header, then the segments.
Bytes8 rle_frame(const std::vector<Bytes8>& segments) {
    Bytes8 b(64, 0);
    b[0] = static_cast<std::uint8_t>(segments.size());
    std::size_t at = 64;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        for (int k = 0; k < 4; ++k) b[4 + 4 * i + k] = static_cast<std::uint8_t>(at >> (8 * k));
        at += segments[i].size();
    }
    for (const Bytes8& s : segments) b.insert(b.end(), s.begin(), s.end());
    return b;
}

TEST(CodestreamHeader, RleSegmentsDecodeToRowsTimesColumns) {
    // 3 x 5 = 15 bytes: a literal of 4, a run of 10, a no-op, a literal of 1.
    const Bytes8 seg{3, 1, 2, 3, 4, 0xf7, 9, 0x80, 0, 7};
    EXPECT_EQ(read_rle_header(rle_frame({seg}).data(), rle_frame({seg}).size()).segment_lengths,
              (std::vector<std::size_t>{15}));
    EXPECT_EQ(refusal(CodestreamKind::Rle, rle_frame({seg}), {3, 5, 1, 8}), "");
    EXPECT_EQ(refusal(CodestreamKind::Rle, rle_frame({seg, seg}), {3, 5, 1, 16}), "");
    EXPECT_NE(refusal(CodestreamKind::Rle, rle_frame({seg}), {3, 5, 1, 16}).find("has 1 segments"), std::string::npos);
    EXPECT_NE(refusal(CodestreamKind::Rle, rle_frame({seg}), {2, 5, 1, 8}).find("decodes to 15 bytes"),
              std::string::npos);
    EXPECT_NE(refusal(CodestreamKind::Rle, rle_frame({seg}), {4, 4, 1, 8}).find("decodes to 15 bytes"),
              std::string::npos);
    // A trailing padding byte (a header with nothing after it) is not data.
    Bytes8 padded = seg;
    padded.push_back(0);
    EXPECT_EQ(refusal(CodestreamKind::Rle, rle_frame({padded}), {3, 5, 1, 8}), "");
    // One decoded byte too many only when Rows x Columns is odd (an even-making pad).
    Bytes8 sixteen = seg;
    sixteen[8] = 1;  // the last literal: 2 bytes
    sixteen.push_back(8);
    EXPECT_EQ(refusal(CodestreamKind::Rle, rle_frame({sixteen}), {3, 5, 1, 8}), "");
    EXPECT_EQ(refusal(CodestreamKind::Rle, rle_frame({sixteen}), {4, 4, 1, 8}), "");
    EXPECT_NE(refusal(CodestreamKind::Rle, rle_frame({seg}), {2, 7, 1, 8}).find("decodes to 15 bytes"),
              std::string::npos);
    // A literal run cut short; offsets out of order or past the end; a bad count.
    EXPECT_NE(refusal(CodestreamKind::Rle, rle_frame({Bytes8{9, 1, 2}}), {1, 10, 1, 8}).find("cut short"),
              std::string::npos);
    Bytes8 bad = rle_frame({seg, seg});
    bad[8] = 60;
    EXPECT_NE(refusal(CodestreamKind::Rle, bad, {3, 5, 1, 16}).find("segment 1"), std::string::npos);
    bad = rle_frame({seg});
    bad[0] = 16;
    EXPECT_NE(refusal(CodestreamKind::Rle, bad, {3, 5, 1, 8}).find("16 segments"), std::string::npos);
    EXPECT_NE(refusal(CodestreamKind::Rle, Bytes8(40, 0), {3, 5, 1, 8}).find("64-byte header"), std::string::npos);
}

// Lossless JPEG (SOF3) of 8 x 2 samples, one Huffman code ("0" = category 0, no extra
// bits): each sample is one 0-bit. `data` is the entropy-coded segment (with any RST).
Bytes8 lossless(const Bytes8& data, std::uint32_t restart = 0, bool eoi = true) {
    Bytes8 b{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 'x', 'y'};                     // SOI, APP0
    b.insert(b.end(), {0xff, 0xc3, 0x00, 0x0b, 8, 0, 2, 0, 8, 1, 1, 0x11, 0});  // SOF3: P 8, Y 2, X 8
    b.insert(b.end(), {0xff, 0xc4, 0x00, 0x14, 0x00, 1});                       // DHT: DC 0, one code of length 1
    b.insert(b.end(), 15, 0);
    b.push_back(0);  // its symbol: category 0
    if (restart) {
        b.insert(b.end(), {0xff, 0xdd, 0x00, 0x04});
        put16(b, restart);
    }
    b.insert(b.end(), {0xff, 0xda, 0x00, 0x08, 1, 1, 0x00, 1, 0, 0});  // SOS: component 1, table 0, predictor 1
    b.insert(b.end(), data.begin(), data.end());
    if (eoi) b.insert(b.end(), {0xff, 0xd9});
    return b;
}

TEST(CodestreamHeader, JpegMarkersAndEntropyCodedData) {
    const DeclaredImage header{2, 8, 1, 8};
    EXPECT_EQ(refusal(CodestreamKind::Jpeg, lossless({0x00, 0x00}), header), "");
    // 16 samples need 16 bits: 8 bits are half of them, with or without EOI.
    EXPECT_NE(refusal(CodestreamKind::Jpeg, lossless({0x00}), header).find("ends after 8 of 16 samples (cut short)"),
              std::string::npos);
    EXPECT_NE(refusal(CodestreamKind::Jpeg, lossless({0x00, 0x00}, 0, false), header).find("without an EOI marker"),
              std::string::npos);
    Bytes8 zero_filled = lossless({0x00, 0x00}, 0, false);
    zero_filled.insert(zero_filled.end(), 6, 0);
    EXPECT_NE(refusal(CodestreamKind::Jpeg, zero_filled, header).find("without an EOI marker"), std::string::npos);
    // A restart marker every 8 samples: RST0 between the two intervals, in order.
    EXPECT_EQ(refusal(CodestreamKind::Jpeg, lossless({0x00, 0xff, 0xd0, 0x00}, 8), header), "");
    EXPECT_NE(refusal(CodestreamKind::Jpeg, lossless({0x00, 0xff, 0xd3, 0x00}, 8), header).find("RST0 belongs"),
              std::string::npos);
    EXPECT_NE(
        refusal(CodestreamKind::Jpeg, lossless({0x00, 0x00}, 8), header).find("1 restart intervals, the frame needs 2"),
        std::string::npos);
    // Bits that are no code of the table (a 1-bit, followed by real data).
    EXPECT_NE(refusal(CodestreamKind::Jpeg, lossless({0x80, 0x00, 0x00}), header).find("invalid Huffman code"),
              std::string::npos);
    // Structure: after EOI one padding byte at most; a second scan; SOS before SOF.
    Bytes8 b = lossless({0x00, 0x00});
    b.push_back(0x00);
    EXPECT_EQ(refusal(CodestreamKind::Jpeg, b, header), "");
    b.push_back(0x00);
    EXPECT_NE(refusal(CodestreamKind::Jpeg, b, header).find("after its EOI"), std::string::npos);
    b = lossless({0x00, 0x00});
    b.erase(b.end() - 2, b.end());
    const Bytes8 second_scan{0xff, 0xda, 0x00, 0x08, 1, 1, 0x00, 1, 0, 0, 0x00, 0x00, 0xff, 0xd9};
    b.insert(b.end(), second_scan.begin(), second_scan.end());
    EXPECT_NE(refusal(CodestreamKind::Jpeg, b, header).find("2 scans"), std::string::npos);
    b = lossless({0x00, 0x00});
    b.erase(b.begin() + 8, b.begin() + 21);  // no SOF3
    EXPECT_NE(refusal(CodestreamKind::Jpeg, b, header).find("before its frame header"), std::string::npos);
    EXPECT_NE(refusal(CodestreamKind::Jpeg, Bytes8{0xff, 0xd8, 0xff, 0xd8, 0xff, 0xd9}, header), "");
    EXPECT_NE(refusal(CodestreamKind::Jpeg, Bytes8{0x00, 0xd8, 0xff, 0xd9}, header).find("SOI"), std::string::npos);
    // The geometry comes first: a frame declaring another size is refused for that.
    EXPECT_NE(
        refusal(CodestreamKind::Jpeg, lossless({0x00}), {2, 9, 1, 8}).find("is 8x2, the header says Columns 9 Rows 2"),
        std::string::npos);
    EXPECT_NE(refusal(CodestreamKind::Jpeg, lossless({0x00, 0x00}), {2, 8, 1, 16}).find("8-bit samples"),
              std::string::npos);
}

TEST(CodestreamHeader, JpegLsStuffedBytesAreNotMarkers) {
    // SOI, SOF55 (P 8, 2 x 8, 1 component), SOS, data with FF 7F (a stuffed byte), EOI.
    Bytes8 b{0xff, 0xd8, 0xff, 0xf7, 0x00, 0x0b, 8, 0, 2, 0, 8, 1, 1, 0x11, 0};
    b.insert(b.end(), {0xff, 0xda, 0x00, 0x08, 1, 1, 0, 0, 0, 0, 0x12, 0xff, 0x7f, 0x34, 0xff, 0xd9});
    EXPECT_EQ(refusal(CodestreamKind::JpegLs, b, {2, 8, 1, 8}), "");
    EXPECT_NE(refusal(CodestreamKind::JpegLs, b, {8, 2, 1, 8}).find("is 8x2, the header says Columns 2 Rows 8"),
              std::string::npos);
    b.resize(b.size() - 2);
    EXPECT_NE(refusal(CodestreamKind::JpegLs, b, {2, 8, 1, 8}).find("without an EOI marker"), std::string::npos);
    // A JPEG frame header in a JPEG-LS codestream.
    Bytes8 wrong = lossless({0x00, 0x00});
    EXPECT_NE(refusal(CodestreamKind::JpegLs, wrong, {2, 8, 1, 8}).find("JPEG frame header"), std::string::npos);
}

struct PrefixCase {
    test::fs::path file;
    CodestreamKind kind;
    DeclaredImage header;
};

std::vector<PrefixCase> prefix_cases() {
    const auto decode = test::source_dir() / "tests" / "data" / "decode";
    return {{k_quirks / "wg04-ct1/CT1_J2KR", CodestreamKind::Jpeg2000, {512, 512, 1, 16}},
            {k_quirks / "wg04-ct1/CT1_JPLL", CodestreamKind::Jpeg, {512, 512, 1, 16}},
            {k_quirks / "wg04-ct1/CT1_JLSL", CodestreamKind::JpegLs, {512, 512, 1, 16}},
            {k_quirks / "wg04-ct1/CT1_RLE", CodestreamKind::Rle, {512, 512, 1, 16}},
            {decode / "good/g1.dcm", CodestreamKind::Jpeg2000, {48, 64, 1, 16}},
            {decode / "good/g2.dcm", CodestreamKind::JpegLs, {48, 64, 1, 16}},
            {decode / "good/g3.dcm", CodestreamKind::Rle, {48, 64, 1, 16}},
            {decode / "good/g4.dcm", CodestreamKind::Jpeg, {48, 64, 1, 16}},
            {decode / "good-baseline/b1.dcm", CodestreamKind::Jpeg, {48, 64, 1, 8}},
            {decode / "good-baseline/b3.dcm", CodestreamKind::Jpeg, {48, 64, 1, 8}}};
}

// A codestream cut anywhere (short of its padding byte) is refused, never read.
TEST(CodestreamHeader, EveryPrefixOfARealCodestreamIsRefused) {
    for (const PrefixCase& c : prefix_cases()) {
        SCOPED_TRACE(c.file.string());
        const Bytes8 whole = frame_of(c.file);
        ASSERT_EQ(refusal(c.kind, whole, c.header), "");
        // The last byte may be the padding of an odd-length codestream (0x00 or 0xFF).
        std::size_t end = whole.size();
        if ((whole.back() == 0x00 || whole.back() == 0xff) &&
            refusal(c.kind, Bytes8(whole.begin(), whole.end() - 1), c.header).empty()) {
            --end;
        }
        const std::size_t step = std::max<std::size_t>(1, end / 400);
        for (std::size_t keep = 0; keep < end; keep += (end - keep < 64 ? 1 : step)) {
            const Bytes8 cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(keep));
            EXPECT_NE(refusal(c.kind, cut, c.header), "") << "kept " << keep << " of " << whole.size();
        }
    }
}

// Random damage is refused or read, never read out of bounds (run under
// scripts/sanitize.sh) and never slowly.
TEST(CodestreamHeader, RandomDamageIsHandled) {
    std::mt19937 rng(16);
    for (const PrefixCase& c : prefix_cases()) {
        const Bytes8 whole = frame_of(c.file);
        if (whole.size() > 20000) continue;
        for (int round = 0; round < 300; ++round) {
            Bytes8 d = whole;
            const int flips = 1 + static_cast<int>(rng() % 8);
            for (int k = 0; k < flips; ++k) {
                const std::size_t at = round % 2 ? rng() % std::min<std::size_t>(d.size(), 200) : rng() % d.size();
                d[at] = static_cast<std::uint8_t>(rng());
            }
            (void)refusal(c.kind, d, c.header);
        }
    }
}

// What the check costs: the JPEG entropy walk reads every code (printed, not asserted).
TEST(CodestreamHeader, CostOfTheCheckOnA512SquareFrame) {
    for (const PrefixCase& c : prefix_cases()) {
        if (c.header.rows != 512) continue;
        const Bytes8 whole = frame_of(c.file);
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < 20; ++i) ASSERT_EQ(refusal(c.kind, whole, c.header), "");
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / 20;
        std::cout << c.file.filename().string() << ": " << ms << " ms per frame\n";
    }
}

}  // namespace
}  // namespace lessmore
