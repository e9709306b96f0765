// One DICOM file. The whole file is read with one call and walked by lessmore's own
// validating parser (io/dicom_parser.hpp), so a damaged file is refused with a reason
// before any third-party code sees it; the image attributes are checked (docs/dicom.md,
// section "What makes a series fail"); uncompressed pixels are converted straight from
// the file's bytes, as pydicom's pixel_array reads them. Compressed pixel data goes to
// GDCM's decoders in a worker process (io/dicom_decode_task.cpp).
#include "io/dicom_file.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/number_format.hpp>

#include "io/codestream_header.hpp"
#include "io/dicom_parser.hpp"
#include "io/dicom_values.hpp"
#include "io/readers.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

namespace lessmore {
namespace {

constexpr DicomTag k_image_type = dicom_tag(0x0008, 0x0008);
constexpr DicomTag k_sop_class = dicom_tag(0x0008, 0x0016);
constexpr DicomTag k_sop_uid = dicom_tag(0x0008, 0x0018);
constexpr DicomTag k_modality = dicom_tag(0x0008, 0x0060);
constexpr DicomTag k_series_uid = dicom_tag(0x0020, 0x000e);
constexpr DicomTag k_study_uid = dicom_tag(0x0020, 0x000d);
constexpr DicomTag k_patient_id = dicom_tag(0x0010, 0x0020);
constexpr DicomTag k_series_number = dicom_tag(0x0020, 0x0011);
constexpr DicomTag k_position = dicom_tag(0x0020, 0x0032);
constexpr DicomTag k_orientation = dicom_tag(0x0020, 0x0037);
constexpr DicomTag k_instance = dicom_tag(0x0020, 0x0013);
constexpr DicomTag k_pixel_spacing = dicom_tag(0x0028, 0x0030);
constexpr DicomTag k_thickness = dicom_tag(0x0018, 0x0050);
constexpr DicomTag k_samples = dicom_tag(0x0028, 0x0002);
constexpr DicomTag k_photometric = dicom_tag(0x0028, 0x0004);
constexpr DicomTag k_palette_descriptor = dicom_tag(0x0028, 0x1101);  // Red Palette Color LUT Descriptor
constexpr DicomTag k_rows = dicom_tag(0x0028, 0x0010);
constexpr DicomTag k_columns = dicom_tag(0x0028, 0x0011);
constexpr DicomTag k_bits_allocated = dicom_tag(0x0028, 0x0100);
constexpr DicomTag k_bits_stored = dicom_tag(0x0028, 0x0101);
constexpr DicomTag k_pixel_representation = dicom_tag(0x0028, 0x0103);
constexpr DicomTag k_intercept = dicom_tag(0x0028, 0x1052);
constexpr DicomTag k_slope = dicom_tag(0x0028, 0x1053);
// Enhanced (multi-frame) objects: functional groups and the macros lessmore reads in them.
constexpr DicomTag k_shared_groups = dicom_tag(0x5200, 0x9229);
constexpr DicomTag k_per_frame_groups = dicom_tag(0x5200, 0x9230);
constexpr DicomTag k_plane_position = dicom_tag(0x0020, 0x9113);
constexpr DicomTag k_plane_orientation = dicom_tag(0x0020, 0x9116);
constexpr DicomTag k_pixel_measures = dicom_tag(0x0028, 0x9110);
constexpr DicomTag k_value_transformation = dicom_tag(0x0028, 0x9145);
constexpr DicomTag k_frame_type_sequence = dicom_tag(0x0018, 0x9329);  // CT Image Frame Type
constexpr DicomTag k_frame_type = dicom_tag(0x0008, 0x9007);

template <std::size_t N>
std::optional<std::array<double, N>> fixed_numbers(const DicomDataset& ds, DicomTag tag) {
    const auto v = ds.numbers(tag);
    if (v.size() != N || !std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); }))
        return std::nullopt;
    std::array<double, N> out{};
    std::copy(v.begin(), v.end(), out.begin());
    return out;
}

double number_or(const DicomDataset& ds, DicomTag tag, double fallback) {
    const auto v = ds.numbers(tag);
    return v.size() == 1 && std::isfinite(v[0]) ? v[0] : fallback;
}

void read_header_fields(const DicomDataset& ds, DicomFile& r) {
    r.series_uid = ds.string(k_series_uid);
    r.patient_id = ds.string(k_patient_id);
    r.study_uid = ds.string(k_study_uid);
    r.series_number = ds.string(k_series_number);
    r.sop_uid = ds.string(k_sop_uid);
    r.modality = ds.string(k_modality);
    const auto inst = ds.numbers(k_instance);
    if (inst.size() == 1 && std::isfinite(inst[0]) && std::fabs(inst[0]) < 1e15)
        r.instance = static_cast<long>(inst[0]);
    const auto spacing = ds.numbers(k_pixel_spacing);
    if (spacing.size() == 2 && spacing[0] > 0 && spacing[1] > 0 && std::isfinite(spacing[0]) &&
        std::isfinite(spacing[1])) {
        r.pixel_spacing = {spacing[0], spacing[1]};
    }
    const auto thick = ds.numbers(k_thickness);
    if (thick.size() == 1 && std::isfinite(thick[0])) r.thickness = thick[0];
    r.rows = ds.us(k_rows).value_or(0);
    r.columns = ds.us(k_columns).value_or(0);
    r.header_ok = true;
}

// A macro of an enhanced object's frame: in its per-frame item, else in the shared item.
const DicomDataset* macro(const DicomDataset* per_frame, const DicomDataset* shared, DicomTag tag) {
    for (const DicomDataset* group : {per_frame, shared}) {
        if (!group) continue;
        const auto& items = group->items(tag);
        if (!items.empty()) return &items.front();
    }
    return nullptr;
}

// The frames of the file and their geometry and rescale: one frame from the top-level
// attributes, or for an enhanced object each frame from its functional groups (docs/dicom.md,
// section "Multi-frame objects").
void read_frames(const DicomDataset& ds, DicomFile& r) {
    const auto count_field = ds.numbers(k_tag_number_of_frames);
    const double count = count_field.size() == 1 ? count_field[0] : 1.0;
    if (!(count >= 1 && count <= 100000 && std::floor(count) == count)) {
        throw InputError("NumberOfFrames " +
                         (count_field.empty() ? std::string("is malformed") : format_number(count)) +
                         " is not a whole number from 1 to 100000");
    }
    const auto n = static_cast<std::size_t>(count);
    const auto& shared_items = ds.items(k_shared_groups);
    const auto& per_frame = ds.items(k_per_frame_groups);
    if (per_frame.empty() && shared_items.empty()) {
        if (n > 1)
            throw InputError("multi-frame DICOM (" + std::to_string(n) +
                             " frames) without per-frame positions is not supported");
        DicomFrame f;
        f.position = fixed_numbers<3>(ds, k_position);
        f.orientation = fixed_numbers<6>(ds, k_orientation);
        f.slope = number_or(ds, k_slope, 1.0);
        f.intercept = number_or(ds, k_intercept, 0.0);
        r.frames.push_back(f);
        return;
    }
    if (per_frame.size() != n) {
        throw InputError("PerFrameFunctionalGroupsSequence has " + std::to_string(per_frame.size()) + " items for " +
                         std::to_string(n) + " frames");
    }
    const DicomDataset* shared = shared_items.empty() ? nullptr : &shared_items.front();
    for (std::size_t k = 0; k < n; ++k) {
        const DicomDataset* own = &per_frame[k];
        DicomFrame f;
        if (const DicomDataset* m = macro(own, shared, k_plane_position)) f.position = fixed_numbers<3>(*m, k_position);
        if (const DicomDataset* m = macro(own, shared, k_plane_orientation))
            f.orientation = fixed_numbers<6>(*m, k_orientation);
        if (const DicomDataset* m = macro(own, shared, k_value_transformation)) {
            f.slope = number_or(*m, k_slope, 1.0);
            f.intercept = number_or(*m, k_intercept, 0.0);
        }
        if (k == 0) {
            if (const DicomDataset* m = macro(own, shared, k_pixel_measures)) {
                const auto spacing = m->numbers(k_pixel_spacing);
                if (spacing.size() == 2 && spacing[0] > 0 && spacing[1] > 0) r.pixel_spacing = {spacing[0], spacing[1]};
                r.thickness = number_or(*m, k_thickness, r.thickness);
            }
        }
        if (!f.position || !f.orientation) {
            throw InputError("frame " + std::to_string(k + 1) + " has no " + (f.position ? "orientation" : "position") +
                             " in its functional groups");
        }
        r.frames.push_back(f);
    }
    // One stack: every frame in the same plane orientation.
    const auto& o = *r.frames.front().orientation;
    for (std::size_t k = 1; k < n; ++k) {
        const auto& ok = *r.frames[k].orientation;
        for (std::size_t i = 0; i < 6; ++i) {
            if (std::fabs(ok[i] - o[i]) > 1e-4) {
                throw InputError(
                    "frames 1 and " + std::to_string(k + 1) +
                    " have different orientations; a multi-frame object must be one stack of parallel slices");
            }
        }
    }
}

bool is_localizer(const DicomDataset& ds) {
    const std::string type = ds.string(k_image_type);
    if (type.find("LOCALIZER") != std::string::npos) return true;
    const auto& frame_types = ds.items(k_shared_groups);
    if (!frame_types.empty()) {
        const auto& ct_type = frame_types.front().items(k_frame_type_sequence);
        if (!ct_type.empty() && ct_type.front().string(k_frame_type).find("LOCALIZER") != std::string::npos)
            return true;
    }
    return false;
}

// Why an object of this SOP class is not a slice to reduce; "" for image classes.
std::string non_image_reason(const std::string& sop_class) {
    static constexpr std::pair<const char*, const char*> k_prefixes[] = {
        {"1.2.840.10008.5.1.4.1.1.88.", "a structured report or key object selection"},
        {"1.2.840.10008.5.1.4.1.1.481.", "an RT object (structure set, plan, dose or RT image)"},
        {"1.2.840.10008.5.1.4.1.1.11.", "a presentation state"},
        {"1.2.840.10008.5.1.4.1.1.66.4", "a segmentation"},
        {"1.2.840.10008.5.1.4.1.1.66.5", "a surface segmentation"},
        {"1.2.840.10008.5.1.4.1.1.66.", "a registration or fiducials object"},
        {"1.2.840.10008.5.1.4.1.1.104.", "an encapsulated document"},
        {"1.2.840.10008.5.1.4.1.1.9.", "a waveform"},
        {"1.2.840.10008.1.3.10", "a DICOMDIR"},
    };
    for (const auto& [prefix, reason] : k_prefixes)
        if (sop_class.rfind(prefix, 0) == 0) return reason;
    if (sop_class == "1.2.840.10008.5.1.4.1.1.66") return "raw data";
    return {};
}

// Grey images only (docs/dicom.md, section "Pixel data and transfer syntaxes"): MONOCHROME2, or
// MONOCHROME1, whose values are the same stored values (lessmore keeps values, not display
// polarity). A missing PhotometricInterpretation is read as MONOCHROME2, as GDCM does
// (pydicom refuses it), unless the file carries a palette. PALETTE COLOR with one sample
// holds palette indices, not values: refused as colour, like RGB and YBR.
void check_photometric(const DicomDataset& ds) {
    const std::string pi = ds.string(k_photometric);
    if (pi == "MONOCHROME2" || pi == "MONOCHROME1") return;
    if (pi.empty() && !ds.contains(k_palette_descriptor)) return;
    static constexpr const char* k_colour[] = {
        "PALETTE COLOR",   "RGB",     "ARGB",    "CMYK", "HSV", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422",
        "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT", "XYB"};
    for (const char* colour : k_colour)
        if (pi == colour)
            throw InputError("colour DICOM image (PhotometricInterpretation " + pi + ") is not supported");
    if (pi.empty())
        throw InputError("image without PhotometricInterpretation has a palette (Red Palette Color LUT Descriptor)");
    throw InputError("PhotometricInterpretation '" + pi + "' is not supported (MONOCHROME1 or MONOCHROME2)");
}

// The image attributes lessmore can read; throws InputError naming the one at fault.
StoredFormat checked_image(const ParsedDicom& parsed, const DicomFile& r) {
    const DicomDataset& ds = parsed.dataset();
    const int samples = ds.us(k_samples).value_or(1);
    if (samples != 1) {
        throw InputError("colour DICOM image (" + std::to_string(samples) + " samples per pixel) is not supported");
    }
    check_photometric(ds);
    if (r.rows <= 0 || r.columns <= 0) {
        throw InputError("image has " + std::to_string(r.rows) + " rows and " + std::to_string(r.columns) + " columns");
    }
    const auto bits = ds.us(k_bits_allocated);
    if (!bits || (*bits != 8 && *bits != 16 && *bits != 32)) {
        throw InputError("BitsAllocated " + (bits ? std::to_string(*bits) : std::string("is missing")) +
                         " is not supported (8, 16 or 32)");
    }
    const int stored = ds.us(k_bits_stored).value_or(*bits);
    if (stored < 1 || stored > *bits) {
        throw InputError("BitsStored " + std::to_string(stored) + " does not fit BitsAllocated " +
                         std::to_string(*bits));
    }
    const int representation = ds.us(k_pixel_representation).value_or(0);
    if (representation != 0 && representation != 1) {
        throw InputError("PixelRepresentation " + std::to_string(representation) + " is neither 0 nor 1");
    }
    const bool is_signed = representation == 1;
    StoredFormat f;
    f.type = *bits == 8    ? (is_signed ? StoredType::Int8 : StoredType::UInt8)
             : *bits == 16 ? (is_signed ? StoredType::Int16 : StoredType::UInt16)
                           : (is_signed ? StoredType::Int32 : StoredType::UInt32);
    f.bits_stored = stored;
    f.big_endian = parsed.transfer_syntax().big_endian;
    return f;
}

ValueRule rule_of(const DicomFile& r, const DicomFrame& f) {
    return {r.modality.empty() || r.modality == "CT", f.slope, f.intercept};
}

// Whether the values can go straight to `into`: one frame of its size whose values fit its
// type. Converting to a wider type gives the same values as converting to r.type and then
// widening (io/dicom_values.cpp computes each value wide and casts it once, and r.type holds
// every value the header allows).
bool fits(const ValuesDestination& into, const DicomFile& r) {
    return into.data && r.frames.size() == 1 && r.rows == into.rows && r.columns == into.columns &&
           wider_type(r.type, into.type) == into.type;
}

// Stored frames (one after another at raw) converted, each with its own rule: into
// `into` when it fits, else into r.values.
void convert_frames(const std::uint8_t* raw, const StoredFormat& format, const ValuesDestination& into, DicomFile& r) {
    const std::size_t n = static_cast<std::size_t>(r.rows) * static_cast<std::size_t>(r.columns);
    if (fits(into, r)) {
        convert_values(raw, n, format, rule_of(r, r.frames[0]), into.type, into.data);
        r.values_in_place = true;
        return;
    }
    const std::size_t out_size = voxel_size(r.type);
    r.values.resize(n * r.frames.size() * out_size);
    for (std::size_t k = 0; k < r.frames.size(); ++k) {
        convert_values(raw + k * n * stored_size(format.type), n, format, rule_of(r, r.frames[k]), r.type,
                       r.values.data() + k * n * out_size);
    }
}

// Each frame's codestream declares what the header says (docs/dicom.md, section "Compressed
// pixel data"): checked before the worker is asked, so a decoder never fills an image of
// the header's size from a smaller codestream, nor drops what does not fit.
void check_codestreams(const ParsedDicom& parsed, const std::vector<std::vector<DicomFragment>>& frames,
                       const StoredFormat& format, const DicomFile& r) {
    const auto kind = codestream_kind(parsed.transfer_syntax().uid);
    if (!kind)
        throw InputError("pixel data in " + transfer_syntax_text(parsed.transfer_syntax().uid) + " cannot be checked");
    const DeclaredImage header{r.rows, r.columns, 1, static_cast<int>(8 * stored_size(format.type))};
    const std::uint8_t* base = parsed.dataset().bytes().data;
    std::vector<std::uint8_t> joined;  // a frame of several fragments, in order
    for (std::size_t k = 0; k < frames.size(); ++k) {
        const auto& fragments = frames[k];
        if (fragments.size() == 1) {
            check_frame_codestream(*kind, base + fragments[0].offset, fragments[0].length, header, k + 1);
            continue;
        }
        joined.clear();
        for (const DicomFragment& f : fragments)
            joined.insert(joined.end(), base + f.offset, base + f.offset + f.length);
        check_frame_codestream(*kind, joined.data(), joined.size(), header, k + 1);
    }
}

// Uncompressed pixel data must hold exactly what Rows x Columns x Frames x BitsAllocated / 8
// needs, or one byte more (an odd value length: the pixels before it are whole; docs/dicom.md,
// section "Pixel data and transfer syntaxes"); compressed data's fragments must make up the
// frames, and each frame's codestream must declare the header's image.
// Checked with the header (cheap), so a streamed series fails before any slice is used.
void check_pixel_data(const ParsedDicom& parsed, const DicomElement& pixels, const StoredFormat& format,
                      const DicomFile& r) {
    if (pixels.encapsulated) {
        const std::string& uid = parsed.transfer_syntax().uid;
        if (!gdcm_decodes(uid))
            throw InputError("pixel data in " + transfer_syntax_text(uid) + ", which GDCM cannot decode");
        const auto frames = encapsulated_frames(parsed.dataset());
        if (frames.size() != r.frames.size()) {
            throw InputError("the compressed pixel data holds " + std::to_string(frames.size()) +
                             " frames, NumberOfFrames says " + std::to_string(r.frames.size()));
        }
        check_codestreams(parsed, frames, format, r);
        return;
    }
    const std::size_t n = static_cast<std::size_t>(r.rows) * static_cast<std::size_t>(r.columns);
    const std::size_t need = n * r.frames.size() * stored_size(format.type);
    const std::size_t have = pixels.value_length;
    if (have < need) {
        throw InputError("pixel data is truncated (" + std::to_string(have) + " of " + std::to_string(need) +
                         " bytes)");
    }
    if (have > need + 1) {
        throw InputError("pixel data holds " + std::to_string(have) +
                         " bytes but Rows x Columns x Frames x BitsAllocated needs " + std::to_string(need));
    }
}

// Compressed pixel data: decoded by GDCM in a worker (its codecs can abort or crash on
// damaged streams); the stored values come back and are converted here. What comes back
// must be exactly the image the header describes, byte for byte: the worker returns what
// the codec decoded and nothing else (io/dicom_decode_task.cpp), and every size is checked
// again here, so no value is made from a byte that was not decoded.
void read_encapsulated_pixels(const std::filesystem::path& path, const ParsedDicom& parsed, StoredFormat format,
                              DecoderPool& decoders, const ValuesDestination& into, DicomFile& r) {
    const std::string& uid = parsed.transfer_syntax().uid;
    DecodedData d;
    try {
        d = decoders.run("dicom-pixels", path.string());
    } catch (const InputError& e) {
        throw InputError(std::string(e.what()) + " (" + transfer_syntax_text(uid) + ")");
    }
    int type = 0, samples = 0;
    unsigned columns = 0, rows = 0, count = 0;
    std::istringstream meta(d.meta);
    meta >> type >> samples >> columns >> rows >> count;
    if (!meta || type < 0 || type > static_cast<int>(StoredType::Int32)) throw InputError("decoder gave bad metadata");
    if (samples != 1 || columns != static_cast<unsigned>(r.columns) || rows != static_cast<unsigned>(r.rows) ||
        count != r.frames.size()) {
        throw InputError("the decoded image is " + std::to_string(columns) + "x" + std::to_string(rows) + "x" +
                         std::to_string(count) + " with " + std::to_string(samples) +
                         " samples, the header says Columns " + std::to_string(r.columns) + " Rows " +
                         std::to_string(r.rows) + " frames " + std::to_string(r.frames.size()) + " with 1 sample");
    }
    // The decoder's sample type may differ in sign from the header's (a codestream may say
    // unsigned where the header says signed): the header's PixelRepresentation and
    // BitsStored decide the values. Its size is BitsAllocated (docs/dicom.md, "Compressed
    // pixel data"), and the decoded length is exactly the image's.
    const auto decoded = static_cast<StoredType>(type);
    if (stored_size(decoded) != stored_size(format.type)) {
        throw InputError("the decoder gave " + std::to_string(8 * stored_size(decoded)) +
                         "-bit samples, the header says BitsAllocated " + std::to_string(8 * stored_size(format.type)));
    }
    const std::size_t need =
        static_cast<std::size_t>(r.rows) * static_cast<std::size_t>(r.columns) * r.frames.size() * stored_size(decoded);
    // GDCM keeps an odd-length result in an even-length value, one zero byte appended.
    if (d.bytes.size() != need && !(need % 2 == 1 && d.bytes.size() == need + 1)) {
        throw InputError("the decoder gave " + std::to_string(d.bytes.size()) + " bytes, the header's image needs " +
                         std::to_string(need));
    }
    format.big_endian = false;  // decoders give host order
    convert_frames(reinterpret_cast<const std::uint8_t*>(d.bytes.data()), format, into, r);
}

void read_image(const std::filesystem::path& path, const ParsedDicom& parsed, DecoderPool& decoders,
                const DicomReadOptions& options, DicomFile& r) {
    const DicomDataset& ds = parsed.dataset();
    const DicomElement* pixels = ds.find(k_tag_pixel_data);
    // The dataset's SOP class, else the meta header's (a file cut after it has one).
    std::string sop_class = ds.string(k_sop_class);
    if (sop_class.empty()) sop_class = parsed.meta().string(dicom_tag(0x0002, 0x0002));
    r.skip_reason = non_image_reason(sop_class);
    if (r.skip_reason.empty() && !pixels && sop_class.empty() && r.rows == 0 && r.columns == 0) {
        r.skip_reason = "not an image (no pixel data, no SOP class)";
    }
    if (r.skip_reason.empty() && !options.include_localizers && is_localizer(ds)) {
        r.skip_reason = "a localizer (ImageType LOCALIZER; --include-localizers keeps it)";
    }
    if (!r.skip_reason.empty()) {
        r.skip = true;
        return;
    }
    // An image object without pixel data: a file cut short between elements.
    if (!pixels) throw InputError("no pixel data (truncated file?)");
    const StoredFormat format = checked_image(parsed, r);
    read_frames(ds, r);
    r.type = VoxelType::Int16;
    for (std::size_t k = 0; k < r.frames.size(); ++k) {
        const ValueRule rule = rule_of(r, r.frames[k]);
        r.type = wider_type(r.type, value_type(format, rule));
        const auto range = value_range(format, rule);
        r.value_range = k == 0 ? range : union_range(r.value_range, range);
    }
    check_pixel_data(parsed, *pixels, format, r);
    if (options.headers_only) return;
    if (pixels->encapsulated) {
        read_encapsulated_pixels(path, parsed, format, decoders, options.values_into, r);
    } else {
        convert_frames(parsed.dataset().value(*pixels).data, format, options.values_into, r);
    }
}

}  // namespace

ZeroedBytes::ZeroedBytes(std::size_t size) : m_size(size) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    m_data = static_cast<std::uint8_t*>(p);
}

ZeroedBytes::~ZeroedBytes() { ::munmap(m_data, m_size); }

std::uint8_t* ZeroedBytes::written(std::size_t from, std::size_t to) {
    m_written.emplace_back(from, to);
    return m_data;
}

void ZeroedBytes::clear() {
    for (const auto& [from, to] : m_written) std::memset(m_data + from, 0, to - from);
    m_written.clear();
}

HeaderBuffers::HeaderBuffers() = default;
HeaderBuffers::~HeaderBuffers() = default;

std::unique_ptr<ZeroedBytes> HeaderBuffers::take(std::size_t size) {
    {
        const std::lock_guard<std::mutex> lock(m_mutex);
        for (auto it = m_free.rbegin(); it != m_free.rend(); ++it) {
            if ((*it)->size() < size) continue;
            std::unique_ptr<ZeroedBytes> buffer = std::move(*it);
            m_free.erase(std::next(it).base());
            return buffer;
        }
    }
    return std::make_unique<ZeroedBytes>(size);
}

void HeaderBuffers::give(std::unique_ptr<ZeroedBytes> buffer) {
    buffer->clear();
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_free.push_back(std::move(buffer));
    // As many as were in use at once, bounded: the smallest goes first.
    constexpr std::size_t k_kept = 16;
    if (m_free.size() > k_kept) {
        m_free.erase(std::min_element(m_free.begin(), m_free.end(),
                                      [](const auto& a, const auto& b) { return a->size() < b->size(); }));
    }
}

namespace {

// An open DICOM file whose first 4 KB passed looks_like_dicom().
struct OpenDicom {
    int fd = -1;
    std::size_t size = 0;
    OpenDicom() = default;
    OpenDicom(const OpenDicom&) = delete;
    OpenDicom& operator=(const OpenDicom&) = delete;
    ~OpenDicom() {
        if (fd >= 0) ::close(fd);
    }
};

void open_dicom(const std::filesystem::path& path, std::size_t max_bytes, OpenDicom& f) {
    f.fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f.fd < 0) throw InputError("cannot open: " + errno_text(errno));
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw InputError("cannot read: " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) throw InputError("not a regular file");
    if (st.st_size <= 0) throw InputError("empty file");
    f.size = static_cast<std::size_t>(st.st_size);
    std::array<std::uint8_t, 4096> head{};
    const ssize_t got = ::pread(f.fd, head.data(), head.size(), 0);
    if (got < 0) throw InputError("cannot read: " + errno_text(errno));
    if (!looks_like_dicom(head.data(), static_cast<std::size_t>(got))) {
        throw InputError("not a DICOM file (no DICM marker at byte 128, no plausible first element)");
    }
    if (f.size > max_bytes) throw InputError("larger than " + std::to_string(max_bytes >> 20) + " MB");
}

// Bytes [from, to) of the file into out + from.
void read_range(const OpenDicom& f, std::uint8_t* out, std::size_t from, std::size_t to) {
    while (from < to) {
        const ssize_t n = ::pread(f.fd, out + from, to - from, static_cast<off_t>(from));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw InputError("cannot read: " + errno_text(errno));
        if (n == 0) throw InputError("file shrank while being read");
        from += static_cast<std::size_t>(n);
    }
}

// What a header pass reads of a file: everything but the values of its native pixel data,
// the bulk of a slice (512 KB of a 520 KB CT file), which the pass never looks at — it
// checks only their length — and the slice's read reads again anyway. The first `prefix`
// bytes are read into a zeroed buffer of the file's size and parsed; when
// the pixel data element's value starts inside them, uncompressed and of defined length (the
// parser steps over such a value without reading it), the bytes after the value are read too
// and the result is the parse of the whole file. Anything else (a longer header, Deflated
// or compressed data, a parse that fails) is read whole, so the outcome, errors included,
// is the whole file's. `prefix` is DicomReadOptions::header_prefix (64 KB). Measured:
// docs/performance.md, "Per-slice work".
std::optional<ParsedDicom> parse_without_pixel_values(const OpenDicom& f, ZeroedBytes& buffer, std::size_t prefix) {
    try {
        read_range(f, buffer.written(0, prefix), 0, prefix);
        ParsedDicom parsed = parse_dicom(buffer.data(), f.size, "");
        const DicomElement* pixels = parsed.dataset().find(k_tag_pixel_data);
        if (parsed.transfer_syntax().deflated || parsed.transfer_syntax().encapsulated || !pixels ||
            pixels->undefined_length || pixels->sequence || pixels->value_offset > prefix) {
            return std::nullopt;
        }
        const std::size_t after = std::max(pixels->value_offset + pixels->value_length, prefix);
        if (after >= f.size) return std::optional<ParsedDicom>(std::move(parsed));
        read_range(f, buffer.written(after, f.size), after, f.size);
        return parse_dicom(buffer.data(), f.size, "");  // now with the bytes after the values
    } catch (const InputError&) {
        return std::nullopt;
    }
}

}  // namespace

// Read rather than mapped: a file truncated by someone else mid-run must not raise SIGBUS.
// Not zero-filled first: the read overwrites every byte.
DicomBytes read_dicom_bytes(const std::filesystem::path& path, std::size_t max_bytes) {
    OpenDicom f;
    open_dicom(path, max_bytes, f);
    DicomBytes out;
    out.size = f.size;
    out.bytes.reset(new std::uint8_t[out.size]);
    read_range(f, out.bytes.get(), 0, out.size);
    return out;
}

DicomFile read_dicom_file(const std::filesystem::path& path, const std::string& name, DecoderPool& decoders,
                          const DicomReadOptions& options) {
    DicomFile r;
    r.name = name;
    try {
        // The bytes outlive the parse that points into them; a buffer taken goes back.
        struct Sparse {
            HeaderBuffers* from = nullptr;
            std::unique_ptr<ZeroedBytes> bytes;
            ~Sparse() {
                try {
                    if (from && bytes) from->give(std::move(bytes));
                } catch (...) {  // (no memory to keep it: the buffer is let go)
                }
            }
        } sparse{options.buffers, nullptr};
        DicomBytes file;
        std::optional<ParsedDicom> parsed;
        if (options.headers_only) {
            OpenDicom f;
            open_dicom(path, std::numeric_limits<std::size_t>::max(), f);
            if (f.size / 2 > options.header_prefix) {
                sparse.bytes = options.buffers ? options.buffers->take(f.size) : std::make_unique<ZeroedBytes>(f.size);
                parsed = parse_without_pixel_values(f, *sparse.bytes, options.header_prefix);
            }
        }
        if (!parsed) {
            file = read_dicom_bytes(path);
            parsed.emplace(parse_dicom(file.bytes.get(), file.size, ""));
        }
        read_header_fields(parsed->dataset(), r);
        read_image(path, *parsed, decoders, options, r);
    } catch (const InputError& e) {
        r.error = e.what();
        r.values.clear();
    } catch (const std::bad_alloc&) {
        r.error = "not enough memory to read this file";
        r.values.clear();
    }
    return r;
}

}  // namespace lessmore
