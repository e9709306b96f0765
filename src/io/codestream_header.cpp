// JPEG 2000 and RLE headers, and the check of every codestream against the DICOM header
// (the rules are in docs/dicom.md, section "Compressed pixel data"). JPEG and JPEG-LS are
// walked in jpeg_codestream.cpp.
#include "io/codestream_header.hpp"

#include <lessmore/error.hpp>

#include <algorithm>
#include <cstring>
#include <tuple>

namespace lessmore {
namespace {

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
std::uint32_t le32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}

[[noreturn]] void refuse(const std::string& what) { throw InputError(what); }

// After the codestream's last marker only one byte may follow: the padding that makes a
// DICOM fragment's length even (0x00, or 0xFF as the WG-04 files have it).
bool only_padding_after(const std::uint8_t* data, std::size_t size, std::size_t end) {
    return end == size || (end + 1 == size && (data[end] == 0x00 || data[end] == 0xFF));
}

// The codestream inside a JP2 file: the contents of its first top-level 'jp2c' box.
std::pair<const std::uint8_t*, std::size_t> jp2_codestream(const std::uint8_t* data, std::size_t size) {
    std::size_t pos = 0;
    while (pos < size) {
        if (size - pos < 8) refuse("its JP2 box at byte " + std::to_string(pos) + " is cut short");
        std::uint64_t length = be32(data + pos);
        const std::uint32_t type = be32(data + pos + 4);
        std::size_t header = 8;
        if (length == 1) {
            if (size - pos < 16) refuse("its JP2 box at byte " + std::to_string(pos) + " is cut short");
            length = (std::uint64_t{be32(data + pos + 8)} << 32) | be32(data + pos + 12);
            header = 16;
        } else if (length == 0) {
            length = size - pos;  // the last box runs to the end
        }
        if (length < header || length > size - pos) {
            refuse("its JP2 box at byte " + std::to_string(pos) + " claims " + std::to_string(length) + " bytes, " +
                   std::to_string(size - pos) + " remain");
        }
        if (type == 0x6a703263) return {data + pos + header, static_cast<std::size_t>(length) - header};  // 'jp2c'
        pos += static_cast<std::size_t>(length);
    }
    refuse("its JP2 file has no codestream box (jp2c)");
}

struct Siz {
    std::uint32_t x = 0, y = 0, x0 = 0, y0 = 0, tile_w = 0, tile_h = 0, tile_x0 = 0, tile_y0 = 0;
};

// Tiles across and down (ITU-T T.800, B.3), after checking SIZ's values are consistent.
std::uint64_t tile_count(const Siz& s) {
    if (s.x <= s.x0 || s.y <= s.y0) refuse("its SIZ marker declares an empty image");
    if (s.tile_w == 0 || s.tile_h == 0 || s.tile_x0 > s.x0 || s.tile_y0 > s.y0 ||
        std::uint64_t{s.tile_x0} + s.tile_w <= s.x0 || std::uint64_t{s.tile_y0} + s.tile_h <= s.y0) {
        refuse("its SIZ marker's tiles do not cover the image");
    }
    const std::uint64_t across = (std::uint64_t{s.x} - s.tile_x0 + s.tile_w - 1) / s.tile_w;
    const std::uint64_t down = (std::uint64_t{s.y} - s.tile_y0 + s.tile_h - 1) / s.tile_h;
    return across * down;
}

// The tile-parts after the main header: each SOT's Psot leads to the next, every tile has
// one, and the last is followed by EOC (T.800, A.4.2): a codestream cut short or filled
// with zeros breaks the chain.
void walk_tile_parts(const std::uint8_t* cs, std::size_t size, std::size_t pos, std::uint64_t tiles) {
    std::vector<bool> seen(static_cast<std::size_t>(tiles), false);
    for (;;) {
        if (size - pos < 2) refuse("it is cut short (no EOC marker)");
        const std::uint32_t marker = be16(cs + pos);
        if (marker == 0xffd9) {
            if (!only_padding_after(cs, size, pos + 2)) {
                refuse("it has " + std::to_string(size - pos - 2) + " bytes after its EOC marker");
            }
            break;
        }
        if (marker != 0xff90) {
            refuse("it has no tile-part (SOT) or EOC marker at byte " + std::to_string(pos) +
                   " (cut short or corrupt)");
        }
        if (size - pos < 12 || be16(cs + pos + 2) != 10)
            refuse("its SOT marker at byte " + std::to_string(pos) + " is malformed");
        const std::uint32_t tile = be16(cs + pos + 4);
        std::uint64_t length = be32(cs + pos + 6);
        if (tile >= tiles) {
            refuse("it has a tile-part of tile " + std::to_string(tile) + " but SIZ declares " + std::to_string(tiles) +
                   " tiles");
        }
        if (length == 0) {  // the last tile-part, up to EOC
            std::size_t end = size;
            if (end >= 1 && (cs[end - 1] == 0x00 || (cs[end - 1] == 0xff && end >= 3 && cs[end - 2] == 0xd9))) --end;
            if (end < pos + 14 || cs[end - 2] != 0xff || cs[end - 1] != 0xd9) {
                refuse("it is cut short (its last tile-part runs to an EOC marker that is missing)");
            }
            length = end - 2 - pos;
        }
        if (length < 14 || length > size - pos) {
            refuse("it is cut short (the tile-part of tile " + std::to_string(tile) + " at byte " +
                   std::to_string(pos) + " needs " + std::to_string(length) + " bytes, " + std::to_string(size - pos) +
                   " remain)");
        }
        seen[tile] = true;
        pos += static_cast<std::size_t>(length);
    }
    const auto missing = std::find(seen.begin(), seen.end(), false);
    if (missing != seen.end()) {
        refuse("it has no data for tile " + std::to_string(missing - seen.begin()) + " of " + std::to_string(tiles));
    }
}

// Decoded bytes of one PackBits segment (DICOM PS3.5 G.3.1): n < 128 copies n + 1 bytes,
// n > 128 repeats the next byte 257 - n times, 128 does nothing. A header byte with
// nothing after it at the very end is the padding that makes the segment even.
std::size_t packbits_length(const std::uint8_t* p, const std::uint8_t* end, int segment) {
    std::size_t count = 0;
    while (p < end) {
        const std::uint8_t n = *p++;
        if (n == 128) continue;
        if (p == end) break;  // a trailing padding byte
        if (n < 128) {
            const std::size_t run = std::size_t{n} + 1;
            if (static_cast<std::size_t>(end - p) < run) {
                refuse("RLE segment " + std::to_string(segment) + " is cut short (a literal run of " +
                       std::to_string(run) + " bytes, " + std::to_string(end - p) + " remain)");
            }
            count += run;
            p += run;
        } else {
            count += 257 - std::size_t{n};
            ++p;
        }
    }
    return count;
}

std::string size_text(std::uint32_t columns, std::uint32_t rows) {
    return std::to_string(columns) + "x" + std::to_string(rows);
}

// The container a precision needs: 8, 16 or 32 bits (docs/dicom.md, "Compressed pixel data").
int container_bits(int precision) { return precision <= 8 ? 8 : precision <= 16 ? 16 : 32; }

}  // namespace

std::optional<CodestreamKind> codestream_kind(const std::string& uid) {
    static const std::pair<const char*, CodestreamKind> k_kinds[] = {
        {"1.2.840.10008.1.2.4.50", CodestreamKind::Jpeg},     {"1.2.840.10008.1.2.4.51", CodestreamKind::Jpeg},
        {"1.2.840.10008.1.2.4.57", CodestreamKind::Jpeg},     {"1.2.840.10008.1.2.4.70", CodestreamKind::Jpeg},
        {"1.2.840.10008.1.2.4.80", CodestreamKind::JpegLs},   {"1.2.840.10008.1.2.4.81", CodestreamKind::JpegLs},
        {"1.2.840.10008.1.2.4.90", CodestreamKind::Jpeg2000}, {"1.2.840.10008.1.2.4.91", CodestreamKind::Jpeg2000},
        {"1.2.840.10008.1.2.5", CodestreamKind::Rle},
    };
    for (const auto& [id, kind] : k_kinds)
        if (uid == id) return kind;
    return std::nullopt;
}

const char* codestream_name(CodestreamKind kind) {
    switch (kind) {
    case CodestreamKind::Jpeg:
        return "JPEG";
    case CodestreamKind::JpegLs:
        return "JPEG-LS";
    case CodestreamKind::Jpeg2000:
        return "JPEG 2000";
    case CodestreamKind::Rle:
        return "RLE";
    }
    return "";
}

CodestreamInfo read_jpeg2000_header(const std::uint8_t* data, std::size_t size, const DeclaredCheck& declared) {
    static constexpr std::uint8_t k_jp2_signature[] = {0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a};
    const std::uint8_t* cs = data;
    std::size_t n = size;
    if (size >= sizeof k_jp2_signature && std::memcmp(data, k_jp2_signature, sizeof k_jp2_signature) == 0) {
        std::tie(cs, n) = jp2_codestream(data, size);
    }
    if (n < 4 || be16(cs) != 0xff4f || be16(cs + 2) != 0xff51) {
        refuse("it does not start with the SOC and SIZ markers");
    }
    if (n < 6) refuse("its SIZ marker is cut short");
    const std::size_t lsiz = be16(cs + 4);
    if (lsiz < 41 || 4 + lsiz > n) refuse("its SIZ marker is cut short or malformed");
    const std::uint8_t* s = cs + 6;  // Rsiz
    Siz siz{be32(s + 2),  be32(s + 6),  be32(s + 10), be32(s + 14),
            be32(s + 18), be32(s + 22), be32(s + 26), be32(s + 30)};
    const std::size_t components = be16(s + 34);
    if (components == 0 || lsiz != 38 + 3 * components) {
        refuse("its SIZ marker declares " + std::to_string(components) + " components in " + std::to_string(lsiz) +
               " bytes");
    }
    const std::uint64_t tiles = tile_count(siz);
    if (tiles > 65535) refuse("its SIZ marker declares " + std::to_string(tiles) + " tiles (at most 65535)");
    CodestreamInfo info;
    info.columns = siz.x - siz.x0;
    info.rows = siz.y - siz.y0;
    info.components = static_cast<int>(components);
    for (std::size_t c = 0; c < components; ++c) {
        const std::uint8_t* comp = s + 36 + 3 * c;
        const int precision = (comp[0] & 0x7f) + 1;
        if (precision > 38) refuse("its SIZ marker declares " + std::to_string(precision) + "-bit samples");
        if (comp[1] != 1 || comp[2] != 1) refuse("it has subsampled components");
        info.precision = std::max(info.precision, precision);
    }
    if (declared) declared(info);
    // The main header's marker segments up to the first tile-part.
    std::size_t pos = 4 + lsiz;
    for (;;) {
        if (n - pos < 4) refuse("it is cut short in its main header");
        const std::uint32_t marker = be16(cs + pos);
        if (marker == 0xff90) break;
        if ((marker & 0xff00) != 0xff00 || marker < 0xff30) {
            refuse("its main header has no marker at byte " + std::to_string(pos));
        }
        const std::size_t length = be16(cs + pos + 2);
        if (length < 2 || length > n - pos - 2)
            refuse("its marker segment at byte " + std::to_string(pos) + " is cut short");
        pos += 2 + length;
    }
    walk_tile_parts(cs, n, pos, tiles);
    return info;
}

CodestreamInfo read_rle_header(const std::uint8_t* data, std::size_t size) {
    if (size < 64) refuse("it is " + std::to_string(size) + " bytes, shorter than its 64-byte header");
    const std::uint32_t segments = le32(data);
    if (segments < 1 || segments > 15)
        refuse("its header declares " + std::to_string(segments) + " segments (1 to 15)");
    std::vector<std::size_t> offsets;
    for (std::uint32_t i = 0; i < segments; ++i) offsets.push_back(le32(data + 4 + 4 * i));
    if (offsets[0] != 64) refuse("the first RLE segment starts at byte " + std::to_string(offsets[0]) + ", not 64");
    offsets.push_back(size);
    CodestreamInfo info;
    info.components = static_cast<int>(segments);
    for (std::uint32_t i = 0; i < segments; ++i) {
        if (offsets[i + 1] <= offsets[i] || offsets[i + 1] > size) {
            refuse("RLE segment " + std::to_string(i + 1) + " has offset " + std::to_string(offsets[i]) +
                   " and ends at " + std::to_string(offsets[i + 1]) + " in " + std::to_string(size) + " bytes");
        }
        info.segment_lengths.push_back(
            packbits_length(data + offsets[i], data + offsets[i + 1], static_cast<int>(i + 1)));
    }
    return info;
}

void check_frame_codestream(CodestreamKind kind, const std::uint8_t* data, std::size_t size,
                            const DeclaredImage& header, std::size_t frame) {
    const std::string what = std::string("the ") + codestream_name(kind) +
                             (kind == CodestreamKind::Rle ? " data" : " codestream") + " of frame " +
                             std::to_string(frame);
    // A disagreement with the header, thrown from inside a reader: not prefixed again.
    struct Mismatch : InputError {
        using InputError::InputError;
    };
    const DeclaredCheck compare = [&](const CodestreamInfo& info) {
        if (info.columns != static_cast<std::uint32_t>(header.columns) ||
            info.rows != static_cast<std::uint32_t>(header.rows)) {
            throw Mismatch(what + " is " + size_text(info.columns, info.rows) + ", the header says Columns " +
                           std::to_string(header.columns) + " Rows " + std::to_string(header.rows));
        }
        if (info.components != header.samples) {
            throw Mismatch(what + " has " + std::to_string(info.components) +
                           " components, the header says SamplesPerPixel " + std::to_string(header.samples));
        }
        if (container_bits(info.precision) != header.bits_allocated) {
            throw Mismatch(what + " has " + std::to_string(info.precision) +
                           "-bit samples, the header says BitsAllocated " + std::to_string(header.bits_allocated) +
                           " (" + std::to_string(info.precision) + "-bit samples need BitsAllocated " +
                           std::to_string(container_bits(info.precision)) + ")");
        }
    };
    CodestreamInfo info;
    try {
        switch (kind) {
        case CodestreamKind::Jpeg:
            info = read_jpeg_header(data, size, false, compare);
            break;
        case CodestreamKind::JpegLs:
            info = read_jpeg_header(data, size, true, compare);
            break;
        case CodestreamKind::Jpeg2000:
            info = read_jpeg2000_header(data, size, compare);
            break;
        case CodestreamKind::Rle:
            info = read_rle_header(data, size);
            break;
        }
    } catch (const Mismatch&) {
        throw;
    } catch (const InputError& e) {
        refuse(what + ": " + e.what());
    }
    if (kind != CodestreamKind::Rle) return;
    // One segment per byte of each sample (PS3.5 G.2), each decoding to Rows x Columns bytes
    // (one more when that is odd: a decoded padding byte, never used).
    const int need = header.samples * header.bits_allocated / 8;
    if (info.components != need) {
        refuse(what + " has " + std::to_string(info.components) + " segments, the header says SamplesPerPixel " +
               std::to_string(header.samples) + " BitsAllocated " + std::to_string(header.bits_allocated) + " (" +
               std::to_string(need) + " segments)");
    }
    const std::size_t pixels = static_cast<std::size_t>(header.rows) * static_cast<std::size_t>(header.columns);
    for (std::size_t i = 0; i < info.segment_lengths.size(); ++i) {
        const std::size_t got = info.segment_lengths[i];
        if (got != pixels && !(pixels % 2 == 1 && got == pixels + 1)) {
            refuse(what + ": segment " + std::to_string(i + 1) + " decodes to " + std::to_string(got) +
                   " bytes, the header says Rows " + std::to_string(header.rows) + " Columns " +
                   std::to_string(header.columns) + " (" + std::to_string(pixels) + " pixels)");
        }
    }
}

}  // namespace lessmore
