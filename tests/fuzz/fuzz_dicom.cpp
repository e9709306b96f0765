// libFuzzer target: lessmore's own DICOM parser (io/dicom_parser.hpp) on any bytes, every
// accessor a reader may call on what it returns, the encapsulated frames, and
// read_dicom_file (io/dicom_file.hpp): header fields, frames, the pixel checks and the
// conversion of native pixel data. Properties: no sanitizer report; every span the parser
// hands out lies inside the bytes it describes; a refusal is one InputError of one line;
// an image read without error has exactly rows x columns x frames values.
#include "fuzz_support.hpp"

#include "io/dicom_file.hpp"
#include "io/dicom_parser.hpp"
#include "io/dicom_values.hpp"

#include <lessmore/decoder_pool.hpp>
#include <lessmore/error.hpp>

#include <cstring>
#include <vector>

namespace {

using namespace lessmore;

volatile std::uint8_t g_sink;

bool inside(ByteSpan whole, const std::uint8_t* p, std::size_t n) {
    return p >= whole.data && n <= whole.size && static_cast<std::size_t>(p - whole.data) <= whole.size - n;
}

// Every element's value and every accessor, in every item of every sequence.
void visit(const DicomDataset& ds) {
    const ByteSpan whole = ds.bytes();
    for (const DicomElement& e : ds.elements()) {
        const ByteSpan v = ds.value(e);
        LESSMORE_FUZZ_CHECK(inside(whole, v.data, v.size));
        g_sink = fuzz::touch(v.data, v.size);
        (void)ds.string(e.tag);
        (void)ds.numbers(e.tag);
        (void)ds.us(e.tag, 1);
        (void)ds.ul(e.tag);
        (void)ds.ss(e.tag);
        (void)ds.sl(e.tag, 2);
        (void)ds.items(e.tag);
        if (e.encapsulated) {
            for (const DicomFragment& f : e.encapsulated->fragments) {
                LESSMORE_FUZZ_CHECK(f.offset <= whole.size && f.length <= whole.size - f.offset);
                g_sink = fuzz::touch(whole.data + f.offset, f.length);
            }
        }
        for (const DicomDataset& item : e.items) visit(item);
    }
}

void parse_in_memory(const std::uint8_t* data, std::size_t size) {
    (void)looks_like_dicom(data, size);
    try {
        const ParsedDicom parsed = parse_dicom(data, size, "fuzz.dcm");
        LESSMORE_FUZZ_CHECK(parsed.transfer_syntax().deflated ||
                            inside({data, size}, parsed.bytes().data, parsed.bytes().size));
        visit(parsed.meta());
        visit(parsed.dataset());
        try {
            for (const auto& frame : encapsulated_frames(parsed.dataset())) {
                for (const DicomFragment& f : frame) {
                    LESSMORE_FUZZ_CHECK(f.offset <= parsed.bytes().size && f.length <= parsed.bytes().size - f.offset);
                }
            }
        } catch (const InputError& e) {
            fuzz::check_message(e.what());
        }
    } catch (const InputError& e) {
        fuzz::check_message(e.what());
    }
}

// A header-only read against the whole read of the same file: the same header fields, and
// the same error wherever the whole read failed before the pixel values (native data has
// no later step that can fail; compressed data is always read whole by a header pass).
template <typename T>
bool same_bits(const T& a, const T& b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

void same_header(const DicomFile& h, const DicomFile& f) {
    LESSMORE_FUZZ_CHECK(h.error.empty() || h.error == f.error);
    if (!h.error.empty() || !f.error.empty()) return;
    LESSMORE_FUZZ_CHECK(h.skip == f.skip && h.skip_reason == f.skip_reason && h.header_ok == f.header_ok);
    LESSMORE_FUZZ_CHECK(h.series_uid == f.series_uid && h.patient_id == f.patient_id && h.sop_uid == f.sop_uid);
    LESSMORE_FUZZ_CHECK(h.rows == f.rows && h.columns == f.columns && h.frames.size() == f.frames.size());
    LESSMORE_FUZZ_CHECK(h.type == f.type && h.instance == f.instance &&
                        h.value_range.has_value() == f.value_range.has_value());
    if (h.value_range) LESSMORE_FUZZ_CHECK(same_bits(*h.value_range, *f.value_range));
    for (std::size_t k = 0; k < h.frames.size(); ++k) {
        const DicomFrame& a = h.frames[k];
        const DicomFrame& b = f.frames[k];
        LESSMORE_FUZZ_CHECK(a.position.has_value() == b.position.has_value() && same_bits(a.slope, b.slope) &&
                            same_bits(a.intercept, b.intercept));
        if (a.position) LESSMORE_FUZZ_CHECK(same_bits(*a.position, *b.position));
    }
}

void read_as_file(const std::uint8_t* data, std::size_t size) {
    static DecoderPool decoders("", 1);
    const auto path = fuzz::scratch() / "fuzz.dcm";
    fuzz::write_file(path, data, size);
    for (const bool localizers : {false, true}) {
        DicomReadOptions options;
        options.include_localizers = localizers;
        const DicomFile f = read_dicom_file(path, "fuzz.dcm", decoders, options);
        // A header pass (with a tiny prefix, so it skips the pixel values of any file over
        // 64 bytes where it can) sees what a whole read sees.
        options.headers_only = true;
        options.header_prefix = 32;
        same_header(read_dicom_file(path, "fuzz.dcm", decoders, options), f);
        options.headers_only = false;
        if (!f.error.empty()) {
            fuzz::check_message(f.error.c_str());
            continue;
        }
        if (f.skip) continue;
        const std::size_t pixels = static_cast<std::size_t>(f.rows) * static_cast<std::size_t>(f.columns);
        LESSMORE_FUZZ_CHECK(!f.frames.empty());
        LESSMORE_FUZZ_CHECK(f.values.size() == pixels * f.frames.size() * voxel_size(f.type));
        // Converted straight into a slice buffer of the widest type (what a series stream
        // does): exactly the same values, and not a byte outside the buffer (ASan).
        if (f.frames.size() != 1) continue;
        std::vector<std::byte> slice(pixels * sizeof(double));
        const ValuesDestination into{slice.data(), VoxelType::Float64, f.rows, f.columns};
        options.values_into = into;
        const DicomFile g = read_dicom_file(path, "fuzz.dcm", decoders, options);
        LESSMORE_FUZZ_CHECK(g.error.empty() && g.values_in_place && g.values.empty());
        Bytes widened = f.values;
        widen_values(widened, f.type, VoxelType::Float64);
        LESSMORE_FUZZ_CHECK(std::memcmp(widened.data(), slice.data(), slice.size()) == 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parse_in_memory(data, size);
    read_as_file(data, size);
    return 0;
}
