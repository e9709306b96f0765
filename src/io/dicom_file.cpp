// One DICOM file. The whole file is read with one call and walked by lessmore's own
// validating parser (io/dicom_parser.hpp), so a damaged file is refused with a reason
// before any third-party code sees it; the image attributes are checked (docs/dicom.md,
// section "What makes a series fail"); uncompressed pixels are converted straight from
// the file's bytes, as pydicom's pixel_array reads them. Compressed pixel data goes to
// GDCM's decoders in a worker process (io/dicom_decode_task.cpp).
#include "io/dicom_file.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include "io/dicom_parser.hpp"
#include "io/readers.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace lessmore {
namespace {

constexpr DicomTag k_sop_class = dicom_tag(0x0008, 0x0016);
constexpr DicomTag k_series_uid = dicom_tag(0x0020, 0x000e);
constexpr DicomTag k_series_number = dicom_tag(0x0020, 0x0011);
constexpr DicomTag k_position = dicom_tag(0x0020, 0x0032);
constexpr DicomTag k_orientation = dicom_tag(0x0020, 0x0037);
constexpr DicomTag k_instance = dicom_tag(0x0020, 0x0013);
constexpr DicomTag k_pixel_spacing = dicom_tag(0x0028, 0x0030);
constexpr DicomTag k_thickness = dicom_tag(0x0018, 0x0050);
constexpr DicomTag k_samples = dicom_tag(0x0028, 0x0002);
constexpr DicomTag k_rows = dicom_tag(0x0028, 0x0010);
constexpr DicomTag k_columns = dicom_tag(0x0028, 0x0011);
constexpr DicomTag k_bits_allocated = dicom_tag(0x0028, 0x0100);
constexpr DicomTag k_bits_stored = dicom_tag(0x0028, 0x0101);
constexpr DicomTag k_pixel_representation = dicom_tag(0x0028, 0x0103);
constexpr DicomTag k_intercept = dicom_tag(0x0028, 0x1052);
constexpr DicomTag k_slope = dicom_tag(0x0028, 0x1053);

// The file's bytes, not zero-filled first (the read overwrites them). Read rather than
// mapped: a file truncated by someone else mid-run must not raise SIGBUS.
struct FileBytes {
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t size = 0;
};

FileBytes read_whole_file(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw InputError("cannot open: " + errno_text(errno));
    struct Close {
        int fd;
        ~Close() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw InputError("cannot read: " + errno_text(errno));
    if (st.st_size <= 0) throw InputError("empty file");
    FileBytes out;
    out.size = static_cast<std::size_t>(st.st_size);
    out.bytes.reset(new std::uint8_t[out.size]);
    std::size_t done = 0;
    while (done < out.size) {
        const ssize_t n = ::read(fd, out.bytes.get() + done, out.size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw InputError("cannot read: " + errno_text(errno));
        if (n == 0) throw InputError("file shrank while being read");
        done += static_cast<std::size_t>(n);
    }
    return out;
}

template <std::size_t N>
std::optional<std::array<double, N>> fixed_numbers(const DicomDataset& ds, DicomTag tag) {
    const auto v = ds.numbers(tag);
    if (v.size() != N || !std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); })) return std::nullopt;
    std::array<double, N> out{};
    std::copy(v.begin(), v.end(), out.begin());
    return out;
}

void read_header_fields(const DicomDataset& ds, DicomFile& r) {
    r.series_uid = ds.string(k_series_uid);
    r.series_number = ds.string(k_series_number);
    r.position = fixed_numbers<3>(ds, k_position);
    r.orientation = fixed_numbers<6>(ds, k_orientation);
    const auto inst = ds.numbers(k_instance);
    if (inst.size() == 1 && std::isfinite(inst[0]) && std::fabs(inst[0]) < 1e15) r.instance = static_cast<long>(inst[0]);
    const auto spacing = ds.numbers(k_pixel_spacing);
    if (spacing.size() == 2 && spacing[0] > 0 && spacing[1] > 0 && std::isfinite(spacing[0]) && std::isfinite(spacing[1])) {
        r.pixel_spacing = {spacing[0], spacing[1]};
    }
    const auto thick = ds.numbers(k_thickness);
    if (thick.size() == 1 && std::isfinite(thick[0])) r.thickness = thick[0];
    const auto frames = ds.numbers(k_tag_number_of_frames);
    if (frames.size() == 1 && frames[0] >= 1 && frames[0] < 1e6) r.frames = static_cast<int>(frames[0]);
    r.rows = ds.us(k_rows).value_or(0);
    r.columns = ds.us(k_columns).value_or(0);
    r.header_ok = true;
}

struct Rescale {
    double slope = 1.0;
    double intercept = 0.0;
};

Rescale rescale_of(const DicomDataset& ds) {
    const auto slope = ds.numbers(k_slope);
    const auto intercept = ds.numbers(k_intercept);
    Rescale r;
    if (slope.size() == 1 && std::isfinite(slope[0])) r.slope = slope[0];
    if (intercept.size() == 1 && std::isfinite(intercept[0])) r.intercept = intercept[0];
    return r;
}

// The authors' Hounsfield conversion (docs/preprocessing.md, section "Authors' Hounsfield
// conversion"): stored value, -2000 padding set to 0, slope applied in double and
// truncated, intercept added (np.int16(intercept) truncates), saturated to int16.
template <typename T>
void to_hu(const T* in, std::size_t n, const Rescale& rs, std::int16_t* out) {
    const auto icept = static_cast<std::int64_t>(std::clamp(rs.intercept, -1e9, 1e9));
    if (rs.slope == 1.0 && icept >= INT16_MIN && icept <= INT16_MAX) {
        // The common case, in int32 so the loop vectorises.
        const auto ic = static_cast<std::int32_t>(icept);
        for (std::size_t i = 0; i < n; ++i) {
            std::int32_t p = static_cast<std::int32_t>(in[i]);
            p = p == -2000 ? 0 : p;
            out[i] = static_cast<std::int16_t>(std::clamp<std::int32_t>(p + ic, INT16_MIN, INT16_MAX));
        }
        return;
    }
    for (std::size_t i = 0; i < n; ++i) {
        std::int64_t p = static_cast<std::int64_t>(in[i]);
        if (p == -2000) p = 0;
        if (rs.slope != 1.0) p = static_cast<std::int64_t>(std::clamp(static_cast<double>(p) * rs.slope, -1e15, 1e15));
        p += icept;
        out[i] = static_cast<std::int16_t>(std::clamp<std::int64_t>(p, INT16_MIN, INT16_MAX));
    }
}

template <typename T>
void stored_to_hu(const std::uint8_t* raw, std::size_t n, bool swap, const Rescale& rs, std::int16_t* out) {
    if (!swap && reinterpret_cast<std::uintptr_t>(raw) % alignof(T) == 0) {
        to_hu(reinterpret_cast<const T*>(raw), n, rs, out);
        return;
    }
    std::vector<T> values(n);  // odd offsets (never in valid files) or big endian
    std::memcpy(values.data(), raw, n * sizeof(T));
    if (swap) {
        for (T& v : values) {
            auto* b = reinterpret_cast<std::uint8_t*>(&v);
            std::reverse(b, b + sizeof(T));
        }
    }
    to_hu(values.data(), n, rs, out);
}

}  // namespace

bool convert_stored(StoredType type, const std::uint8_t* raw, std::size_t n, bool big_endian, double slope,
                    double intercept, std::int16_t* out) {
    const Rescale rs{slope, intercept};
    switch (type) {
    case StoredType::UInt8: stored_to_hu<std::uint8_t>(raw, n, false, rs, out); return true;
    case StoredType::Int8: stored_to_hu<std::int8_t>(raw, n, false, rs, out); return true;
    case StoredType::UInt16: stored_to_hu<std::uint16_t>(raw, n, big_endian, rs, out); return true;
    case StoredType::Int16: stored_to_hu<std::int16_t>(raw, n, big_endian, rs, out); return true;
    case StoredType::UInt32: stored_to_hu<std::uint32_t>(raw, n, big_endian, rs, out); return true;
    case StoredType::Int32: stored_to_hu<std::int32_t>(raw, n, big_endian, rs, out); return true;
    }
    return false;
}

namespace {

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

// The image attributes lessmore can read; throws InputError naming the one at fault.
StoredType checked_image(const DicomDataset& ds, const DicomFile& r) {
    const int samples = ds.us(k_samples).value_or(1);
    if (samples != 1) {
        throw InputError("colour DICOM image (" + std::to_string(samples) + " samples per pixel) is not supported");
    }
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
        throw InputError("BitsStored " + std::to_string(stored) + " does not fit BitsAllocated " + std::to_string(*bits));
    }
    const int representation = ds.us(k_pixel_representation).value_or(0);
    if (representation != 0 && representation != 1) {
        throw InputError("PixelRepresentation " + std::to_string(representation) + " is neither 0 nor 1");
    }
    const bool is_signed = representation == 1;
    return *bits == 8 ? (is_signed ? StoredType::Int8 : StoredType::UInt8)
           : *bits == 16 ? (is_signed ? StoredType::Int16 : StoredType::UInt16)
                         : (is_signed ? StoredType::Int32 : StoredType::UInt32);
}

std::size_t stored_size(StoredType t) {
    return t == StoredType::UInt8 || t == StoredType::Int8 ? 1 : t == StoredType::UInt16 || t == StoredType::Int16 ? 2 : 4;
}

// Uncompressed pixels straight from the file: the value's length must be exactly what
// Rows x Columns x Frames x BitsAllocated / 8 needs (one padding byte allowed).
void read_native_pixels(const ParsedDicom& parsed, const DicomElement& pixels, StoredType type, DicomFile& r) {
    const DicomDataset& ds = parsed.dataset();
    const std::size_t n = static_cast<std::size_t>(r.rows) * static_cast<std::size_t>(r.columns);
    const std::size_t need = n * static_cast<std::size_t>(r.frames) * stored_size(type);
    const std::size_t have = pixels.value_length;
    if (have < need) {
        throw InputError("pixel data is truncated (" + std::to_string(have) + " of " + std::to_string(need) + " bytes)");
    }
    if (have > need + 1) {
        throw InputError("pixel data holds " + std::to_string(have) + " bytes but Rows x Columns x BitsAllocated needs " +
                         std::to_string(need));
    }
    if (r.frames > 1) throw InputError("multi-frame DICOM (" + std::to_string(r.frames) + " frames) is not supported");
    const Rescale rs = rescale_of(ds);
    r.hu.resize(n * sizeof(std::int16_t));
    convert_stored(type, ds.value(pixels).data, n, ds.big_endian(), rs.slope, rs.intercept,
                   reinterpret_cast<std::int16_t*>(r.hu.data()));
}

// Compressed pixel data: decoded by GDCM in a worker (its codecs can abort or crash on
// damaged streams); the stored values come back and are converted here.
void read_encapsulated_pixels(const std::filesystem::path& path, const ParsedDicom& parsed, DecoderPool& decoders,
                              DicomFile& r) {
    const DicomDataset& ds = parsed.dataset();
    (void)encapsulated_frames(ds);  // the fragments must make up the frames (throws otherwise)
    if (r.frames > 1) throw InputError("multi-frame DICOM (" + std::to_string(r.frames) + " frames) is not supported");
    DecodedData d = decoders.run("dicom-pixels", path.string());
    int type = 0, samples = 0;
    unsigned columns = 0, rows = 0, frames = 0;
    std::istringstream meta(d.meta);
    meta >> type >> samples >> columns >> rows >> frames;
    if (!meta || type < 0 || type > static_cast<int>(StoredType::Int32)) throw InputError("decoder gave bad metadata");
    if (samples != 1 || columns != static_cast<unsigned>(r.columns) || rows != static_cast<unsigned>(r.rows) || frames != 1) {
        throw InputError("the compressed image is " + std::to_string(columns) + "x" + std::to_string(rows) + "x" +
                         std::to_string(frames) + " with " + std::to_string(samples) +
                         " samples, not what the header says");
    }
    const std::size_t n = static_cast<std::size_t>(r.rows) * static_cast<std::size_t>(r.columns);
    const auto stored = static_cast<StoredType>(type);
    if (d.bytes.size() < n * stored_size(stored)) throw InputError("the decoder gave fewer pixels than the image has");
    const Rescale rs = rescale_of(ds);
    r.hu.resize(n * sizeof(std::int16_t));
    convert_stored(stored, reinterpret_cast<const std::uint8_t*>(d.bytes.data()), n, false, rs.slope, rs.intercept,
                   reinterpret_cast<std::int16_t*>(r.hu.data()));
}

}  // namespace

DicomFile read_dicom_file(const std::filesystem::path& path, const std::string& name, DecoderPool& decoders,
                          bool headers_only) {
    DicomFile r;
    r.name = name;
    try {
        const FileBytes file = read_whole_file(path);
        const ParsedDicom parsed = parse_dicom(file.bytes.get(), file.size, "");
        const DicomDataset& ds = parsed.dataset();
        read_header_fields(ds, r);
        const DicomElement* pixels = ds.find(k_tag_pixel_data);
        // The dataset's SOP class, else the meta header's (a file cut after it has one).
        std::string sop_class = ds.string(k_sop_class);
        if (sop_class.empty()) sop_class = parsed.meta().string(dicom_tag(0x0002, 0x0002));
        r.skip_reason = non_image_reason(sop_class);
        if (r.skip_reason.empty() && !pixels && sop_class.empty() && r.rows == 0 && r.columns == 0) {
            r.skip_reason = "not an image (no pixel data, no SOP class)";
        }
        if (!r.skip_reason.empty()) {
            r.skip = true;
            return r;
        }
        // An image object without pixel data: a file cut short between elements.
        if (!pixels) throw InputError("no pixel data (truncated file?)");
        const StoredType type = checked_image(ds, r);
        if (headers_only) return r;
        if (pixels->encapsulated) {
            read_encapsulated_pixels(path, parsed, decoders, r);
        } else {
            read_native_pixels(parsed, *pixels, type, r);
        }
    } catch (const InputError& e) {
        r.error = e.what();
        r.hu.clear();
    } catch (const std::bad_alloc&) {
        r.error = "not enough memory to read this file";
        r.hu.clear();
    }
    return r;
}

}  // namespace lessmore
