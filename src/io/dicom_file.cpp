// Parsing one DICOM file. The file is read with one call; GDCM parses the header up to
// the pixel data, and uncompressed pixels are converted straight from the file's bytes
// (as pydicom's pixel_array reads them). Compressed pixel data goes through GDCM's decoder.
#include "io/dicom_file.hpp"
#include "io/readers.hpp"

#include <lessmore/files.hpp>

#include <gdcmAttribute.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmReader.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <istream>
#include <memory>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace lessmore {
namespace {

const gdcm::Tag k_pixel_data(0x7fe0, 0x0010);

// The file's bytes, not zero-filled first (the read overwrites them). Read rather
// than mapped: a file truncated by someone else mid-run must not raise SIGBUS.
struct FileBytes {
    char* data() const { return bytes.get(); }
    std::unique_ptr<char[]> bytes;
    std::size_t size = 0;
};

bool read_whole_file(const std::filesystem::path& path, FileBytes& out, std::string& error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = "cannot open: " + errno_text(errno);
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
        error = st.st_size == 0 ? "empty file" : "cannot read: " + errno_text(errno);
        ::close(fd);
        return false;
    }
    out.size = static_cast<std::size_t>(st.st_size);
    out.bytes.reset(new char[out.size]);
    std::size_t done = 0;
    while (done < out.size) {
        const ssize_t n = ::read(fd, out.bytes.get() + done, out.size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = n < 0 ? "cannot read: " + errno_text(errno) : "file shrank while being read";
            ::close(fd);
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return true;
}

// A read-only seekable stream over bytes in memory, for GDCM.
class MemoryBuffer final : public std::streambuf {
public:
    MemoryBuffer(char* data, std::size_t size) { setg(data, data, data + size); }

protected:
    pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode) override {
        char* target = dir == std::ios_base::beg ? eback() + off : dir == std::ios_base::cur ? gptr() + off : egptr() + off;
        if (target < eback() || target > egptr()) return pos_type(off_type(-1));
        setg(eback(), target, egptr());
        return pos_type(target - eback());
    }
    pos_type seekpos(pos_type pos, std::ios_base::openmode mode) override {
        return seekoff(off_type(pos), std::ios_base::beg, mode);
    }
};

std::string tag_string(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    const gdcm::Tag tag(group, element);
    if (!ds.FindDataElement(tag)) return {};
    const gdcm::ByteValue* bv = ds.GetDataElement(tag).GetByteValue();
    if (!bv || bv->GetLength() == 0) return {};
    std::string s(bv->GetPointer(), bv->GetLength());
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
    const auto first = s.find_first_not_of(' ');
    return first == std::string::npos ? std::string() : s.substr(first);
}

// Decimal and integer strings ("DS"/"IS"), backslash-separated; empty when malformed.
std::vector<double> tag_numbers(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    std::vector<double> out;
    const std::string s = tag_string(ds, group, element);
    std::size_t pos = 0;
    while (!s.empty()) {
        const auto end = s.find('\\', pos);
        const std::string part = s.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        char* stop = nullptr;
        const double v = std::strtod(part.c_str(), &stop);
        if (stop == part.c_str() || !std::isfinite(v)) return {};
        out.push_back(v);
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return out;
}

template <std::uint16_t G, std::uint16_t E>
int tag_us(const gdcm::DataSet& ds, int fallback = 0) {
    if (!ds.FindDataElement(gdcm::Tag(G, E))) return fallback;
    gdcm::Attribute<G, E> at;
    at.SetFromDataElement(ds.GetDataElement(gdcm::Tag(G, E)));
    return static_cast<int>(at.GetValue());
}

void read_header_fields(const gdcm::DataSet& ds, DicomFile& r) {
    r.series_uid = tag_string(ds, 0x0020, 0x000e);
    r.series_number = tag_string(ds, 0x0020, 0x0011);
    const auto ipp = tag_numbers(ds, 0x0020, 0x0032);
    if (ipp.size() == 3) r.position = std::array<double, 3>{ipp[0], ipp[1], ipp[2]};
    const auto iop = tag_numbers(ds, 0x0020, 0x0037);
    if (iop.size() == 6) r.orientation = std::array<double, 6>{iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]};
    const auto inst = tag_numbers(ds, 0x0020, 0x0013);
    if (inst.size() == 1) r.instance = static_cast<long>(inst[0]);
    const auto spacing = tag_numbers(ds, 0x0028, 0x0030);
    if (spacing.size() == 2 && spacing[0] > 0 && spacing[1] > 0) r.pixel_spacing = {spacing[0], spacing[1]};
    const auto thick = tag_numbers(ds, 0x0018, 0x0050);
    if (thick.size() == 1) r.thickness = thick[0];
    const auto frames = tag_numbers(ds, 0x0028, 0x0008);
    if (frames.size() == 1 && frames[0] >= 1) r.frames = static_cast<int>(frames[0]);
    r.rows = tag_us<0x0028, 0x0010>(ds);
    r.columns = tag_us<0x0028, 0x0011>(ds);
    r.header_ok = true;
}

struct Rescale {
    double slope = 1.0;
    double intercept = 0.0;
};

Rescale rescale_of(const gdcm::DataSet& ds) {
    const auto slope = tag_numbers(ds, 0x0028, 0x1053);
    const auto intercept = tag_numbers(ds, 0x0028, 0x1052);
    Rescale r;
    if (slope.size() == 1) r.slope = slope[0];
    if (intercept.size() == 1) r.intercept = intercept[0];
    return r;
}

// The authors' Hounsfield conversion (docs/preprocessing.md, section "Authors' Hounsfield conversion"): stored value, -2000
// padding set to 0, slope applied in double and truncated, intercept added
// (np.int16(intercept) truncates), saturated to int16.
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

// Converts n stored values of a GDCM scalar type; false for types we do not take.
bool convert_stored(gdcm::PixelFormat::ScalarType type, const char* raw, std::size_t n, const Rescale& rs,
                    std::int16_t* out) {
    switch (type) {
    case gdcm::PixelFormat::UINT8: to_hu(reinterpret_cast<const std::uint8_t*>(raw), n, rs, out); return true;
    case gdcm::PixelFormat::INT8: to_hu(reinterpret_cast<const std::int8_t*>(raw), n, rs, out); return true;
    case gdcm::PixelFormat::UINT16: to_hu(reinterpret_cast<const std::uint16_t*>(raw), n, rs, out); return true;
    case gdcm::PixelFormat::INT16: to_hu(reinterpret_cast<const std::int16_t*>(raw), n, rs, out); return true;
    case gdcm::PixelFormat::UINT32: to_hu(reinterpret_cast<const std::uint32_t*>(raw), n, rs, out); return true;
    case gdcm::PixelFormat::INT32: to_hu(reinterpret_cast<const std::int32_t*>(raw), n, rs, out); return true;
    default: return false;
    }
}

struct PixelValue {
    std::size_t offset = 0;    // where the value starts in the file
    std::uint32_t length = 0;  // as the element header says
};

// GDCM stops with the stream at the start of the (skipped) pixel data value. Check that
// an element header really ends there (implicit VR: tag + 4-byte length; explicit VR:
// tag + OB/OW + 2 reserved + 4-byte length) and read its length.
std::optional<PixelValue> locate_pixel_value(const FileBytes& file, std::size_t value_start) {
    const auto* d = reinterpret_cast<const unsigned char*>(file.data());
    const unsigned char tag[4] = {0xe0, 0x7f, 0x10, 0x00};
    auto le32 = [d](std::size_t at) {
        return std::uint32_t{d[at]} | (std::uint32_t{d[at + 1]} << 8) | (std::uint32_t{d[at + 2]} << 16) |
               (std::uint32_t{d[at + 3]} << 24);
    };
    if (value_start >= 12 && value_start <= file.size && std::memcmp(d + value_start - 12, tag, 4) == 0 &&
        d[value_start - 8] == 'O' && (d[value_start - 7] == 'W' || d[value_start - 7] == 'B')) {
        return PixelValue{value_start, le32(value_start - 4)};
    }
    if (value_start >= 8 && value_start <= file.size && std::memcmp(d + value_start - 8, tag, 4) == 0) {
        return PixelValue{value_start, le32(value_start - 4)};
    }
    return std::nullopt;
}

// Uncompressed little-endian grey pixels straight from the file. Returns false when the
// file needs GDCM's decoder instead.
bool read_raw_pixels(const gdcm::File& parsed, const gdcm::DataSet& ds, const FileBytes& file, std::size_t value_start,
                     DicomFile& r) {
    const gdcm::TransferSyntax ts = parsed.GetHeader().GetDataSetTransferSyntax();
    if (ts.IsEncapsulated() || ts == gdcm::TransferSyntax::ExplicitVRBigEndian ||
        ts == gdcm::TransferSyntax::TS_END) {
        return false;
    }
    const int samples = tag_us<0x0028, 0x0002>(ds, 1);
    const int bits = tag_us<0x0028, 0x0100>(ds);
    const int signed_pixels = tag_us<0x0028, 0x0103>(ds);
    if (samples != 1 || (bits != 8 && bits != 16) || r.frames != 1 || r.rows <= 0 || r.columns <= 0) return false;
    const auto value = locate_pixel_value(file, value_start);
    if (!value || value->length == 0xffffffffu) return false;
    const std::size_t n = static_cast<std::size_t>(r.rows) * r.columns;
    const std::size_t need = n * static_cast<std::size_t>(bits / 8);
    if (value->length < need || value->offset + need > file.size) {
        r.error = "pixel data is truncated (" + std::to_string(file.size - std::min(file.size, value->offset)) + " of " +
                  std::to_string(need) + " bytes present)";
        return true;
    }
    const auto type = bits == 8 ? (signed_pixels ? gdcm::PixelFormat::INT8 : gdcm::PixelFormat::UINT8)
                                : (signed_pixels ? gdcm::PixelFormat::INT16 : gdcm::PixelFormat::UINT16);
    const char* src = file.data() + value->offset;
    std::vector<char> aligned;
    if (reinterpret_cast<std::uintptr_t>(src) % 2 != 0) {  // never for valid DICOM (even lengths)
        aligned.assign(src, src + need);
        src = aligned.data();
    }
    r.hu.resize(n * sizeof(std::int16_t));
    convert_stored(type, src, n, rescale_of(ds), reinterpret_cast<std::int16_t*>(r.hu.data()));
    return true;
}

// Compressed or unusual pixel data: GDCM decodes it, in a worker process (its codecs can
// abort or crash on damaged streams); the stored values come back and are converted here.
void read_decoded_pixels(const std::filesystem::path& path, DecoderPool& decoders, const gdcm::DataSet& ds, DicomFile& r) {
    DecodedData d;
    try {
        d = decoders.run("dicom-pixels", path.string());
    } catch (const InputError& e) {
        r.error = e.what();
        return;
    }
    int scalar = 0, samples = 0;
    unsigned columns = 0, rows = 0, frames = 0;
    std::istringstream meta(d.meta);
    meta >> scalar >> samples >> columns >> rows >> frames;
    if (!meta) {
        r.error = "decoder gave bad metadata";
        return;
    }
    if (samples != 1) {
        r.error = "colour DICOM image (" + std::to_string(samples) + " samples per pixel) is not supported";
        return;
    }
    if (frames > 1) {
        r.error = "multi-frame DICOM (" + std::to_string(frames) + " frames) is not supported";
        return;
    }
    r.columns = static_cast<int>(columns);
    r.rows = static_cast<int>(rows);
    const std::size_t n = static_cast<std::size_t>(r.rows) * r.columns;
    const gdcm::PixelFormat pf(static_cast<gdcm::PixelFormat::ScalarType>(scalar));
    if (d.bytes.size() < n * pf.GetPixelSize()) {
        r.error = "cannot decode pixel data (truncated file or unsupported compression)";
        return;
    }
    r.hu.resize(n * sizeof(std::int16_t));
    if (!convert_stored(pf.GetScalarType(), reinterpret_cast<const char*>(d.bytes.data()), n, rescale_of(ds),
                        reinterpret_cast<std::int16_t*>(r.hu.data()))) {
        r.hu.clear();
        r.error = std::string("unsupported DICOM pixel format ") + pf.GetScalarTypeAsString();
    }
}

}  // namespace

DecodedData dicom_pixels_task(const std::string& path, const std::string&) {
    gdcm::ImageReader reader;
    reader.SetFileName(path.c_str());
    if (!reader.Read()) throw InputError("cannot decode DICOM image (unsupported or corrupt pixel data)");
    const gdcm::Image& image = reader.GetImage();
    const gdcm::PixelFormat& pf = image.GetPixelFormat();
    const unsigned* dims = image.GetDimensions();
    DecodedData out;
    out.meta = std::to_string(static_cast<int>(pf.GetScalarType())) + " " + std::to_string(pf.GetSamplesPerPixel()) + " " +
               std::to_string(dims[0]) + " " + std::to_string(dims[1]) + " " +
               std::to_string(image.GetNumberOfDimensions() > 2 ? dims[2] : 1);
    out.bytes.resize(image.GetBufferLength());
    if (!image.GetBuffer(reinterpret_cast<char*>(out.bytes.data()))) {
        throw InputError("cannot decode pixel data (truncated file or unsupported compression)");
    }
    return out;
}

DicomFile read_dicom_file(const std::filesystem::path& path, const std::string& name, DecoderPool& decoders, bool headers_only) {
    DicomFile r;
    r.name = name;
    try {
        gdcm::Reader reader;
        std::ifstream header_stream;
        FileBytes file;
        std::unique_ptr<MemoryBuffer> buffer;
        std::unique_ptr<std::istream> stream;
        if (headers_only) {
            reader.SetFileName(path.c_str());  // reads only as far as the header
        } else {
            if (!read_whole_file(path, file, r.error)) return r;
            buffer = std::make_unique<MemoryBuffer>(file.data(), file.size);
            stream = std::make_unique<std::istream>(buffer.get());
            reader.SetStream(*stream);
        }
        // Parse everything before the pixel data; the pixel value itself is skipped.
        if (!reader.ReadUpToTag(k_pixel_data, std::set<gdcm::Tag>{k_pixel_data})) {
            r.error = "not a readable DICOM file (truncated or corrupt header)";
            return r;
        }
        const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
        read_header_fields(ds, r);
        if (r.rows <= 0 || r.columns <= 0) {
            r.skip = true;  // not an image: DICOMDIR, structured report, ...
            return r;
        }
        if (headers_only) return r;
        const std::streamoff at = stream->tellg();
        if (at < 0 || static_cast<std::size_t>(at) >= file.size) {
            r.error = "no pixel data (truncated file?)";
            return r;
        }
        if (read_raw_pixels(reader.GetFile(), ds, file, static_cast<std::size_t>(at), r)) return r;
        read_decoded_pixels(path, decoders, ds, r);
    } catch (const std::exception& e) {
        r.error = std::string("cannot read DICOM: ") + e.what();
    }
    return r;
}

}  // namespace lessmore
