// lessmore's own DICOM parser: every real file in tests/data against pydicom's reading
// (tests/data/dicom_parser_golden.json, made by make_dicom_parser_golden.py), each
// transfer syntax and framing, and hostile input: truncations, mutations, lying lengths,
// deep nesting, zip bombs. Hostile input must parse or throw InputError, nothing else.
#include "test_support.hpp"

#include "io/dicom_parser.hpp"

#include <lessmore/error.hpp>

#include <array>
#include <cstdio>
#include <random>

namespace lessmore {
namespace {

using nlohmann::json;
constexpr std::uint32_t k_undefined = 0xffffffffu;

// Each input in a heap block of exactly its size, so a read past the end is caught by ASan.
class Parsed {
public:
    explicit Parsed(const std::string& bytes, const DicomLimits& limits = {})
        : m_bytes(bytes.begin(), bytes.end()),
          m_dicom(parse_dicom(m_bytes.data(), m_bytes.size(), "test.dcm", limits)) {}
    const ParsedDicom& operator*() const { return m_dicom; }
    const ParsedDicom* operator->() const { return &m_dicom; }

private:
    std::vector<std::uint8_t> m_bytes;
    ParsedDicom m_dicom;
};

// The InputError's message, or "" when the bytes parse.
std::string error_of(const std::string& bytes, const DicomLimits& limits = {}) {
    try {
        Parsed p(bytes, limits);
        return "";
    } catch (const InputError& e) {
        return e.what();
    }
}

std::string read_data(const std::string& relative) {
    return test::read_file(test::source_dir() / "tests" / "data" / relative);
}

std::uint32_t crc32(const std::uint8_t* p, std::size_t n) {
    std::uint32_t c = 0xffffffffu;
    for (std::size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

// DICOM bytes, element by element (explicit VR little endian unless told).
class Writer {
public:
    explicit Writer(bool implicit_vr = false, bool big_endian = false) : m_implicit(implicit_vr), m_big(big_endian) {}
    Writer& u16(std::uint32_t v) { return put(v, 2); }
    Writer& u32(std::uint32_t v) { return put(v, 4); }
    Writer& head(std::uint16_t g, std::uint16_t e, const char* vr, std::uint32_t length) {
        u16(g).u16(e);
        if (m_implicit || g == 0xfffe) return u32(length);
        out.append(vr, 2);
        const std::string v(vr);
        if (std::string("OB OD OF OL OV OW SQ UC UN UR UT").find(v) != std::string::npos) return u16(0).u32(length);
        return u16(length);
    }
    Writer& el(std::uint16_t g, std::uint16_t e, const char* vr, const std::string& value) {
        head(g, e, vr, static_cast<std::uint32_t>(value.size()));
        out += value;
        return *this;
    }
    Writer& item(std::uint32_t length = k_undefined) { return head(0xfffe, 0xe000, "", length); }
    Writer& item_end() { return head(0xfffe, 0xe00d, "", 0); }
    Writer& seq_end() { return head(0xfffe, 0xe0dd, "", 0); }
    Writer& raw(const std::string& bytes) {
        out += bytes;
        return *this;
    }
    std::string out;

private:
    Writer& put(std::uint32_t v, int n) {
        for (int i = 0; i < n; ++i) out += static_cast<char>(v >> (8 * (m_big ? n - 1 - i : i)));
        return *this;
    }
    bool m_implicit, m_big;
};

std::string le16(std::uint32_t v) { return Writer().u16(v).out; }

// A string literal's bytes, NULs included.
template <std::size_t N>
std::string bytes_of(const char (&text)[N]) {
    return std::string(text, N - 1);
}

// Preamble, "DICM", a meta header naming the transfer syntax, then the dataset's bytes.
std::string part10(std::string uid, const std::string& dataset) {
    if (uid.size() % 2) uid += '\0';
    Writer meta;
    meta.el(0x0002, 0x0001, "OB", std::string("\0\1", 2)).el(0x0002, 0x0010, "UI", uid);
    Writer length;
    length.el(0x0002, 0x0000, "UL", Writer().u32(static_cast<std::uint32_t>(meta.out.size())).out);
    return std::string(128, '\0') + "DICM" + length.out + meta.out + dataset;
}

const char* const k_explicit = "1.2.840.10008.1.2.1";
const char* const k_jpeg = "1.2.840.10008.1.2.4.50";
const char* const k_deflated = "1.2.840.10008.1.2.1.99";

std::size_t count_elements(const DicomDataset& ds) {
    std::size_t n = 0;
    for (const DicomElement& e : ds.elements()) {
        ++n;
        for (const DicomDataset& item : e.items) n += count_elements(item);
    }
    return n;
}

void expect_numbers(const json& golden, const std::vector<double>& got) {
    if (golden.is_null()) {
        EXPECT_TRUE(got.empty());
        return;
    }
    ASSERT_EQ(got.size(), golden.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_DOUBLE_EQ(got[i], golden[i].get<double>());
}

void expect_us(const json& golden, std::optional<std::uint16_t> got) {
    if (golden.is_null()) {
        EXPECT_FALSE(got.has_value());
        return;
    }
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, golden.get<int>());
}

void check_pixels(const json& g, const DicomDataset& ds) {
    const DicomElement* pixels = ds.find(k_tag_pixel_data);
    if (g.is_null()) {
        EXPECT_EQ(pixels, nullptr);
        return;
    }
    ASSERT_NE(pixels, nullptr);
    ASSERT_EQ(pixels->encapsulated != nullptr, g["encapsulated"].get<bool>());
    if (!pixels->encapsulated) {
        const ByteSpan v = ds.value(*pixels);
        EXPECT_EQ(v.size, g["length"].get<std::size_t>());
        EXPECT_EQ(crc32(v.data, v.size), g["crc32"].get<std::uint32_t>());
        return;
    }
    EXPECT_EQ(pixels->encapsulated->offset_table, g["offset_table"].get<std::vector<std::uint32_t>>());
    const auto& fragments = pixels->encapsulated->fragments;
    ASSERT_EQ(fragments.size(), g["fragments"].size());
    for (std::size_t i = 0; i < fragments.size(); ++i) {
        EXPECT_EQ(fragments[i].length, g["fragments"][i][0].get<std::size_t>());
        EXPECT_EQ(crc32(ds.bytes().data + fragments[i].offset, fragments[i].length),
                  g["fragments"][i][1].get<std::uint32_t>());
    }
    const auto frames = encapsulated_frames(ds);
    ASSERT_EQ(frames.size(), g["frame_lengths"].size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
        std::size_t length = 0;
        for (const DicomFragment& f : frames[i]) length += f.length;
        EXPECT_EQ(length, g["frame_lengths"][i].get<std::size_t>());
    }
}

// Enhanced CT: (5200,9230) -> item -> (0020,9113) -> item -> (0020,0032), and the shared groups.
void check_enhanced(const json& g, const DicomDataset& ds) {
    if (g.is_null()) return;
    const auto& frames = ds.items(dicom_tag(0x5200, 0x9230));
    ASSERT_EQ(frames.size(), g["per_frame_ipp"].size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto& plane = frames[i].items(dicom_tag(0x0020, 0x9113));
        ASSERT_EQ(plane.size(), 1u);
        expect_numbers(g["per_frame_ipp"][i], plane[0].numbers(dicom_tag(0x0020, 0x0032)));
    }
    const auto& shared = ds.items(dicom_tag(0x5200, 0x9229));
    ASSERT_EQ(shared.size(), 1u);
    const auto& transform = shared[0].items(dicom_tag(0x0028, 0x9145));
    ASSERT_EQ(transform.size(), 1u);
    expect_numbers(json::array({g["rescale"][0]}), transform[0].numbers(dicom_tag(0x0028, 0x1052)));
    expect_numbers(json::array({g["rescale"][1]}), transform[0].numbers(dicom_tag(0x0028, 0x1053)));
    expect_numbers(g["pixel_spacing"],
                   shared[0].items(dicom_tag(0x0028, 0x9110)).at(0).numbers(dicom_tag(0x0028, 0x0030)));
    expect_numbers(g["orientation"],
                   shared[0].items(dicom_tag(0x0020, 0x9116)).at(0).numbers(dicom_tag(0x0020, 0x0037)));
}

void check_file(const json& g) {
    const std::string bytes = read_data(g["file"].get<std::string>());
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    if (!g["dicom"].get<bool>()) {
        EXPECT_FALSE(looks_like_dicom(data, bytes.size()));
        EXPECT_THROW(parse_dicom(data, bytes.size(), "x"), InputError);
        return;
    }
    EXPECT_TRUE(looks_like_dicom(data, bytes.size()));
    const ParsedDicom p = parse_dicom(data, bytes.size(), g["file"].get<std::string>());
    const DicomDataset& ds = p.dataset();
    EXPECT_EQ(p.transfer_syntax().uid, g["transfer_syntax"].get<std::string>());
    EXPECT_FALSE(p.transfer_syntax().guessed);
    EXPECT_EQ(p.has_preamble(), g["preamble"].get<bool>());
    EXPECT_EQ(p.meta().elements().size(), g["meta_elements"].get<std::size_t>());
    EXPECT_EQ(ds.elements().size(), g["top_elements"].get<std::size_t>());
    EXPECT_EQ(count_elements(ds), g["all_elements"].get<std::size_t>());
    expect_us(g["rows"], ds.us(dicom_tag(0x0028, 0x0010)));
    expect_us(g["columns"], ds.us(dicom_tag(0x0028, 0x0011)));
    expect_us(g["bits_allocated"], ds.us(dicom_tag(0x0028, 0x0100)));
    expect_us(g["pixel_representation"], ds.us(dicom_tag(0x0028, 0x0103)));
    expect_numbers(g["rescale_intercept"], ds.numbers(dicom_tag(0x0028, 0x1052)));
    expect_numbers(g["rescale_slope"], ds.numbers(dicom_tag(0x0028, 0x1053)));
    expect_numbers(g["ipp"], ds.numbers(dicom_tag(0x0020, 0x0032)));
    EXPECT_EQ(ds.string(dicom_tag(0x0020, 0x000e)),
              g["series_uid"].is_null() ? "" : g["series_uid"].get<std::string>());
    if (!g["frames"].is_null()) expect_numbers(json::array({g["frames"]}), ds.numbers(k_tag_number_of_frames));
    check_pixels(g["pixel_data"], ds);
    check_enhanced(g["enhanced"], ds);
}

TEST(DicomParser, EveryRealFileReadsAsPydicomReadsIt) {
    const json golden = test::read_json(test::source_dir() / "tests" / "data" / "dicom_parser_golden.json");
    ASSERT_GE(golden["files"].size(), 100u);
    for (const json& g : golden["files"]) {
        SCOPED_TRACE(g["file"].get<std::string>());
        check_file(g);
    }
}

TEST(DicomParser, EnhancedCtFramesAndQuirkFiles) {
    const Parsed ect(read_data("dicom-quirks/pydicom-data/eCT_Supplemental.dcm"));
    const auto& frames = ect->dataset().items(dicom_tag(0x5200, 0x9230));
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1].items(dicom_tag(0x0020, 0x9113)).at(0).numbers(dicom_tag(0x0020, 0x0032)),
              (std::vector<double>{99.5, -301.5, -149.0}));
    EXPECT_EQ(frames[0].items(dicom_tag(0x0020, 0x9111)).at(0).ul(dicom_tag(0x0020, 0x9157), 1), 2u);

    // A sequence hidden in a defined-length UN (implicit VR inside) stays bytes.
    const Parsed bad(read_data("dicom-quirks/pydicom-data/bad_sequence.dcm"));
    const DicomElement* phantom = bad->dataset().find(dicom_tag(0x0018, 0x9346));
    ASSERT_NE(phantom, nullptr);
    EXPECT_TRUE(phantom->has_vr("UN"));
    EXPECT_FALSE(phantom->sequence);
    EXPECT_EQ(phantom->value_length, 68u);
    EXPECT_EQ(bad->dataset().items(dicom_tag(0x0008, 0x9215)).size(), 1u);

    // Known tags encoded as UN read as their text.
    const Parsed un(read_data("dicom-quirks/pydicom-data/explicit_VR-UN.dcm"));
    EXPECT_TRUE(un->dataset().find(dicom_tag(0x0020, 0x0032))->has_vr("UN"));
    EXPECT_EQ(un->dataset().numbers(dicom_tag(0x0020, 0x0032)), (std::vector<double>{0, 0, -121}));
    EXPECT_EQ(un->dataset().string(dicom_tag(0x0008, 0x0060)), "CT");
}

// The same values with the preamble cut off, then with the meta header cut off too.
void check_without_framing(const std::string& file, bool implicit_vr) {
    SCOPED_TRACE(file);
    const std::string bytes = read_data(file);
    const Parsed full(bytes);
    const auto same = [&](const ParsedDicom& p) {
        EXPECT_FALSE(p.has_preamble());
        EXPECT_EQ(p.transfer_syntax().implicit_vr, implicit_vr);
        EXPECT_EQ(p.dataset().elements().size(), full->dataset().elements().size());
        EXPECT_EQ(p.dataset().string(dicom_tag(0x0020, 0x000e)), full->dataset().string(dicom_tag(0x0020, 0x000e)));
        EXPECT_EQ(p.dataset().numbers(dicom_tag(0x0020, 0x0032)), full->dataset().numbers(dicom_tag(0x0020, 0x0032)));
        EXPECT_EQ(p.dataset().us(dicom_tag(0x0028, 0x0010)), full->dataset().us(dicom_tag(0x0028, 0x0010)));
    };
    const std::string no_preamble = bytes.substr(132);
    EXPECT_TRUE(looks_like_dicom(reinterpret_cast<const std::uint8_t*>(no_preamble.data()), no_preamble.size()));
    const Parsed meta_first(no_preamble);
    same(*meta_first);
    EXPECT_FALSE(meta_first->transfer_syntax().guessed);
    const std::string dataset_only = bytes.substr(full->dataset_offset());
    EXPECT_TRUE(looks_like_dicom(reinterpret_cast<const std::uint8_t*>(dataset_only.data()), dataset_only.size()));
    const Parsed bare(dataset_only);
    same(*bare);
    EXPECT_TRUE(bare->transfer_syntax().guessed);
    EXPECT_TRUE(bare->meta().elements().empty());
}

TEST(DicomParser, FilesWithoutPreambleOrMetaHeader) {
    check_without_framing("ct/ge-head-tilt/01.dcm", false);
    check_without_framing("ct/pancreas-ct-cb-001/1-026.dcm", true);
    check_without_framing("dicom-quirks/pydicom-data/eCT_Supplemental.dcm", false);
}

TEST(DicomParser, FirstElementOverridesAMislabelledVrEncoding) {
    for (const auto& [file, implicit_vr] :
         {std::pair{"ct/ge-head-tilt/01.dcm", false}, {"ct/pancreas-ct-cb-001/1-026.dcm", true}}) {
        const std::string bytes = read_data(file);
        const Parsed original(bytes);
        const Parsed mislabelled(
            part10(implicit_vr ? k_explicit : "1.2.840.10008.1.2", bytes.substr(original->dataset_offset())));
        EXPECT_EQ(mislabelled->transfer_syntax().implicit_vr, implicit_vr);
        EXPECT_TRUE(mislabelled->transfer_syntax().guessed);
        EXPECT_EQ(mislabelled->dataset().elements().size(), original->dataset().elements().size());
        EXPECT_EQ(mislabelled->dataset().us(dicom_tag(0x0028, 0x0010)),
                  original->dataset().us(dicom_tag(0x0028, 0x0010)));
    }
}

TEST(DicomParser, ContentDetectionRefusesGarbage) {
    const auto looks = [](const std::string& s) {
        return looks_like_dicom(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    };
    EXPECT_FALSE(looks(""));
    EXPECT_FALSE(looks("hello, this is a text file\n"));
    EXPECT_FALSE(looks(read_data("dicom/README.md")));
    // Group 0008 but an unknown VR and, read as implicit VR, a length past the end.
    const std::string garbage = Writer().u16(0x0008).u16(0x0005).raw("XX").u16(10).raw("ISO_IR 100").out;
    EXPECT_FALSE(looks(garbage));
    EXPECT_NE(error_of(garbage).find("not a DICOM file"), std::string::npos);
    // A plausible element whose value runs past the end.
    EXPECT_FALSE(looks(Writer().head(0x0008, 0x0005, "CS", 40).raw("ISO_IR 100").out));
    std::mt19937 random(12345);
    int taken = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string s(64 + random() % 512, '\0');
        for (char& c : s) c = static_cast<char>(random());
        taken += looks(s);
    }
    EXPECT_EQ(taken, 0);
}

TEST(DicomParser, ImplicitAndExplicitSequencesAndUn) {
    Writer w(true);  // implicit VR: (0020,9113) is known as SQ, defined lengths
    Writer item(true);
    item.el(0x0020, 0x0032, "DS", "1\\2\\3 ");
    w.el(0x0008, 0x0060, "CS", "CT")
        .head(0x0020, 0x9113, "SQ", static_cast<std::uint32_t>(item.out.size() + 8))
        .item(static_cast<std::uint32_t>(item.out.size()))
        .raw(item.out);
    w.head(0x0029, 0x1010, "UN", k_undefined).item().el(0x0029, 0x0010, "LO", "PRIV").item_end().seq_end();  // private
    const Parsed p(part10("1.2.840.10008.1.2", w.out));
    EXPECT_EQ(p->dataset().items(dicom_tag(0x0020, 0x9113)).at(0).numbers(dicom_tag(0x0020, 0x0032)),
              (std::vector<double>{1, 2, 3}));
    EXPECT_EQ(p->dataset().items(dicom_tag(0x0029, 0x1010)).at(0).string(dicom_tag(0x0029, 0x0010)), "PRIV");

    // Explicit VR: an undefined-length UN holds implicit VR items; an odd length is taken as written.
    Writer e;
    e.el(0x0008, 0x0060, "CS", "CT").el(0x0009, 0x0010, "LO", "odd").head(0x0009, 0x1001, "UN", k_undefined);
    e.item().raw(Writer(true).el(0x0009, 0x0010, "LO", "IN").out).item_end().seq_end().el(0x0010, 0x0010, "PN", "A^B ");
    const Parsed q(part10(k_explicit, e.out));
    EXPECT_EQ(q->dataset().string(dicom_tag(0x0009, 0x0010)), "odd");
    EXPECT_EQ(q->dataset().items(dicom_tag(0x0009, 0x1001)).at(0).string(dicom_tag(0x0009, 0x0010)), "IN");
    EXPECT_EQ(q->dataset().string(dicom_tag(0x0010, 0x0010)), "A^B");
}

TEST(DicomParser, BigEndianIsByteSwapped) {
    Writer w(false, true);
    Writer item(false, true);
    item.el(0x0020, 0x0032, "DS", "-1.5\\2\\+3e1").el(0x0028, 0x0106, "SS", Writer(false, true).u16(0xfffe).out);
    w.el(0x0020, 0x000e, "UI", bytes_of("1.2.3\0"))
        .head(0x0020, 0x9113, "SQ", k_undefined)
        .item()
        .raw(item.out)
        .item_end()
        .seq_end();
    w.el(0x0028, 0x0010, "US", Writer(false, true).u16(512).out)
        .el(0x0028, 0x9999, "SL", Writer(false, true).u32(0xfffffff0).out);
    const Parsed p(part10("1.2.840.10008.1.2.2", w.out));
    EXPECT_TRUE(p->transfer_syntax().big_endian);
    EXPECT_EQ(p->dataset().us(dicom_tag(0x0028, 0x0010)), 512);
    EXPECT_EQ(p->dataset().sl(dicom_tag(0x0028, 0x9999)), -16);
    EXPECT_EQ(p->dataset().string(dicom_tag(0x0020, 0x000e)), "1.2.3");
    const DicomDataset& plane = p->dataset().items(dicom_tag(0x0020, 0x9113)).at(0);
    EXPECT_EQ(plane.numbers(dicom_tag(0x0020, 0x0032)), (std::vector<double>{-1.5, 2, 30}));
    EXPECT_EQ(plane.ss(dicom_tag(0x0028, 0x0106)), -2);
}

// Raw deflate by hand (the test links no zlib): fixed Huffman codes, literals and
// length-258 distance-1 repeats.
class Deflater {
public:
    void literal(std::uint8_t v) { v < 144 ? code(0x30u + v, 8) : code(0x190u + (v - 144u), 9); }
    void repeat_258() { code(0xc5, 8), code(0, 5); }  // length code 285, distance code 0
    std::string finish() {
        code(0, 7);  // end of block
        if (m_bits) m_out += static_cast<char>(m_acc);
        return m_out;
    }
    Deflater() { bit(1), bit(1), bit(0); }  // final block, fixed Huffman

private:
    void code(std::uint32_t c, int n) {
        for (int i = n - 1; i >= 0; --i) bit((c >> i) & 1u);
    }
    void bit(std::uint32_t b) {
        m_acc |= b << m_bits;
        if (++m_bits == 8) m_out += static_cast<char>(m_acc), m_acc = 0, m_bits = 0;
    }
    std::string m_out;
    std::uint32_t m_acc = 0;
    int m_bits = 0;
};

std::string deflate_literals(const std::string& bytes) {
    Deflater d;
    for (const char c : bytes) d.literal(static_cast<std::uint8_t>(c));
    return d.finish();
}

TEST(DicomParser, DeflatedDatasetIsInflatedWithACap) {
    const std::string plain = read_data("ct/ge-head-tilt/01.dcm");
    const Parsed original(plain);
    const std::string dataset = plain.substr(original->dataset_offset());
    const Parsed deflated(part10(k_deflated, deflate_literals(dataset)));
    EXPECT_TRUE(deflated->transfer_syntax().deflated);
    ASSERT_EQ(deflated->bytes().size, dataset.size());
    EXPECT_EQ(deflated->dataset().elements().size(), original->dataset().elements().size());
    EXPECT_EQ(deflated->dataset().numbers(dicom_tag(0x0020, 0x0032)),
              original->dataset().numbers(dicom_tag(0x0020, 0x0032)));
    const DicomElement* pixels = deflated->dataset().find(k_tag_pixel_data);
    ASSERT_NE(pixels, nullptr);
    EXPECT_EQ(
        std::string(reinterpret_cast<const char*>(deflated->bytes().data + pixels->value_offset), pixels->value_length),
        dataset.substr(pixels->value_offset, pixels->value_length));

    // A stream starting 02 00 (an empty fixed block, an empty stored block) is no meta element.
    const Parsed odd_start(part10(k_deflated, bytes_of("\x02\x00\x00\x00\xff\xff") + deflate_literals(dataset)));
    EXPECT_EQ(odd_start->bytes().size, dataset.size());

    Deflater bomb;  // ~6.5 KB that inflate to 10 MB of zeros
    bomb.literal(0);
    for (int i = 0; i < 40000; ++i) bomb.repeat_258();
    EXPECT_NE(error_of(part10(k_deflated, bomb.finish())).find("refusing"), std::string::npos);
    const std::string stream = deflate_literals(dataset.substr(0, 4000));
    EXPECT_NE(error_of(part10(k_deflated, stream.substr(0, 2000))).find("truncated"), std::string::npos);
    EXPECT_NE(error_of(part10(k_deflated, std::string("\x07\x00\x00", 3))).find("corrupt"), std::string::npos);
}

TEST(DicomParser, HostileLengthsAreRefused) {
    const auto refused = [](const std::string& bytes, const std::string& words) {
        const std::string error = error_of(bytes);
        EXPECT_NE(error.find(words), std::string::npos) << "error was: " << error;
        EXPECT_EQ(error.find('\n'), std::string::npos);
    };
    Writer huge;
    huge.el(0x0008, 0x0060, "CS", "CT").head(0x0010, 0x0010, "OB", 0xfffffff0u).raw("abcd");
    refused(part10(k_explicit, huge.out),
            "DICOM element (0010,0010) at byte 196 claims 4294967280 bytes but the file ends at byte 212");
    Writer bot;
    bot.head(0x7fe0, 0x0010, "OB", k_undefined).item(0x7ffffff0u).raw("abcd");
    refused(part10(k_jpeg, bot.out),
            "Basic Offset Table at byte 200 claims 2147483632 bytes but the file ends at byte 212");
    Writer fragment;
    fragment.head(0x7fe0, 0x0010, "OB", k_undefined)
        .item(0)
        .item(4)
        .raw("abcd")
        .item(4)
        .raw("efgh")
        .item(100)
        .raw("ab");
    refused(part10(k_jpeg, fragment.out), "encapsulated pixel data: fragment 3 at byte 232 runs past the end");
    Writer native;
    native.head(0x7fe0, 0x0010, "OW", k_undefined).item(0).item(2).raw("ab").seq_end();
    refused(part10(k_explicit, native.out), "not a compressed one");
    Writer open;
    open.head(0x5200, 0x9230, "SQ", k_undefined).item().el(0x0020, 0x0032, "DS", "1\\2\\3 ").item_end();
    refused(part10(k_explicit, open.out),
            "sequence (5200,9230) at byte 186 is not terminated (the file ends inside it");
    Writer open_item;
    open_item.head(0x5200, 0x9230, "SQ", k_undefined).item().el(0x0020, 0x0032, "DS", "1\\2\\3 ");
    refused(part10(k_explicit, open_item.out), "item 1 of sequence (5200,9230)");
    Writer undefined_text;
    undefined_text.head(0x0008, 0x103e, "LT", 0xffff).raw("x");
    refused(part10(k_explicit, undefined_text.out), "claims 65535 bytes");
    refused(part10(k_explicit, Writer().el(0x0008, 0x0060, "CS", "CT").raw(bytes_of("\x10\x00\x10\x00PN")).out),
            "truncated DICOM file: it ends inside the element header at byte 196");
    refused(
        part10(k_explicit, Writer().el(0x0008, 0x0060, "CS", "CT").raw(bytes_of("\x10\x00\x10\x00pn\x02\x00AB")).out),
        "invalid VR \"pn\"");
    refused(part10(k_explicit, Writer().el(0x0008, 0x0060, "CS", "CT").item_end().out),
            "unexpected delimiter (FFFE,E00D)");
    refused(part10(k_explicit, "").substr(0, 150), "truncated");
}

TEST(DicomParser, NestingAndElementCountAreBounded) {
    Writer deep;
    for (int i = 0; i < 10000; ++i) deep.head(0x0008, 0x1115, "SQ", k_undefined).item();
    EXPECT_NE(error_of(part10(k_explicit, deep.out)).find("nested more than 32 deep"), std::string::npos);
    Writer ok;
    for (int i = 0; i < 31; ++i) ok.head(0x0008, 0x1115, "SQ", k_undefined).item();
    for (int i = 0; i < 31; ++i) ok.item_end().seq_end();
    EXPECT_EQ(error_of(part10(k_explicit, ok.out)), "");
    Writer many;
    for (int i = 0; i < 100; ++i) many.el(0x0009, static_cast<std::uint16_t>(0x1000 + i), "LO", "ab");
    DicomLimits limits;
    limits.max_elements = 50;
    EXPECT_NE(error_of(part10(k_explicit, many.out), limits).find("more than 50 DICOM elements"), std::string::npos);
}

TEST(DicomParser, TagOrderPaddingAndRepeats) {
    Writer unordered;
    unordered.el(0x0020, 0x000e, "UI", "1.2").el(0x0008, 0x0060, "CS", "CT").el(0x0028, 0x0010, "US", le16(64));
    const Parsed p(part10(k_explicit, unordered.out + std::string(7, '\0')));  // and zero padding
    EXPECT_FALSE(p->dataset().in_file_order());
    EXPECT_EQ(p->dataset().elements().front().tag, dicom_tag(0x0008, 0x0060));
    EXPECT_EQ(p->dataset().string(dicom_tag(0x0020, 0x000e)), "1.2");
    EXPECT_EQ(p->dataset().us(dicom_tag(0x0028, 0x0010)), 64);
    Writer twice;
    twice.el(0x0008, 0x0060, "CS", "CT").el(0x0008, 0x0060, "CS", "MR");
    EXPECT_NE(error_of(part10(k_explicit, twice.out)).find("(0008,0060) appears twice"), std::string::npos);
    Writer twice_apart;
    twice_apart.el(0x0008, 0x0060, "CS", "CT").el(0x0008, 0x0050, "SH", "").el(0x0008, 0x0060, "CS", "MR");
    EXPECT_NE(error_of(part10(k_explicit, twice_apart.out)).find("(0008,0060) appears twice"), std::string::npos);
    EXPECT_NE(error_of(part10(k_explicit, unordered.out + "\x01\x02")).find("truncated"), std::string::npos);
}

TEST(DicomParser, EncapsulatedFramesFromTablesCountsOrMarkers) {
    const auto frames_of = [](const Writer& pixels, const std::string& frames, const std::string& extra = "") {
        Writer w;
        w.el(0x0028, 0x0008, "IS", frames).raw(extra).head(0x7fe0, 0x0010, "OB", k_undefined).raw(pixels.out).seq_end();
        const Parsed p(part10(k_jpeg, w.out));
        std::vector<std::vector<std::size_t>> out;
        for (const auto& frame : encapsulated_frames(p->dataset())) {
            out.emplace_back();
            for (const DicomFragment& f : frame) out.back().push_back(f.length);
        }
        return out;
    };
    using Lengths = std::vector<std::vector<std::size_t>>;
    Writer bot;  // frame 2 starts at the third fragment item: 12 + 10 bytes after the first
    bot.item(8)
        .u32(0)
        .u32(22)
        .item(4)
        .raw(bytes_of("\xff\xd8\xff\x00"))
        .item(2)
        .raw("ab")
        .item(6)
        .raw(bytes_of("\xff\xd8\xff\x00xy"));
    EXPECT_EQ(frames_of(bot, "2 "), (Lengths{{4, 2}, {6}}));
    Writer no_table;
    no_table.item(0)
        .item(4)
        .raw(bytes_of("\xff\xd8\xff\x00"))
        .item(2)
        .raw("ab")
        .item(6)
        .raw(bytes_of("\xff\xd8\xff\x00xy"));
    EXPECT_EQ(frames_of(no_table, "2 "), (Lengths{{4, 2}, {6}}));  // by JPEG start markers
    EXPECT_EQ(frames_of(no_table, "3 "), (Lengths{{4}, {2}, {6}}));
    EXPECT_EQ(frames_of(no_table, "1 "), (Lengths{{4, 2, 6}}));
    const std::string extended = Writer().head(0x7fe0, 0x0001, "OV", 16).u32(0).u32(0).u32(12).u32(0).out;
    Writer plain;
    plain.item(0).item(4).raw("abcd").item(2).raw("ab").item(6).raw("abcdef");
    EXPECT_EQ(frames_of(plain, "2 ", extended), (Lengths{{4}, {2, 6}}));
    EXPECT_THROW(frames_of(plain, "2 "), InputError);  // nothing decides
    Writer off;
    off.item(8).u32(0).u32(5).item(4).raw("abcd").item(2).raw("ab");
    EXPECT_THROW(frames_of(off, "2 "), InputError);  // points inside a fragment
    EXPECT_THROW(frames_of(plain, "4 "), InputError);
    EXPECT_THROW(frames_of(plain, "x "), InputError);
}

// Every element, item and fragment of a parse lies inside its buffer, and reading any
// value stays inside.
void check_bounds(const DicomDataset& ds) {
    for (const DicomElement& e : ds.elements()) {
        ASSERT_LE(e.value_offset + e.value_length, ds.bytes().size);
        if (e.value_length < 4096) (void)ds.string(e.tag), (void)ds.numbers(e.tag);
        (void)ds.us(e.tag, 3), (void)ds.sl(e.tag, 1);
        if (e.encapsulated) {
            for (const DicomFragment& f : e.encapsulated->fragments) ASSERT_LE(f.offset + f.length, ds.bytes().size);
        }
        for (const DicomDataset& item : e.items) check_bounds(item);
    }
}

struct Outcome {
    int parsed = 0;
    int refused = 0;
};

void parse_or_refuse(const std::uint8_t* data, std::size_t size, Outcome& outcome) {
    try {
        const ParsedDicom p = parse_dicom(data, size, "fuzz.dcm");
        check_bounds(p.dataset());
        if (p.dataset().contains(k_tag_pixel_data) && p.dataset().find(k_tag_pixel_data)->encapsulated) {
            try {
                (void)encapsulated_frames(p.dataset());
            } catch (const InputError&) {}
        }
        ++outcome.parsed;
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        ++outcome.refused;
    }
}

const std::array<const char*, 6> k_fuzzed = {"dicom-quirks/pydicom-data/eCT_Supplemental.dcm",
                                             "dicom-quirks/wg04-ct1/CT1_J2KR",
                                             "dicom-quirks/pydicom-data/bad_sequence.dcm",
                                             "dicom-quirks/pydicom-data/explicit_VR-UN.dcm",
                                             "ct/pancreas-ct-cb-001/1-026.dcm",
                                             "ct/ge-head-tilt/01.dcm"};

// Every length up to 2 KB, then about 400 more; each copy exactly its size.
void truncate_everywhere(const std::string& name, const std::string& bytes) {
    SCOPED_TRACE(name);
    Outcome outcome;
    const std::size_t stride =
        std::max<std::size_t>(1, (bytes.size() - std::min<std::size_t>(bytes.size(), 2048)) / 400);
    for (std::size_t n = 0; n < bytes.size(); n += n < 2048 ? 1 : stride) {
        const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        parse_or_refuse(cut.data(), cut.size(), outcome);
    }
    EXPECT_GT(outcome.refused, outcome.parsed * 10);  // only cuts between top-level elements parse
    std::printf("  %s: %d truncations refused, %d parsed\n", name.c_str(), outcome.refused, outcome.parsed);
}

TEST(DicomParser, EveryTruncationParsesOrIsRefused) {
    for (const char* file : k_fuzzed) truncate_everywhere(file, read_data(file));
    const std::string plain = read_data("ct/ge-head-tilt/01.dcm");
    const std::string dataset = plain.substr(Parsed(plain)->dataset_offset());
    truncate_everywhere("Deflated ge-head-tilt/01.dcm", part10(k_deflated, deflate_literals(dataset)));
}

// Where the structure is: the header up to the pixel value, plus the first bytes of the
// pixel data's items (Basic Offset Table and fragment headers).
std::vector<std::size_t> structural_bytes(const std::vector<std::uint8_t>& bytes) {
    const ParsedDicom p = parse_dicom(bytes.data(), bytes.size(), "");
    const DicomElement* pixels = p.dataset().find(k_tag_pixel_data);
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < (pixels ? pixels->value_offset + 16 : bytes.size()); ++i) out.push_back(i);
    if (pixels && pixels->encapsulated) {
        for (const DicomFragment& f : pixels->encapsulated->fragments)
            for (std::size_t i = f.offset - 8; i < f.offset + 4; ++i) out.push_back(i);
    }
    return out;
}

TEST(DicomParser, EveryHeaderMutationParsesOrIsRefused) {
    std::mt19937 random(2024);
    for (const char* file : k_fuzzed) {
        SCOPED_TRACE(file);
        const std::string original = read_data(file);
        std::vector<std::uint8_t> bytes(original.begin(), original.end());
        const std::vector<std::size_t> where = structural_bytes(bytes);
        Outcome outcome;
        const auto mutate = [&](std::size_t at, std::uint8_t value) {
            const std::uint8_t keep = bytes[at];
            bytes[at] = value;
            parse_or_refuse(bytes.data(), bytes.size(), outcome);
            bytes[at] = keep;
        };
        for (const std::size_t at : where) {  // each byte zeroed, saturated, and two of its bits flipped
            const std::uint8_t b = bytes[at];
            for (const std::uint8_t v : {std::uint8_t{0x00}, std::uint8_t{0xff}, std::uint8_t(b ^ (1u << (at % 8))),
                                         std::uint8_t(b ^ (1u << ((at + 3) % 8)))})
                mutate(at, v);
        }
        for (int trial = 0; trial < 2000; ++trial) {  // several bytes at once
            std::vector<std::size_t> changed(1 + random() % 6);
            for (std::size_t& at : changed) at = where[random() % where.size()];
            for (const std::size_t at : changed) bytes[at] = static_cast<std::uint8_t>(random());
            parse_or_refuse(bytes.data(), bytes.size(), outcome);
            for (const std::size_t at : changed) bytes[at] = static_cast<std::uint8_t>(original[at]);
        }
        EXPECT_GT(outcome.refused, 0);
        std::printf("  %s: %zu structural bytes, %d mutations refused, %d parsed\n", file, where.size(),
                    outcome.refused, outcome.parsed);
    }
}

}  // namespace
}  // namespace lessmore
