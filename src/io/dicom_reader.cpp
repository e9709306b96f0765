// DICOM folders: every file is parsed once (header and pixels together), files are
// grouped by SeriesInstanceUID and ordered along the slice normal.
#include <lessmore/error.hpp>

#include "io/files.hpp"
#include "io/readers.hpp"

#include <gdcmAttribute.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmReader.h>
#include <gdcmTrace.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

namespace lessmore {
namespace {

const gdcm::Tag k_pixel_data(0x7fe0, 0x0010);

// The whole file is read with one call and parsed from memory, so the bytes are at
// hand to check that the pixel data really is all there.
class MemoryBuffer final : public std::streambuf {
public:
    explicit MemoryBuffer(std::vector<char>& bytes) { setg(bytes.data(), bytes.data(), bytes.data() + bytes.size()); }

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

bool read_whole_file(const std::filesystem::path& path, std::vector<char>& bytes, std::string& error) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
        error = "cannot open: " + errno_text(errno);
        return false;
    }
    const std::streamsize size = in.tellg();
    in.seekg(0);
    bytes.resize(static_cast<std::size_t>(std::max<std::streamsize>(size, 0)));
    if (!in.read(bytes.data(), size)) {
        error = "cannot read: " + errno_text(errno);
        return false;
    }
    return true;
}

// GDCM pads a pixel data element cut short by a truncated file without failing. Find the
// element's header (tag, then its length, implicit or explicit VR) and check that the
// value ends inside the file. Unknown layouts (big endian, undefined length) pass; the
// decoder catches those.
bool pixel_data_complete(const std::vector<char>& file, std::uint32_t length) {
    const unsigned char tag[4] = {0xe0, 0x7f, 0x10, 0x00};
    unsigned char len[4];
    for (int i = 0; i < 4; ++i) len[i] = static_cast<unsigned char>((length >> (8 * i)) & 0xff);
    const auto* data = reinterpret_cast<const unsigned char*>(file.data());
    const std::size_t size = file.size();
    for (std::size_t o = 0; o + 8 <= size; ++o) {
        if (std::memcmp(data + o, tag, 4) != 0) continue;
        if (std::memcmp(data + o + 4, len, 4) == 0) return o + 8 + length <= size;  // implicit VR
        if (o + 12 <= size && data[o + 4] == 'O' && (data[o + 5] == 'W' || data[o + 5] == 'B') &&
            std::memcmp(data + o + 8, len, 4) == 0) {
            return o + 12 + length <= size;  // explicit VR
        }
    }
    return true;
}

struct FileRecord {
    std::string name;
    bool skip = false;       // a DICOM file that is not an image (DICOMDIR, SR, RT structures)
    std::string error;       // one line; empty when the file is fine
    bool header_ok = false;  // series fields below are valid even if the pixels failed
    std::string series_uid;
    std::string series_number;
    std::optional<std::array<double, 3>> position;
    std::optional<std::array<double, 6>> orientation;
    std::optional<long> instance;
    int rows = 0;
    int columns = 0;
    int frames = 1;
    std::array<double, 2> pixel_spacing{1.0, 1.0};  // row spacing, column spacing
    double thickness = 0.0;
    std::vector<std::byte> hu;  // int16, rows * columns
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

// Decimal strings ("DS"/"IS"), backslash-separated.
std::vector<double> tag_numbers(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
    std::vector<double> out;
    const std::string s = tag_string(ds, group, element);
    std::size_t pos = 0;
    while (pos <= s.size() && !s.empty()) {
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
int tag_us(const gdcm::DataSet& ds) {
    if (!ds.FindDataElement(gdcm::Tag(G, E))) return 0;
    gdcm::Attribute<G, E> at;
    at.SetFromDataElement(ds.GetDataElement(gdcm::Tag(G, E)));
    return static_cast<int>(at.GetValue());
}

void read_header_fields(const gdcm::DataSet& ds, FileRecord& r) {
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

// The authors' Hounsfield conversion (REFERENCE.md section 2): stored value, -2000
// padding set to 0, slope applied in double and truncated, intercept added.
template <typename T>
void to_hu(const T* in, std::size_t n, double slope, double intercept, std::int16_t* out) {
    const auto icept = static_cast<std::int64_t>(intercept);  // np.int16(intercept) truncates
    for (std::size_t i = 0; i < n; ++i) {
        std::int64_t p = static_cast<std::int64_t>(in[i]);
        if (p == -2000) p = 0;
        if (slope != 1.0) p = static_cast<std::int64_t>(static_cast<double>(p) * slope);
        p += icept;
        out[i] = static_cast<std::int16_t>(std::clamp<std::int64_t>(p, INT16_MIN, INT16_MAX));
    }
}

void read_pixels(const gdcm::Image& image, const gdcm::DataSet& ds, const std::vector<char>& file, FileRecord& r) {
    const gdcm::PixelFormat& pf = image.GetPixelFormat();
    if (pf.GetSamplesPerPixel() != 1) {
        r.error = "colour DICOM image (" + std::to_string(pf.GetSamplesPerPixel()) + " samples per pixel) is not supported";
        return;
    }
    const unsigned* dims = image.GetDimensions();
    if (image.GetNumberOfDimensions() > 2 && dims[2] > 1) {
        r.error = "multi-frame DICOM (" + std::to_string(dims[2]) + " frames) is not supported";
        return;
    }
    r.columns = static_cast<int>(dims[0]);
    r.rows = static_cast<int>(dims[1]);
    std::vector<char> raw(image.GetBufferLength());
    if (!image.GetBuffer(raw.data())) {
        r.error = "cannot decode pixel data (truncated file or unsupported compression)";
        return;
    }
    const std::size_t n = static_cast<std::size_t>(r.rows) * r.columns;
    const std::size_t elem = pf.GetPixelSize();
    // GDCM accepts a truncated file ("incomplete pixel data") and pads it; we do not.
    const gdcm::ByteValue* stored = ds.FindDataElement(k_pixel_data) ? ds.GetDataElement(k_pixel_data).GetByteValue() : nullptr;
    if (stored && (stored->GetLength() < n * elem || !pixel_data_complete(file, stored->GetLength()))) {
        r.error = "pixel data is truncated (file ends before the " + std::to_string(stored->GetLength()) +
                  " bytes its header announces)";
        return;
    }
    if (raw.size() < n * elem) {
        r.error = "pixel data is shorter than " + std::to_string(r.columns) + "x" + std::to_string(r.rows);
        return;
    }
    const auto slope_v = tag_numbers(ds, 0x0028, 0x1053);
    const auto icept_v = tag_numbers(ds, 0x0028, 0x1052);
    const double slope = slope_v.size() == 1 ? slope_v[0] : 1.0;
    const double intercept = icept_v.size() == 1 ? icept_v[0] : 0.0;
    r.hu.resize(n * sizeof(std::int16_t));
    auto* out = reinterpret_cast<std::int16_t*>(r.hu.data());
    switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8: to_hu(reinterpret_cast<const std::uint8_t*>(raw.data()), n, slope, intercept, out); break;
    case gdcm::PixelFormat::INT8: to_hu(reinterpret_cast<const std::int8_t*>(raw.data()), n, slope, intercept, out); break;
    case gdcm::PixelFormat::UINT16: to_hu(reinterpret_cast<const std::uint16_t*>(raw.data()), n, slope, intercept, out); break;
    case gdcm::PixelFormat::INT16: to_hu(reinterpret_cast<const std::int16_t*>(raw.data()), n, slope, intercept, out); break;
    case gdcm::PixelFormat::UINT32: to_hu(reinterpret_cast<const std::uint32_t*>(raw.data()), n, slope, intercept, out); break;
    case gdcm::PixelFormat::INT32: to_hu(reinterpret_cast<const std::int32_t*>(raw.data()), n, slope, intercept, out); break;
    default:
        r.hu.clear();
        r.error = std::string("unsupported DICOM pixel format ") + pf.GetScalarTypeAsString();
    }
}

FileRecord read_header_only(const std::filesystem::path& path, const std::string& name) {
    FileRecord r;
    r.name = name;
    gdcm::Reader reader;
    reader.SetFileName(path.c_str());
    if (!reader.ReadUpToTag(k_pixel_data)) {
        r.error = "not a readable DICOM file";
        return r;
    }
    const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
    read_header_fields(ds, r);
    if (r.rows <= 0 || r.columns <= 0) r.skip = true;  // no image: DICOMDIR, SR, ...
    return r;
}

FileRecord read_file(const std::filesystem::path& path, const std::string& name) {
    FileRecord r;
    r.name = name;
    try {
        std::vector<char> bytes;
        if (!read_whole_file(path, bytes, r.error)) return r;
        MemoryBuffer buffer(bytes);
        std::istream stream(&buffer);
        gdcm::ImageReader reader;
        reader.SetStream(stream);
        const bool ok = reader.Read();
        const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
        if (!ok) {
            // Tell "not an image" (skip quietly) from "a broken image" (report).
            FileRecord h = read_header_only(path, name);
            if (h.error.empty() && h.skip) return h;
            h.error = h.error.empty() ? "cannot read DICOM pixel data (truncated or corrupt file)" : h.error;
            return h;
        }
        if (!ds.FindDataElement(k_pixel_data)) {
            r.skip = true;
            return r;
        }
        read_header_fields(ds, r);
        read_pixels(reader.GetImage(), ds, bytes, r);
    } catch (const std::exception& e) {
        r.error = std::string("cannot read DICOM: ") + e.what();
    }
    return r;
}

double dot(const std::array<double, 3>& a, const std::array<double, 3>& b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

std::array<double, 3> slice_normal(const std::array<double, 6>& o) {
    return {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
}

double median_step(std::vector<double> z) {
    std::vector<double> d;
    for (std::size_t i = 1; i < z.size(); ++i) d.push_back(std::fabs(z[i] - z[i - 1]));
    if (d.empty()) return 0.0;
    std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2), d.end());
    return d[d.size() / 2];
}

// Builds one volume from the files of one series.
LoadedVolume build_series(const Source& source, const std::string& id, std::vector<FileRecord*> files,
                          const LoadOptions& options, bool headers_only) {
    const std::filesystem::path folder(source.path);
    LoadedVolume out;
    out.id = id;
    out.path = path_text(folder);
    for (const FileRecord* f : files) {
        if (!f->error.empty()) {
            out.path = path_text(folder / f->name);
            out.error = f->error;
            return out;
        }
        if (f->frames > 1) {
            out.path = path_text(folder / f->name);
            out.error = "multi-frame DICOM (" + std::to_string(f->frames) + " frames) is not supported";
            return out;
        }
    }
    const FileRecord& first = *files.front();
    for (const FileRecord* f : files) {
        if (f->rows != first.rows || f->columns != first.columns) {
            out.path = path_text(folder / f->name);
            out.error = "slice size " + std::to_string(f->columns) + "x" + std::to_string(f->rows) + " differs from " +
                        first.name + " (" + std::to_string(first.columns) + "x" + std::to_string(first.rows) +
                        ") in the same series";
            return out;
        }
    }
    if (first.rows <= 0 || first.columns <= 0) {
        out.path = path_text(folder / first.name);
        out.error = "image has no rows or columns";
        return out;
    }

    // Position along the slice normal of the series' first file.
    const bool geometry = std::all_of(files.begin(), files.end(), [](const FileRecord* f) {
        return f->position && f->orientation;
    });
    std::vector<std::optional<double>> z(files.size());
    if (geometry) {
        const auto normal = slice_normal(*first.orientation);
        for (std::size_t i = 0; i < files.size(); ++i) z[i] = dot(*files[i]->position, normal);
    }
    std::vector<std::size_t> order(files.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const bool by_instance = std::all_of(files.begin(), files.end(), [](const FileRecord* f) { return f->instance.has_value(); });
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const FileRecord& fa = *files[a];
        const FileRecord& fb = *files[b];
        if (options.order == SliceOrder::Position) {
            if (geometry && *z[a] != *z[b]) return *z[a] < *z[b];
            if (by_instance && *fa.instance != *fb.instance) return *fa.instance < *fb.instance;
        }
        return fa.name < fb.name;
    });

    VolumeInfo info;
    info.id = id;
    info.source = path_text(folder);
    info.format = "dicom";
    info.width = first.columns;
    info.height = first.rows;
    info.type = VoxelType::Int16;
    std::vector<double> zs;
    for (std::size_t k : order) {
        info.slices.push_back({files[k]->name, z[k]});
        if (z[k]) zs.push_back(*z[k]);
    }
    std::sort(zs.begin(), zs.end());
    const double step = median_step(zs);
    info.spacing = {first.pixel_spacing[1], first.pixel_spacing[0],
                    step > 0 ? step : (first.thickness > 0 ? first.thickness : 1.0)};
    auto volume = std::make_unique<Volume>(std::move(info));
    if (!headers_only) {
        for (std::size_t k : order) volume->add_chunk(std::move(files[k]->hu), 1);
    }
    out.volume = std::move(volume);
    return out;
}

}  // namespace

std::vector<LoadedVolume> read_dicom_folder(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                            const CancelToken& cancel, bool headers_only) {
    // GDCM prints warnings about odd files to stderr; lessmore reports problems itself.
    gdcm::Trace::WarningOff();
    gdcm::Trace::DebugOff();
    const std::filesystem::path folder(source.path);
    std::vector<FileRecord> records(source.files.size());
    pool.parallel_for(records.size(), [&](std::size_t i) {
        cancel.check();
        records[i] = headers_only ? read_header_only(folder / source.files[i], source.files[i])
                                  : read_file(folder / source.files[i], source.files[i]);
    });

    std::vector<LoadedVolume> out;
    std::map<std::string, std::vector<FileRecord*>> series;  // by SeriesInstanceUID
    for (FileRecord& r : records) {
        if (r.skip) continue;
        if (!r.header_ok) {  // cannot tell which series it belongs to: report the file alone
            LoadedVolume bad;
            bad.id = source.id;
            bad.path = path_text(folder / r.name);
            bad.error = r.error;
            out.push_back(std::move(bad));
            continue;
        }
        series[r.series_uid].push_back(&r);
    }
    // Label series by SeriesNumber when that is unique in the folder, else by UID.
    std::map<std::string, int> number_count;
    for (const auto& [uid, files] : series) ++number_count[files.front()->series_number];
    for (auto& [uid, files] : series) {
        std::string id = source.id;
        if (series.size() > 1) {
            const std::string& number = files.front()->series_number;
            id += "#" + (!number.empty() && number_count[number] == 1 ? number : (uid.empty() ? "unknown" : uid));
        }
        out.push_back(build_series(source, id, files, options, headers_only));
    }
    return out;  // empty when the folder held only non-image DICOM files
}

}  // namespace lessmore
