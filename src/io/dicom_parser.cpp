// The DICOM walk: framing, the meta header, the transfer syntax, inflating a Deflated
// dataset, and every element, sequence item and pixel data fragment.
//
// Decisions, each the smallest that real files need:
// - Framing: 128-byte preamble + "DICM", else a meta header or a dataset at byte 0 whose
//   first element passes looks_like_dicom(). The meta header is read while the group is
//   0002, whatever (0002,0000) says (writers get it wrong; pydicom reads it the same way).
// - Transfer syntax: implicit/explicit VR little endian, explicit big endian (retired, read
//   byte-swapped), Deflated (inflated with a size cap), and any other UID as encapsulated
//   (explicit VR little endian). The first element of the dataset may contradict the UID's
//   VR encoding (writers that label implicit data explicit, or the reverse); then its bytes
//   win, as in pydicom, and transfer_syntax().guessed says so.
// - Element order: a tag lower than the one before is accepted (real files, often private
//   tags, are out of order) and the dataset is sorted; a repeated tag is refused, since
//   which value is meant cannot be known.
// - Odd lengths are taken as written (real files have them) but never past the end.
// - VR "UN" with a defined length stays bytes, even when it hides a sequence (pydicom's
//   bad_sequence.dcm holds the CTDI Phantom Type Code Sequence (0018,9346) that way, its
//   items implicit VR): we read nothing from such values, and a value we do not parse
//   cannot fail the file. UN (or implicit VR) with undefined length is a sequence, its
//   items implicit VR little endian (PS3.5 6.2.2).
// - Undefined length elsewhere is refused, and so is undefined-length pixel data in a
//   transfer syntax that is not encapsulated.
// - A file shorter than (0002,0000) says, or with nothing after the meta header, is
//   truncated; one cut between two top-level elements cannot be told from a whole one.
// - Zero bytes after the last element are padding; other trailing bytes must parse.
// - Work is bounded by DicomLimits: 32 nested sequences, a million elements, and a
//   Deflated dataset of at most 64 times its compressed size (2 GiB).
#include "io/dicom_parser.hpp"

#include <lessmore/error.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace lessmore {
namespace {

constexpr std::uint32_t k_undefined = 0xffffffffu;
constexpr DicomTag k_item = dicom_tag(0xfffe, 0xe000);
constexpr DicomTag k_item_end = dicom_tag(0xfffe, 0xe00d);
constexpr DicomTag k_sequence_end = dicom_tag(0xfffe, 0xe0dd);

constexpr const char* k_implicit_little = "1.2.840.10008.1.2";
constexpr const char* k_explicit_little = "1.2.840.10008.1.2.1";
constexpr const char* k_explicit_big = "1.2.840.10008.1.2.2";
constexpr const char* k_deflated = "1.2.840.10008.1.2.1.99";

// Every VR of PS3.5 table 6.2-1; those with a 4-byte length (after 2 reserved bytes) first.
constexpr std::array<const char*, 13> k_long_vrs = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                                    "SV", "UC", "UN", "UR", "UT", "UV"};
constexpr std::array<const char*, 21> k_short_vrs = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO",
                                                     "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"};

template <std::size_t N>
bool vr_in(const std::array<const char*, N>& list, std::uint8_t a, std::uint8_t b) {
    return std::any_of(list.begin(), list.end(), [&](const char* v) { return v[0] == a && v[1] == b; });
}

bool long_vr(std::uint8_t a, std::uint8_t b) { return vr_in(k_long_vrs, a, b); }
bool known_vr(std::uint8_t a, std::uint8_t b) { return long_vr(a, b) || vr_in(k_short_vrs, a, b); }

std::uint16_t read_u16(const std::uint8_t* p, bool big) {
    return big ? static_cast<std::uint16_t>((p[0] << 8) | p[1]) : static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

std::uint32_t read_u32(const std::uint8_t* p, bool big) {
    const std::uint32_t lo = read_u16(p + (big ? 2 : 0), big), hi = read_u16(p + (big ? 0 : 2), big);
    return lo | (hi << 16);
}

DicomTag read_tag(const std::uint8_t* p, bool big) { return dicom_tag(read_u16(p, big), read_u16(p + 2, big)); }

// The VRs implicit VR files cannot tell us, for the tags lessmore reads. Sequences must be
// known: an implicit sequence of defined length is otherwise just bytes.
struct DictionaryEntry {
    DicomTag tag;
    const char* vr;
};
constexpr DictionaryEntry k_dictionary[] = {
    {dicom_tag(0x0008, 0x0005), "CS"}, {dicom_tag(0x0008, 0x0008), "CS"}, {dicom_tag(0x0008, 0x0016), "UI"},
    {dicom_tag(0x0008, 0x0018), "UI"}, {dicom_tag(0x0008, 0x0060), "CS"}, {dicom_tag(0x0008, 0x1115), "SQ"},
    {dicom_tag(0x0008, 0x1140), "SQ"}, {dicom_tag(0x0008, 0x1199), "SQ"}, {dicom_tag(0x0008, 0x1250), "SQ"},
    {dicom_tag(0x0008, 0x2218), "SQ"}, {dicom_tag(0x0008, 0x9121), "SQ"}, {dicom_tag(0x0008, 0x9124), "SQ"},
    {dicom_tag(0x0008, 0x9215), "SQ"}, {dicom_tag(0x0018, 0x0012), "SQ"}, {dicom_tag(0x0018, 0x0050), "DS"},
    {dicom_tag(0x0018, 0x0088), "DS"}, {dicom_tag(0x0018, 0x1120), "DS"}, {dicom_tag(0x0018, 0x9118), "SQ"},
    {dicom_tag(0x0018, 0x9301), "SQ"}, {dicom_tag(0x0018, 0x9304), "SQ"}, {dicom_tag(0x0018, 0x9308), "SQ"},
    {dicom_tag(0x0018, 0x9312), "SQ"}, {dicom_tag(0x0018, 0x9314), "SQ"}, {dicom_tag(0x0018, 0x9321), "SQ"},
    {dicom_tag(0x0018, 0x9325), "SQ"}, {dicom_tag(0x0018, 0x9326), "SQ"}, {dicom_tag(0x0018, 0x9329), "SQ"},
    {dicom_tag(0x0018, 0x9346), "SQ"}, {dicom_tag(0x0018, 0x9477), "SQ"}, {dicom_tag(0x0020, 0x000d), "UI"},
    {dicom_tag(0x0020, 0x000e), "UI"}, {dicom_tag(0x0020, 0x0011), "IS"}, {dicom_tag(0x0020, 0x0012), "IS"},
    {dicom_tag(0x0020, 0x0013), "IS"}, {dicom_tag(0x0020, 0x0032), "DS"}, {dicom_tag(0x0020, 0x0037), "DS"},
    {dicom_tag(0x0020, 0x0052), "UI"}, {dicom_tag(0x0020, 0x1041), "DS"}, {dicom_tag(0x0020, 0x9071), "SQ"},
    {dicom_tag(0x0020, 0x9111), "SQ"}, {dicom_tag(0x0020, 0x9113), "SQ"}, {dicom_tag(0x0020, 0x9116), "SQ"},
    {dicom_tag(0x0020, 0x9221), "SQ"}, {dicom_tag(0x0020, 0x9222), "SQ"}, {dicom_tag(0x0028, 0x0002), "US"},
    {dicom_tag(0x0028, 0x0004), "CS"}, {dicom_tag(0x0028, 0x0006), "US"}, {dicom_tag(0x0028, 0x0008), "IS"},
    {dicom_tag(0x0028, 0x0010), "US"}, {dicom_tag(0x0028, 0x0011), "US"}, {dicom_tag(0x0028, 0x0030), "DS"},
    {dicom_tag(0x0028, 0x0100), "US"}, {dicom_tag(0x0028, 0x0101), "US"}, {dicom_tag(0x0028, 0x0102), "US"},
    {dicom_tag(0x0028, 0x0103), "US"}, {dicom_tag(0x0028, 0x1050), "DS"}, {dicom_tag(0x0028, 0x1051), "DS"},
    {dicom_tag(0x0028, 0x1052), "DS"}, {dicom_tag(0x0028, 0x1053), "DS"}, {dicom_tag(0x0028, 0x1054), "LO"},
    {dicom_tag(0x0028, 0x3010), "SQ"}, {dicom_tag(0x0028, 0x9110), "SQ"}, {dicom_tag(0x0028, 0x9132), "SQ"},
    {dicom_tag(0x0028, 0x9145), "SQ"}, {dicom_tag(0x0040, 0x0260), "SQ"}, {dicom_tag(0x0040, 0x0275), "SQ"},
    {dicom_tag(0x0040, 0x0555), "SQ"}, {dicom_tag(0x0040, 0x08ea), "SQ"}, {dicom_tag(0x0040, 0x9096), "SQ"},
    {dicom_tag(0x0054, 0x0016), "SQ"}, {dicom_tag(0x0088, 0x0200), "SQ"}, {dicom_tag(0x5200, 0x9229), "SQ"},
    {dicom_tag(0x5200, 0x9230), "SQ"}, {dicom_tag(0x7fe0, 0x0001), "OV"}, {dicom_tag(0x7fe0, 0x0002), "OV"},
    {dicom_tag(0x7fe0, 0x0010), "OW"},
};

std::array<char, 2> dictionary_vr(DicomTag tag) {
    if ((tag & 0xffff) == 0) return {{'U', 'L'}};  // group length
    for (const DictionaryEntry& e : k_dictionary)
        if (e.tag == tag) return {{e.vr[0], e.vr[1]}};
    return {{'U', 'N'}};
}

std::string printable_vr(std::uint8_t a, std::uint8_t b) {
    std::string out;
    for (const std::uint8_t c : {a, b}) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02X", c);
        out += c >= 0x20 && c < 0x7f ? std::string(1, static_cast<char>(c)) : std::string(hex);
    }
    return out;
}

struct Encoding {
    bool implicit_vr = false;
    bool big_endian = false;
};

// Implicit or explicit VR little endian, from the bytes of the element at pos: a known VR
// where explicit VR puts it means explicit (pydicom's rule).
Encoding sniff_encoding(const std::uint8_t* data, std::size_t pos, std::size_t end, Encoding declared, bool& guessed) {
    if (declared.big_endian || end - pos < 8) return declared;
    const bool explicit_vr = known_vr(data[pos + 4], data[pos + 5]);
    if (explicit_vr == !declared.implicit_vr) return declared;
    guessed = true;
    return Encoding{!explicit_vr, false};
}

bool plausible_first_element(const std::uint8_t* d, std::size_t size) {
    if (size < 8) return false;
    const std::uint16_t group = read_u16(d, false);
    if (group != 0x0002 && group != 0x0008) return false;
    std::size_t next = 0;
    if (known_vr(d[4], d[5])) {
        const bool is_long = long_vr(d[4], d[5]);
        if (is_long && (size < 12 || d[6] != 0 || d[7] != 0)) return false;
        const std::size_t header = is_long ? 12 : 8;
        const std::uint32_t length = is_long ? read_u32(d + 8, false) : read_u16(d + 6, false);
        if (length == k_undefined) return d[4] == 'S' && d[5] == 'Q';
        if (length > size - header) return false;
        next = header + length;
    } else {
        const std::uint32_t length = read_u32(d + 4, false);
        if (length == k_undefined || length > size - 8) return false;
        next = 8 + length;
    }
    return size - next < 4 || read_tag(d + next, false) > read_tag(d, false);
}

enum class Scope { Top, Meta, DefinedItem, UndefinedItem };

}  // namespace

std::string dicom_tag_text(DicomTag tag) {
    char text[16];
    std::snprintf(text, sizeof text, "(%04X,%04X)", static_cast<unsigned>(tag >> 16),
                  static_cast<unsigned>(tag & 0xffff));
    return text;
}

bool looks_like_dicom(const std::uint8_t* data, std::size_t size) {
    if (data == nullptr) return false;
    if (size >= 132 && std::memcmp(data + 128, "DICM", 4) == 0) return true;
    return plausible_first_element(data, size);
}

// Walks the elements of one buffer; every read is checked against the end that encloses it.
class DicomWalker {
public:
    DicomWalker(const DicomBuffer& buffer, const DicomLimits& limits, bool encapsulated_syntax, std::size_t& count)
        : m_buffer(buffer),
          m_d(buffer.data),
          m_limits(limits),
          m_encapsulated_syntax(encapsulated_syntax),
          m_count(count) {}

    // The elements from pos until end (Top, DefinedItem), the end of group 0002 (Meta), or
    // the item delimiter (UndefinedItem: *terminated says whether it came).
    DicomDataset walk(std::size_t& pos, std::size_t end, Encoding enc, Scope scope, int depth,
                      bool* terminated = nullptr);

private:
    struct Header {
        DicomTag tag = 0;
        std::array<char, 2> vr{{'U', 'N'}};
        std::uint32_t length = 0;
        std::size_t size = 8;
    };

    Header header(std::size_t pos, std::size_t end, Encoding enc) const;
    void check_order(DicomDataset& ds, const Header& h, std::size_t pos) const;
    void finish_order(DicomDataset& ds) const;
    void value(DicomElement& e, std::uint32_t length, std::size_t& pos, std::size_t end, Encoding enc, int depth);
    void sequence(DicomElement& e, std::size_t& pos, std::size_t end, Encoding enc, int depth, bool undefined);
    void encapsulated(DicomElement& e, std::size_t& pos, std::size_t end);
    void count_one();
    bool zeros_to_end(std::size_t pos, std::size_t end) const {
        return std::all_of(m_d + pos, m_d + end, [](std::uint8_t b) { return b == 0; });
    }
    [[noreturn]] void fail(const std::string& what) const;
    std::string at(std::size_t pos) const;
    std::string ends(std::size_t end) const;
    std::string ends_inside(std::size_t end) const;

    const DicomBuffer& m_buffer;
    const std::uint8_t* m_d;
    const DicomLimits& m_limits;
    bool m_encapsulated_syntax;
    std::size_t& m_count;
    // Where (0002,0000) says the meta header ends. The walk stops there only when it lands
    // exactly on it (the length is often wrong), which keeps a Deflated stream that happens
    // to start with 02 00 from being read as meta elements.
    std::uint64_t m_meta_end = ~std::uint64_t{0};
};

void DicomWalker::fail(const std::string& what) const {
    throw InputError(m_buffer.name.empty() ? what : m_buffer.name + ": " + what);
}

std::string DicomWalker::at(std::size_t pos) const {
    return "at byte " + std::to_string(pos) + (m_buffer.inflated ? " of the inflated dataset" : "");
}

std::string DicomWalker::ends(std::size_t end) const {
    if (end == m_buffer.size)
        return (m_buffer.inflated ? "the inflated dataset ends at byte " : "the file ends at byte ") +
               std::to_string(end);
    return "its enclosing item ends at byte " + std::to_string(end);
}

std::string DicomWalker::ends_inside(std::size_t end) const {
    return (end == m_buffer.size ? (m_buffer.inflated ? "the inflated dataset" : "the file")
                                 : std::string("its enclosing item")) +
           " ends inside it, at byte " + std::to_string(end);
}

void DicomWalker::count_one() {
    if (++m_count > m_limits.max_elements)
        fail("more than " + std::to_string(m_limits.max_elements) +
             " DICOM elements, items and fragments; not walking further");
}

DicomWalker::Header DicomWalker::header(std::size_t pos, std::size_t end, Encoding enc) const {
    if (end - pos < 8) {
        if (end == m_buffer.size) fail("truncated DICOM file: it ends inside the element header " + at(pos));
        fail("the DICOM element header " + at(pos) + " runs past the end of its enclosing item (byte " +
             std::to_string(end) + ")");
    }
    Header h;
    h.tag = read_tag(m_d + pos, enc.big_endian);
    if ((h.tag >> 16) == 0xfffe || enc.implicit_vr) {  // items and delimiters have no VR
        h.length = read_u32(m_d + pos + 4, enc.big_endian);
        h.vr = (h.tag >> 16) == 0xfffe ? std::array<char, 2>{{' ', ' '}} : dictionary_vr(h.tag);
        return h;
    }
    const std::uint8_t a = m_d[pos + 4], b = m_d[pos + 5];
    if (!known_vr(a, b))
        fail("DICOM element " + dicom_tag_text(h.tag) + " " + at(pos) + " has an invalid VR \"" + printable_vr(a, b) +
             "\"");
    h.vr = {{static_cast<char>(a), static_cast<char>(b)}};
    if (!long_vr(a, b)) {
        h.length = read_u16(m_d + pos + 6, enc.big_endian);
        return h;
    }
    if (end - pos < 12) {
        if (end == m_buffer.size)
            fail("truncated DICOM file: it ends inside the header of element " + dicom_tag_text(h.tag) + " " + at(pos));
        fail("the header of DICOM element " + dicom_tag_text(h.tag) + " " + at(pos) +
             " runs past the end of its enclosing item");
    }
    h.length = read_u32(m_d + pos + 8, enc.big_endian);
    h.size = 12;
    return h;
}

void DicomWalker::check_order(DicomDataset& ds, const Header& h, std::size_t pos) const {
    if (ds.m_elements.empty()) return;
    const DicomElement& last = ds.m_elements.back();
    if (h.tag == last.tag)
        fail("DICOM element " + dicom_tag_text(h.tag) + " appears twice in a row (" + at(last.offset) + " and byte " +
             std::to_string(pos) + ")");
    if (h.tag < last.tag) ds.m_in_file_order = false;
}

// Out-of-order elements are sorted, so find() can search; a tag seen twice is refused.
void DicomWalker::finish_order(DicomDataset& ds) const {
    if (ds.m_in_file_order) return;
    std::stable_sort(ds.m_elements.begin(), ds.m_elements.end(),
                     [](const DicomElement& a, const DicomElement& b) { return a.tag < b.tag; });
    for (std::size_t i = 1; i < ds.m_elements.size(); ++i) {
        if (ds.m_elements[i].tag == ds.m_elements[i - 1].tag)
            fail("DICOM element " + dicom_tag_text(ds.m_elements[i].tag) + " appears twice (" +
                 at(ds.m_elements[i - 1].offset) + " and byte " + std::to_string(ds.m_elements[i].offset) + ")");
    }
}

DicomDataset DicomWalker::walk(std::size_t& pos, std::size_t end, Encoding enc, Scope scope, int depth,
                               bool* terminated) {
    DicomDataset ds;
    ds.m_buffer = &m_buffer;
    ds.m_big_endian = enc.big_endian;
    ds.m_offset = pos;
    if (terminated) *terminated = false;
    while (pos < end) {
        if (scope == Scope::Top && zeros_to_end(pos, end)) {  // padding, not elements
            pos = end;
            break;
        }
        if (scope == Scope::Meta && (pos == m_meta_end || end - pos < 2 || read_u16(m_d + pos, false) != 0x0002)) break;
        const Header h = header(pos, end, enc);
        if (h.tag == k_item_end && scope == Scope::UndefinedItem) {
            pos += 8;
            if (terminated) *terminated = true;
            break;
        }
        if ((h.tag >> 16) == 0xfffe)
            fail("unexpected " + std::string(h.tag == k_item ? "item" : "delimiter") + " " + dicom_tag_text(h.tag) +
                 " " + at(pos) + (scope == Scope::Top ? " in the dataset" : " inside a sequence item"));
        check_order(ds, h, pos);
        count_one();
        DicomElement e;
        e.tag = h.tag;
        e.vr = h.vr;
        e.offset = pos;
        e.value_offset = pos + h.size;
        pos += h.size;
        value(e, h.length, pos, end, enc, depth);
        if (scope == Scope::Meta && e.tag == dicom_tag(0x0002, 0x0000) && e.value_length == 4)
            m_meta_end = pos + read_u32(m_d + e.value_offset, enc.big_endian);
        ds.m_elements.push_back(std::move(e));
    }
    finish_order(ds);
    ds.m_length = pos - ds.m_offset;
    return ds;
}

void DicomWalker::value(DicomElement& e, std::uint32_t length, std::size_t& pos, std::size_t end, Encoding enc,
                        int depth) {
    if (length == k_undefined) {
        e.undefined_length = true;
        if (e.tag == k_tag_pixel_data && !e.has_vr("SQ")) {
            encapsulated(e, pos, end);
        } else if (enc.implicit_vr || e.has_vr("SQ") || e.has_vr("UN")) {
            // An undefined-length UN is a sequence whose items are implicit VR little endian.
            sequence(e, pos, end, e.has_vr("UN") ? Encoding{true, false} : enc, depth, true);
        } else {
            fail("DICOM element " + dicom_tag_text(e.tag) + " " + at(e.offset) + " has undefined length, which VR " +
                 std::string(e.vr.data(), 2) + " does not allow");
        }
        e.value_length = pos - 8 - e.value_offset;  // the closing delimiter is 8 bytes
        return;
    }
    if (length > end - pos)
        fail("DICOM element " + dicom_tag_text(e.tag) + " " + at(e.offset) + " claims " + std::to_string(length) +
             " bytes but " + ends(end));
    e.value_length = length;
    if (e.has_vr("SQ")) {
        std::size_t inner = pos;
        sequence(e, inner, pos + length, enc, depth, false);
    }
    pos += length;
}

void DicomWalker::sequence(DicomElement& e, std::size_t& pos, std::size_t end, Encoding enc, int depth,
                           bool undefined) {
    if (depth + 1 > m_limits.max_depth)
        fail("DICOM sequences are nested more than " + std::to_string(m_limits.max_depth) + " deep (sequence " +
             dicom_tag_text(e.tag) + " " + at(e.offset) + ")");
    e.sequence = true;
    const std::string what = "sequence " + dicom_tag_text(e.tag) + " " + at(e.offset);
    for (std::size_t n = 1;; ++n) {
        if (!undefined && pos == end) return;
        if (end - pos < 8) {
            if (undefined)
                fail("sequence " + dicom_tag_text(e.tag) + " " + at(e.offset) + " is not terminated (" +
                     ends_inside(end) + ")");
            fail(what + ": item " + std::to_string(n) + " " + at(pos) + " runs past the end of the sequence");
        }
        const DicomTag tag = read_tag(m_d + pos, enc.big_endian);
        const std::uint32_t length = read_u32(m_d + pos + 4, enc.big_endian);
        if (tag == k_sequence_end && undefined) {
            pos += 8;
            return;
        }
        if (tag != k_item) fail(what + ": expected an item (FFFE,E000) " + at(pos) + ", found " + dicom_tag_text(tag));
        count_one();
        pos += 8;
        if (length == k_undefined) {
            bool terminated = false;
            e.items.push_back(walk(pos, end, enc, Scope::UndefinedItem, depth + 1, &terminated));
            if (!terminated)
                fail("item " + std::to_string(n) + " of " + what + " is not terminated (" + ends_inside(end) + ")");
            continue;
        }
        if (length > end - pos)
            fail("item " + std::to_string(n) + " of " + what + " claims " + std::to_string(length) + " bytes but " +
                 ends(end));
        std::size_t inner = pos;
        e.items.push_back(walk(inner, pos + length, enc, Scope::DefinedItem, depth + 1));
        pos += length;
    }
}

// Encapsulated pixel data: the Basic Offset Table item, fragment items, the delimiter.
void DicomWalker::encapsulated(DicomElement& e, std::size_t& pos, std::size_t end) {
    if (!m_encapsulated_syntax)
        fail("pixel data " + at(e.offset) + " has undefined length, but the transfer syntax is not a compressed one");
    auto out = std::make_shared<DicomEncapsulated>();
    if (end - pos < 8) fail("encapsulated pixel data " + at(e.offset) + " is truncated before its Basic Offset Table");
    const DicomTag bot_tag = read_tag(m_d + pos, false);
    const std::uint32_t bot_length = read_u32(m_d + pos + 4, false);
    if (bot_tag != k_item)
        fail("encapsulated pixel data: expected the Basic Offset Table item " + at(pos) + ", found " +
             dicom_tag_text(bot_tag));
    if (bot_length > end - pos - 8)
        fail("Basic Offset Table " + at(pos) + " claims " + std::to_string(bot_length) + " bytes but " + ends(end));
    if (bot_length % 4 != 0)
        fail("Basic Offset Table " + at(pos) + " has length " + std::to_string(bot_length) + ", not a multiple of 4");
    out->offset_table.reserve(bot_length / 4);
    for (std::size_t i = 0; i < bot_length; i += 4) out->offset_table.push_back(read_u32(m_d + pos + 8 + i, false));
    pos += 8 + bot_length;
    for (std::size_t n = 1;; ++n) {
        if (end - pos < 8)
            fail("encapsulated pixel data " + at(e.offset) + " is not terminated (" + ends_inside(end) + ")");
        const DicomTag tag = read_tag(m_d + pos, false);
        const std::uint32_t length = read_u32(m_d + pos + 4, false);
        if (tag == k_sequence_end) {
            pos += 8;
            break;
        }
        if (tag != k_item)
            fail("encapsulated pixel data: expected fragment " + std::to_string(n) + " (an item, FFFE,E000) " +
                 at(pos) + ", found " + dicom_tag_text(tag));
        count_one();
        if (length > end - pos - 8)
            fail("encapsulated pixel data: fragment " + std::to_string(n) + " " + at(pos) +
                 " runs past the end (it claims " + std::to_string(length) + " bytes but " + ends(end) + ")");
        out->fragments.push_back(DicomFragment{pos + 8, length});
        pos += 8 + length;
    }
    e.encapsulated = std::move(out);
}

namespace {

DicomTransferSyntax syntax_of(const std::string& uid) {
    DicomTransferSyntax s;
    s.uid = uid;
    if (uid.empty() || uid == k_implicit_little) {
        s.implicit_vr = true;  // without a UID, a first guess that the first element corrects
        s.guessed = uid.empty();
    } else if (uid == k_explicit_big) {
        s.big_endian = true;
    } else if (uid == k_deflated) {
        s.deflated = true;
    } else if (uid != k_explicit_little) {
        s.encapsulated = true;
    }
    return s;
}

// (0002,0000) is not trusted to find the meta header's end, but a file shorter than it
// says is cut off.
void check_meta_length(const DicomDataset& meta, std::size_t size, const std::string& prefix) {
    const DicomElement* length = meta.find(dicom_tag(0x0002, 0x0000));
    const std::optional<std::uint32_t> value = meta.ul(dicom_tag(0x0002, 0x0000));
    if (length && value && *value > size - (length->value_offset + length->value_length))
        throw InputError(prefix + "truncated DICOM file: it ends inside the meta header (" + std::to_string(*value) +
                         " bytes long by (0002,0000))");
}

struct InflateStream {
    z_stream z{};
    bool open = false;
    ~InflateStream() {
        if (open) inflateEnd(&z);
    }
};

// The raw deflate stream after a Deflated file's meta header, inflated in growing steps up
// to the cap (a few hundred bytes of deflate can claim gigabytes).
std::vector<std::uint8_t> inflate_dataset(const std::uint8_t* in, std::size_t size, const DicomLimits& limits,
                                          const std::string& prefix) {
    const std::uint64_t cap =
        std::min<std::uint64_t>(limits.max_inflated, std::uint64_t{size} * limits.max_inflate_ratio);
    std::vector<std::uint8_t> out(
        static_cast<std::size_t>(std::min<std::uint64_t>(cap, std::max<std::uint64_t>(std::uint64_t{size} * 4, 4096))));
    InflateStream s;
    if (inflateInit2(&s.z, -15) != Z_OK) throw InputError(prefix + "cannot start zlib to inflate the Deflated dataset");
    s.open = true;
    std::size_t in_done = 0;
    for (;;) {
        if (s.z.avail_in == 0 && in_done < size) {
            const std::size_t chunk = std::min<std::size_t>(size - in_done, std::size_t{1} << 30);
            s.z.next_in = const_cast<Bytef*>(in + in_done);
            s.z.avail_in = static_cast<uInt>(chunk);
            in_done += chunk;
        }
        if (s.z.total_out == out.size()) {
            if (out.size() >= cap)
                throw InputError(prefix + "the Deflated dataset inflates to more than " + std::to_string(cap) +
                                 " bytes (" + std::to_string(limits.max_inflate_ratio) +
                                 " times its compressed size, at most " + std::to_string(limits.max_inflated >> 20) +
                                 " MiB); refusing it");
            out.resize(static_cast<std::size_t>(std::min<std::uint64_t>(cap, std::uint64_t{out.size()} * 2)));
        }
        const std::size_t room = std::min<std::size_t>(out.size() - s.z.total_out, std::size_t{1} << 30);
        s.z.next_out = out.data() + s.z.total_out;
        s.z.avail_out = static_cast<uInt>(room);
        const int status = inflate(&s.z, Z_NO_FLUSH);
        if (status == Z_STREAM_END) break;
        if (status == Z_BUF_ERROR && s.z.avail_in == 0 && in_done == size)
            throw InputError(prefix + "truncated DICOM file: the Deflated dataset ends before its deflate stream does");
        if (status != Z_OK && status != Z_BUF_ERROR)
            throw InputError(
                prefix + "the Deflated dataset is corrupt (zlib: " + std::string(s.z.msg ? s.z.msg : "error") + ")");
    }
    out.resize(s.z.total_out);
    return out;
}

}  // namespace

ParsedDicom::ParsedDicom() = default;
ParsedDicom::ParsedDicom(ParsedDicom&&) noexcept = default;
ParsedDicom& ParsedDicom::operator=(ParsedDicom&&) noexcept = default;
ParsedDicom::~ParsedDicom() = default;

ParsedDicom parse_dicom(const std::uint8_t* data, std::size_t size, const std::string& name,
                        const DicomLimits& limits) {
    const std::string prefix = name.empty() ? std::string() : name + ": ";
    if (data == nullptr || size == 0) throw InputError(prefix + "empty file, not DICOM");
    ParsedDicom out;
    out.m_input = std::make_unique<DicomBuffer>();
    out.m_input->data = data;
    out.m_input->size = size;
    out.m_input->name = name;
    std::size_t pos = 0;
    out.m_preamble = size >= 132 && std::memcmp(data + 128, "DICM", 4) == 0;
    if (out.m_preamble) {
        pos = 132;
    } else if (!plausible_first_element(data, size)) {
        throw InputError(prefix + "not a DICOM file (no \"DICM\" at byte 128 and no plausible element at byte 0)");
    }
    DicomWalker meta_walker(*out.m_input, limits, false, out.m_element_count);
    if (size - pos >= 8 && read_u16(data + pos, false) == 0x0002) {
        bool implicit_meta = false;  // a writer's mistake we can read past
        const Encoding enc = sniff_encoding(data, pos, size, Encoding{false, false}, implicit_meta);
        out.m_meta = meta_walker.walk(pos, size, enc, Scope::Meta, 0);
    } else {
        out.m_meta = meta_walker.walk(pos, pos, Encoding{}, Scope::Meta, 0);  // none: an empty dataset here
    }
    check_meta_length(out.m_meta, size, prefix);
    out.m_syntax = syntax_of(out.m_meta.string(k_tag_transfer_syntax));
    out.m_dataset_bytes = std::make_unique<DicomBuffer>(*out.m_input);
    std::size_t start = pos;
    if (out.m_syntax.deflated) {
        if (pos == size)
            throw InputError(prefix + "truncated DICOM file: nothing follows the meta header of a Deflated file");
        out.m_dataset_bytes->owned = inflate_dataset(data + pos, size - pos, limits, prefix);
        out.m_dataset_bytes->data = out.m_dataset_bytes->owned.data();
        out.m_dataset_bytes->size = out.m_dataset_bytes->owned.size();
        out.m_dataset_bytes->inflated = true;
        start = 0;
    }
    const DicomBuffer& bytes = *out.m_dataset_bytes;
    const Encoding enc =
        sniff_encoding(bytes.data, start, bytes.size, Encoding{out.m_syntax.implicit_vr, out.m_syntax.big_endian},
                       out.m_syntax.guessed);
    out.m_syntax.implicit_vr = enc.implicit_vr;
    DicomWalker walker(bytes, limits, out.m_syntax.encapsulated, out.m_element_count);
    out.m_dataset = walker.walk(start, bytes.size, enc, Scope::Top, 0);
    if (out.m_dataset.elements().empty()) {
        if (!out.m_meta.elements().empty())
            throw InputError(prefix + "truncated DICOM file: nothing follows the meta header");
        throw InputError(prefix + "DICOM file without any elements");
    }
    return out;
}

}  // namespace lessmore
