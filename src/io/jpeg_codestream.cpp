// JPEG (ITU-T T.81) and JPEG-LS (T.87) codestreams walked marker by marker, and for
// sequential Huffman (SOF0, SOF1) and lossless (SOF3) JPEG of one component each scan's
// entropy-coded data walked code by code: only the Huffman codes and the number of bits
// each announces, no pixel is computed, to prove the data holds every block or sample the
// frame declares. GDCM's JPEG codec reads data that ends early with libjpeg, which only
// warns ("premature end of data segment") and makes up the missing pixels; GDCM drops the
// warning. The rules are in docs/dicom.md, section "Compressed pixel data".
#include "io/codestream_header.hpp"

#include <lessmore/error.hpp>

#include <array>
#include <cstdio>
#include <utility>

namespace lessmore {
namespace {

[[noreturn]] void refuse(const std::string& what) { throw InputError(what); }

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }

std::string marker_text(std::uint8_t m) {
    char text[8];
    std::snprintf(text, sizeof text, "FF%02X", m);
    return text;
}

bool is_sof(std::uint8_t m) { return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc; }

// A canonical Huffman table (T.81 Annex C) in the form of libjpeg's decoder: per code
// length the largest code, the smallest, and where its symbols start.
// Codes of up to k_fast bits are also looked up at once (length << 8 | symbol; 0: longer).
constexpr int k_fast = 9;

struct HuffmanTable {
    bool defined = false;
    std::array<std::int32_t, 17> max_code{};
    std::array<std::int32_t, 17> min_code{};
    std::array<int, 17> first{};
    std::array<std::uint8_t, 256> symbols{};
    std::array<std::uint16_t, 1 << k_fast> fast{};
};

// One DHT segment (it may define several tables).
void read_dht(const std::uint8_t* p, std::size_t n, std::array<HuffmanTable, 8>& tables) {
    while (n > 0) {
        if (n < 17) refuse("a Huffman table (DHT) is cut short");
        const int cls = p[0] >> 4, id = p[0] & 15;
        if (cls > 1 || id > 3)
            refuse("a Huffman table (DHT) has class " + std::to_string(cls) + " id " + std::to_string(id));
        std::size_t total = 0;
        for (int l = 1; l <= 16; ++l) total += p[l];
        if (total > 256 || n < 17 + total) refuse("a Huffman table (DHT) is cut short or has more than 256 codes");
        HuffmanTable& t = tables[static_cast<std::size_t>(cls * 4 + id)];
        t = HuffmanTable{};
        std::int32_t code = 0;
        int k = 0;
        for (int l = 1; l <= 16; ++l) {
            t.first[l] = k;
            t.min_code[l] = code;
            code += p[l];
            k += p[l];
            t.max_code[l] = p[l] ? code - 1 : -1;
            if (code > (std::int32_t{1} << l)) refuse("a Huffman table (DHT) has more codes than its lengths allow");
            code <<= 1;
        }
        for (std::size_t i = 0; i < total; ++i) t.symbols[i] = p[17 + i];
        for (int l = 1; l <= k_fast; ++l) {
            for (std::int32_t c = t.min_code[l]; c <= t.max_code[l]; ++c) {
                const auto entry = static_cast<std::uint16_t>(
                    l << 8 | t.symbols[static_cast<std::size_t>(t.first[l] + c - t.min_code[l])]);
                for (std::int32_t fill = 0; fill < (1 << (k_fast - l)); ++fill) {
                    t.fast[static_cast<std::size_t>((c << (k_fast - l)) | fill)] = entry;
                }
            }
        }
        t.defined = true;
        p += 17 + total;
        n -= 17 + total;
    }
}

// Entropy-coded bits, FF 00 unstuffed. Past the end it supplies 1-bits and counts them, so
// a walk that needed more data than there is shows as overran().
class BitReader {
public:
    BitReader(const std::uint8_t* p, const std::uint8_t* end) : m_p(p), m_end(end) {}
    // After a peek at least 57 bits are buffered: a code and its extra bits (at most 32)
    // are skipped without refilling.
    std::uint32_t peek16() {
        if (m_count <= 56) fill();
        return static_cast<std::uint32_t>(m_bits >> 48);
    }
    void skip(int n) {
        m_bits <<= n;
        m_count -= n;
    }
    // Whether the bits consumed, plus `ahead` more, reach past the data.
    bool overran(int ahead = 0) const { return m_virtual > m_count - ahead; }

private:
    void fill() {
        while (m_count <= 56) {
            std::uint8_t b = 0xff;
            if (m_p < m_end) {
                b = *m_p++;
                if (b == 0xff && m_p < m_end && *m_p == 0x00) ++m_p;
            } else {
                m_virtual += 8;
            }
            m_bits |= std::uint64_t{b} << (56 - m_count);
            m_count += 8;
        }
    }
    const std::uint8_t* m_p;
    const std::uint8_t* m_end;
    std::uint64_t m_bits = 0;
    int m_count = 0;
    long m_virtual = 0;
};

// The next symbol, or -1 for bits that are no code of the table.
int decode_symbol(const HuffmanTable& t, BitReader& r) {
    const std::uint32_t bits = r.peek16();
    const std::uint16_t fast = t.fast[bits >> (16 - k_fast)];
    if (fast != 0) {
        r.skip(fast >> 8);
        return fast & 0xff;
    }
    for (int l = k_fast + 1; l <= 16; ++l) {
        const auto code = static_cast<std::int32_t>(bits >> (16 - l));
        if (code <= t.max_code[l]) {
            r.skip(l);
            return t.symbols[static_cast<std::size_t>(t.first[l] + code - t.min_code[l])];
        }
    }
    return -1;
}

// One 8x8 block of a sequential DCT scan (T.81 F.2.2): a DC difference, then AC run/size
// codes up to end-of-block or the 63rd coefficient. False on an invalid code.
bool walk_block(const HuffmanTable& dc, const HuffmanTable& ac, BitReader& r) {
    const int s = decode_symbol(dc, r);
    if (s < 0) return false;
    if (s > 15) refuse("its entropy-coded data has a DC difference of " + std::to_string(s) + " bits (corrupt data)");
    r.skip(s);
    for (int k = 1; k < 64; ++k) {
        const int rs = decode_symbol(ac, r);
        if (rs < 0) return false;
        const int run = rs >> 4, size = rs & 15;
        if (size == 0) {
            if (run != 15) return true;  // end of block
            k += 15;
            continue;
        }
        k += run;
        if (k > 63) refuse("its entropy-coded data runs past the end of a block (corrupt data)");
        r.skip(size);
    }
    return true;
}

// One sample of a lossless scan (T.81 H.2): a difference category 0..16, then that many
// bits (none for 16). False on an invalid code.
bool walk_sample(const HuffmanTable& t, BitReader& r) {
    const int s = decode_symbol(t, r);
    if (s < 0) return false;
    if (s > 16) refuse("its entropy-coded data has a difference category of " + std::to_string(s) + " (corrupt data)");
    if (s < 16) r.skip(s);
    return true;
}

struct Frame {
    std::uint8_t sof = 0;
    CodestreamInfo info;
    int component_id = -1;  // of a one-component frame
};

struct Scan {
    int dc_table = 0, ac_table = 0;
    std::vector<std::pair<std::size_t, std::size_t>> intervals;  // entropy-coded data between RSTs
};

// The end of a scan's entropy-coded data: the first marker that is not RSTn (JPEG stuffs
// FF 00; JPEG-LS stuffs a 0 bit after FF, so FF then a byte below 0x80 is data). RSTs must
// count 0..7 in turn. Data running to the end is a frame cut short or zero-filled.
std::size_t scan_data(const std::uint8_t* d, std::size_t size, std::size_t pos, bool jpeg_ls, int scan, Scan& out) {
    std::size_t start = pos;
    unsigned restarts = 0;
    while (pos + 1 < size) {
        if (d[pos] != 0xff) {
            ++pos;
            continue;
        }
        const std::uint8_t next = d[pos + 1];
        if ((!jpeg_ls && next == 0x00) || (jpeg_ls && next < 0x80)) {
            pos += 2;
        } else if (next == 0xff) {
            ++pos;  // a fill byte before a marker
        } else if (next >= 0xd0 && next <= 0xd7) {
            if (next - 0xd0 != static_cast<int>(restarts % 8)) {
                refuse("scan " + std::to_string(scan) + " has restart marker " + marker_text(next) + " where RST" +
                       std::to_string(restarts % 8) + " belongs (corrupt data)");
            }
            out.intervals.emplace_back(start, pos);
            ++restarts;
            pos += 2;
            start = pos;
        } else {
            out.intervals.emplace_back(start, pos);
            return pos;
        }
    }
    refuse("the entropy-coded data of scan " + std::to_string(scan) +
           " runs to the end without an EOI marker (cut short or zero-filled)");
}

// Every block (DCT) or sample (lossless) the frame needs, interval by interval.
void walk_units(const std::uint8_t* d, const Frame& f, const Scan& scan, const std::array<HuffmanTable, 8>& tables,
                std::uint32_t restart_interval) {
    const bool lossless = f.sof == 0xc3;
    const std::uint64_t units =
        lossless ? std::uint64_t{f.info.columns} * f.info.rows
                 : ((std::uint64_t{f.info.columns} + 7) / 8) * ((std::uint64_t{f.info.rows} + 7) / 8);
    const std::uint64_t per = restart_interval ? restart_interval : units;
    const std::uint64_t intervals = units == 0 ? 1 : (units + per - 1) / per;
    if (scan.intervals.size() != intervals) {
        refuse("its scan has " + std::to_string(scan.intervals.size()) + " restart intervals, the frame needs " +
               std::to_string(intervals) + (scan.intervals.size() < intervals ? " (cut short)" : ""));
    }
    const HuffmanTable& dc = tables[static_cast<std::size_t>(scan.dc_table)];
    const HuffmanTable& ac = tables[static_cast<std::size_t>(4 + scan.ac_table)];
    if (!dc.defined || (!lossless && !ac.defined)) refuse("its scan uses a Huffman table that is not defined");
    const char* unit = lossless ? "samples" : "blocks";
    for (std::uint64_t i = 0; i < intervals; ++i) {
        const auto& [begin, end] = scan.intervals[i];
        BitReader r(d + begin, d + end);
        const std::uint64_t n = std::min(per, units - i * per);
        for (std::uint64_t u = 0; u < n; ++u) {
            const bool valid = lossless ? walk_sample(dc, r) : walk_block(dc, ac, r);
            // An invalid code made of the 1-bits past the end is the data ending early too.
            if (!valid && !r.overran(16)) refuse("its entropy-coded data has an invalid Huffman code (corrupt data)");
            if (!valid || r.overran()) {
                refuse("its entropy-coded data ends after " + std::to_string(i * per + u) + " of " +
                       std::to_string(units) + " " + unit + " (cut short)");
            }
        }
    }
}

void read_sof(const std::uint8_t* p, std::size_t n, std::uint8_t marker, Frame& f) {
    if (f.sof != 0) refuse("it has a second frame header (" + marker_text(marker) + ")");
    if (n < 6) refuse("its frame header (" + marker_text(marker) + ") is cut short");
    const std::size_t components = p[5];
    if (components == 0 || n != 6 + 3 * components)
        refuse("its frame header (" + marker_text(marker) + ") is malformed");
    f.sof = marker;
    f.info.precision = p[0];
    f.info.rows = be16(p + 1);
    f.info.columns = be16(p + 3);
    f.info.components = static_cast<int>(components);
    f.component_id = p[6];
}

// SOS: the scan's component(s) and, for one component, its Huffman tables.
Scan read_sos(const std::uint8_t* p, std::size_t n, const Frame& f, bool jpeg_ls) {
    if (f.sof == 0) refuse("it has a scan (SOS) before its frame header");
    if (n < 1 || p[0] == 0 || n < 1 + 2 * std::size_t{p[0]} + 3) refuse("its scan header (SOS) is malformed");
    Scan s;
    if (!jpeg_ls && p[0] == 1) {
        if (p[1] != f.component_id) refuse("its scan codes a component the frame does not have");
        s.dc_table = p[2] >> 4;
        s.ac_table = p[2] & 15;
        if (s.dc_table > 3 || s.ac_table > 3)
            refuse("its scan header (SOS) names Huffman table " + std::to_string(p[2]));
    }
    return s;
}

}  // namespace

CodestreamInfo read_jpeg_header(const std::uint8_t* d, std::size_t size, bool jpeg_ls, const DeclaredCheck& declared) {
    if (size < 4 || d[0] != 0xff || d[1] != 0xd8) refuse("the data does not start with a JPEG SOI marker");
    Frame f;
    std::array<HuffmanTable, 8> tables{};
    std::uint32_t restart_interval = 0;
    int scans = 0;
    std::size_t pos = 2;
    for (;;) {
        if (pos >= size || d[pos] != 0xff) {
            refuse(pos >= size ? "it ends without an EOI marker (cut short)"
                               : "it has no marker at byte " + std::to_string(pos));
        }
        while (pos < size && d[pos] == 0xff) ++pos;  // fill bytes
        if (pos >= size) refuse("it ends without an EOI marker (cut short)");
        const std::uint8_t m = d[pos++];
        if (m == 0xd9) {
            if (scans == 0) refuse("it has no scan");
            if (!(pos == size || (pos + 1 == size && (d[pos] == 0x00 || d[pos] == 0xff)))) {
                refuse("it has " + std::to_string(size - pos) + " bytes after its EOI marker");
            }
            break;
        }
        if (m == 0x00 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7))
            refuse("it has marker " + marker_text(m) + " out of place at byte " + std::to_string(pos - 2));
        if (m == 0x01) continue;  // TEM: no length
        if (size - pos < 2) refuse("its marker " + marker_text(m) + " is cut short");
        const std::size_t length = be16(d + pos);
        if (length < 2 || length > size - pos)
            refuse("its marker segment " + marker_text(m) + " at byte " + std::to_string(pos - 2) + " is cut short");
        const std::uint8_t* p = d + pos + 2;
        const std::size_t n = length - 2;
        pos += length;
        if (is_sof(m) || m == 0xf7) {
            if ((m == 0xf7) != jpeg_ls)
                refuse(std::string("it has a ") + (jpeg_ls ? "JPEG" : "JPEG-LS") + " frame header (" + marker_text(m) +
                       ")");
            read_sof(p, n, m, f);
        } else if (m == 0xc4 && !jpeg_ls) {
            read_dht(p, n, tables);
        } else if (m == 0xdd) {
            if (n < 2) refuse("its restart interval (DRI) is malformed");
            restart_interval = jpeg_ls && n > 2 ? 0 : be16(p);  // JPEG-LS's wider intervals are not walked
        } else if (m == 0xda) {
            Scan scan = read_sos(p, n, f, jpeg_ls);
            if (++scans == 1 && declared) declared(f.info);
            pos = scan_data(d, size, pos, jpeg_ls, scans, scan);
            const bool walkable =
                !jpeg_ls && (f.sof == 0xc0 || f.sof == 0xc1 || f.sof == 0xc3) && f.info.components == 1;
            if (walkable && scans == 1) walk_units(d, f, scan, tables, restart_interval);
        }
    }
    if (f.sof == 0) refuse("it has no frame header (SOF)");
    // A sequential or lossless frame of one component is coded in exactly one scan.
    const bool one_scan = jpeg_ls || f.sof == 0xc0 || f.sof == 0xc1 || f.sof == 0xc3;
    if (one_scan && f.info.components == 1 && scans != 1) {
        refuse("it has " + std::to_string(scans) + " scans; a one-component " + marker_text(f.sof) + " frame has one");
    }
    return f.info;
}

}  // namespace lessmore
