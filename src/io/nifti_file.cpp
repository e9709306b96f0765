#include "io/nifti_file.hpp"

#include "io/gzip_stream.hpp"

#include <lessmore/error.hpp>

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

constexpr std::size_t k_nifti1_size = 348;
constexpr std::size_t k_nifti2_size = 540;
// A single file has 4 extension-flag bytes after the header, before extensions or voxels.
constexpr std::uint64_t k_extension_flag_bytes = 4;

struct DataTypeInfo {
    int code;
    NiftiDataType type;
    int bits;
    const char* name;
};

constexpr DataTypeInfo k_types[] = {
    {2, NiftiDataType::UInt8, 8, "uint8"},       {4, NiftiDataType::Int16, 16, "int16"},
    {8, NiftiDataType::Int32, 32, "int32"},      {16, NiftiDataType::Float32, 32, "float32"},
    {64, NiftiDataType::Float64, 64, "float64"}, {256, NiftiDataType::Int8, 8, "int8"},
    {512, NiftiDataType::UInt16, 16, "uint16"},  {768, NiftiDataType::UInt32, 32, "uint32"},
    {1024, NiftiDataType::Int64, 64, "int64"},   {1280, NiftiDataType::UInt64, 64, "uint64"},
};

const char* refused_type_name(int code) {
    switch (code) {
    case 0:
        return "unknown";
    case 1:
        return "binary";
    case 32:
        return "complex64";
    case 128:
        return "RGB24";
    case 1536:
        return "float128";
    case 1792:
        return "complex128";
    case 2048:
        return "complex256";
    case 2304:
        return "RGBA32";
    default:
        return "not a NIfTI type";
    }
}

std::string number_text(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", v);
    return text;
}

std::string printable(const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) {
        if (std::isprint(c)) {
            out += static_cast<char>(c);
        } else {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", c);
            out += esc;
        }
    }
    return out;
}

template <typename T>
T swapped(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    unsigned char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    std::reverse(b, b + sizeof(T));
    std::memcpy(&v, b, sizeof(T));
    return v;
}

// Fields of a header block, in this machine's byte order.
class Fields {
public:
    Fields(const std::byte* data, bool swap) : m_data(data), m_swap(swap) {}
    template <typename T>
    T get(std::size_t offset) const {
        T v;
        std::memcpy(&v, m_data + offset, sizeof(T));
        return m_swap ? swapped(v) : v;
    }
    std::string bytes(std::size_t offset, std::size_t size) const {
        return std::string(reinterpret_cast<const char*>(m_data + offset), size);
    }
    std::string text(std::size_t offset, std::size_t size) const {
        const std::string all = bytes(offset, size);
        return all.substr(0, all.find('\0'));
    }

private:
    const std::byte* m_data;
    bool m_swap;
};

// What the header stores but NiftiHeader keeps only once checked.
struct Stored {
    std::string magic;  // 4 bytes (NIfTI-2: 8, with the line-ending check)
    int bitpix = 0;
    double vox_offset = 0;  // NIfTI-1 stores a float
};

void read_nifti1(const Fields& f, NiftiHeader& h, Stored& s) {
    h.version = 1;
    for (int i = 0; i < 8; ++i) h.dim[i] = f.get<std::int16_t>(40 + 2 * i);
    h.intent_code = f.get<std::int16_t>(68);
    h.datatype_code = f.get<std::int16_t>(70);
    s.bitpix = f.get<std::int16_t>(72);
    for (int i = 0; i < 8; ++i) h.pixdim[i] = f.get<float>(76 + 4 * i);
    s.vox_offset = f.get<float>(108);
    h.scl_slope = f.get<float>(112);
    h.scl_inter = f.get<float>(116);
    h.xyzt_units = f.get<std::uint8_t>(123);
    h.descrip = f.text(148, 80);
    h.qform_code = f.get<std::int16_t>(252);
    h.sform_code = f.get<std::int16_t>(254);
    for (int i = 0; i < 3; ++i) h.quatern[i] = f.get<float>(256 + 4 * i);
    for (int i = 0; i < 3; ++i) h.qoffset[i] = f.get<float>(268 + 4 * i);
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) h.srow[r][c] = f.get<float>(280 + 16 * r + 4 * c);
    h.intent_name = f.text(328, 16);
    s.magic = f.bytes(344, 4);
}

void read_nifti2(const Fields& f, NiftiHeader& h, Stored& s) {
    h.version = 2;
    s.magic = f.bytes(4, 8);
    h.datatype_code = f.get<std::int16_t>(12);
    s.bitpix = f.get<std::int16_t>(14);
    for (int i = 0; i < 8; ++i) h.dim[i] = f.get<std::int64_t>(16 + 8 * i);
    for (int i = 0; i < 8; ++i) h.pixdim[i] = f.get<double>(104 + 8 * i);
    const std::int64_t offset = f.get<std::int64_t>(168);
    s.vox_offset = static_cast<double>(offset);
    if (offset >= 0) h.vox_offset = static_cast<std::uint64_t>(offset);  // exact, unlike the double
    h.scl_slope = f.get<double>(176);
    h.scl_inter = f.get<double>(184);
    h.descrip = f.text(240, 80);
    h.qform_code = f.get<std::int32_t>(344);
    h.sform_code = f.get<std::int32_t>(348);
    for (int i = 0; i < 3; ++i) h.quatern[i] = f.get<double>(352 + 8 * i);
    for (int i = 0; i < 3; ++i) h.qoffset[i] = f.get<double>(376 + 8 * i);
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) h.srow[r][c] = f.get<double>(400 + 32 * r + 8 * c);
    h.xyzt_units = f.get<std::int32_t>(500);
    h.intent_code = f.get<std::int32_t>(504);
    h.intent_name = f.text(508, 16);
}

void check_magic(NiftiHeader& h, const Stored& s) {
    const std::string v = std::to_string(h.version);
    const std::string magic = s.magic.substr(0, 4);
    if (magic == std::string("n+") + v + '\0') {
        h.pair = false;
    } else if (magic == std::string("ni") + v + '\0') {
        h.pair = true;
    } else {
        throw InputError("not a NIfTI-" + v + " file: magic \"" + printable(magic) + "\" (Analyze 7.5 is not read)");
    }
    // NIfTI-2's line-ending bytes catch a file mangled by a text-mode transfer; all zero
    // is repaired by nibabel, so accepted.
    const std::string eol = s.magic.size() == 8 ? s.magic.substr(4) : std::string();
    if (!eol.empty() && eol != std::string("\r\n\032\n") && eol != std::string(4, '\0'))
        throw InputError("NIfTI-2 line-ending check bytes are damaged (\"" + printable(eol) +
                         "\"): text-mode transfer?");
}

void check_dims(const NiftiHeader& h) {
    const std::int64_t n = h.dim[0];
    if (n < 1 || n > 7) throw InputError("dim[0] = " + std::to_string(n) + ": a NIfTI image has 1 to 7 dimensions");
    for (int i = 1; i <= n; ++i) {
        if (h.dim[i] < 1) {
            throw InputError("dim[" + std::to_string(i) + "] = " + std::to_string(h.dim[i]) +
                             ": every dimension must be at least 1");
        }
    }
    for (int i = 4; i <= n; ++i) {
        if (h.dim[i] == 1) continue;
        const std::string what = i == 4 ? " with " + std::to_string(h.dim[4]) + " volumes" : "";
        throw InputError("a " + std::to_string(n) + "-D image" + what + " (dim[" + std::to_string(i) +
                         "] = " + std::to_string(h.dim[i]) + "): lessmore reads one 3-D volume per file");
    }
}

void check_type(NiftiHeader& h, const Stored& s) {
    const auto* info = std::find_if(std::begin(k_types), std::end(k_types),
                                    [&](const DataTypeInfo& t) { return t.code == h.datatype_code; });
    if (info == std::end(k_types)) {
        throw InputError("datatype " + std::to_string(h.datatype_code) + " (" + refused_type_name(h.datatype_code) +
                         ") is not supported: lessmore reads integer and real voxels");
    }
    if (s.bitpix != info->bits) {
        throw InputError("bitpix " + std::to_string(s.bitpix) + " disagrees with datatype " +
                         std::to_string(info->code) + " (" + info->name + ", " + std::to_string(info->bits) + " bits)");
    }
    h.datatype = info->type;
    h.bytes_per_voxel = static_cast<std::size_t>(info->bits / 8);
    const auto shape = h.shape();
    std::uint64_t total = h.bytes_per_voxel;
    for (std::uint64_t n : shape) {
        if (__builtin_mul_overflow(total, n, &total)) {
            throw InputError("image size overflows: " + std::to_string(shape[0]) + " x " + std::to_string(shape[1]) +
                             " x " + std::to_string(shape[2]) + " voxels of " + std::to_string(h.bytes_per_voxel) +
                             " bytes");
        }
    }
}

void check_vox_offset(NiftiHeader& h, const Stored& s) {
    const double v = s.vox_offset;
    const std::string text = number_text(v);
    if (!std::isfinite(v)) throw InputError("vox_offset is not a finite number (" + text + ")");
    if (v < 0) throw InputError("vox_offset " + text + " is negative");
    if (v != std::floor(v)) throw InputError("vox_offset " + text + " is not a whole number");
    if (v >= 0x1p63) throw InputError("vox_offset " + text + " is past the end of any file");
    if (h.version == 1) h.vox_offset = static_cast<std::uint64_t>(v);
    const std::uint64_t header = (h.version == 1 ? k_nifti1_size : k_nifti2_size) + k_extension_flag_bytes;
    if (!h.pair && h.vox_offset < header) {
        throw InputError("vox_offset " + std::to_string(h.vox_offset) + " is inside the header: a single-file NIfTI-" +
                         std::to_string(h.version) + " needs at least " + std::to_string(header));
    }
}

// pixdim, qfac and the transform codes as nibabel repairs them on load (the header
// checks it fixes without raising: "error level" 40).
void repair_like_nibabel(NiftiHeader& h) {
    for (int i = 1; i <= 3; ++i) {
        const double v = h.pixdim[i];
        const std::string name = "pixdim[" + std::to_string(i) + "]";
        if (!std::isfinite(v)) throw InputError(name + " is not finite (" + number_text(v) + ")");
        if (v == 0) {
            h.pixdim[i] = 1;
            h.notes.push_back(name + " = 0: using 1, as nibabel does");
        } else if (v < 0) {
            h.pixdim[i] = -v;
            h.notes.push_back(name + " = " + number_text(v) + ": using " + number_text(-v) + ", as nibabel does");
        }
    }
    for (const auto& [code, name] : {std::pair{&h.qform_code, "qform_code"}, std::pair{&h.sform_code, "sform_code"}}) {
        if (*code >= 0 && *code <= 5) continue;
        h.notes.push_back(std::string(name) + " " + std::to_string(*code) +
                          " is not a NIfTI code: using 0, as nibabel does");
        *code = 0;
    }
    const double qfac = h.pixdim[0];
    if (qfac == 1.0 || qfac == -1.0) return;
    // Most writers leave pixdim[0] at 0: only worth a note when the qform is used.
    if (h.qform_code > 0 && h.sform_code == 0)
        h.notes.push_back("qfac pixdim[0] = " + number_text(qfac) + ": using 1, as nibabel does");
    h.pixdim[0] = 1;
}

void check_scaling(const NiftiHeader& h) {
    const bool slope_used = h.scl_slope != 0 && std::isfinite(h.scl_slope);
    if (slope_used && !std::isfinite(h.scl_inter)) {
        throw InputError("scl_slope " + number_text(h.scl_slope) + " is set but scl_inter is not finite (" +
                         number_text(h.scl_inter) + ")");
    }
}

using Real = long double;  // numpy's longdouble: nibabel's quaternion math runs in it
using Rotation = std::array<std::array<Real, 3>, 3>;

// nibabel's fillpositive() + quat2mat(), operation for operation.
Rotation qform_rotation(const NiftiHeader& h) {
    const Real x = h.quatern[0], y = h.quatern[1], z = h.quatern[2];
    Real norm = x * x;
    norm += y * y;
    norm += z * z;
    const Real w2 = 1.0L - norm;
    // nibabel's tolerance for a slightly long (b, c, d): 3 epsilons of the stored type.
    const Real threshold = h.version == 1 ? -Real(3 * FLT_EPSILON) : -Real(3 * DBL_EPSILON);
    if (w2 < threshold)
        throw InputError("qform quaternion is not a unit quaternion (b^2 + c^2 + d^2 = " + number_text(double(norm)) +
                         ")");
    const Real w = w2 < 0 ? 0.0L : std::sqrt(w2);
    const Real nq = w * w + x * x + y * y + z * z;
    if (nq < DBL_EPSILON) return {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
    const Real s = 2.0L / nq;
    const Real X = x * s, Y = y * s, Z = z * s;
    const Real wX = w * X, wY = w * Y, wZ = w * Z;
    const Real xX = x * X, xY = x * Y, xZ = x * Z;
    const Real yY = y * Y, yZ = y * Z, zZ = z * Z;
    return {{{1.0L - (yY + zZ), xY - wZ, xZ + wY},
             {xY + wZ, 1.0L - (xX + zZ), yZ - wX},
             {xZ - wY, yZ + wX, 1.0L - (xX + yY)}}};
}

void check_transforms(const NiftiHeader& h) {
    if (h.sform_code > 0) {
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 4; ++c) {
                if (std::isfinite(h.srow[r][c])) continue;
                throw InputError(std::string("sform holds a non-finite value (srow_") + "xyz"[r] + "[" +
                                 std::to_string(c) + "] = " + number_text(h.srow[r][c]) + ")");
            }
    }
    if (h.qform_code > 0) {
        const char* names[] = {"quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z"};
        for (int i = 0; i < 6; ++i) {
            const double v = i < 3 ? h.quatern[i] : h.qoffset[i - 3];
            if (!std::isfinite(v))
                throw InputError(std::string("qform holds a non-finite value (") + names[i] + " = " + number_text(v) +
                                 ")");
        }
        if (h.sform_code == 0) qform_rotation(h);  // the affine comes from it: it must be a rotation
    }
}

// Detects the header's version and byte order from sizeof_hdr (348 or 540).
std::size_t header_size(const std::byte* data, bool& swap) {
    std::int32_t n;
    std::memcpy(&n, data, sizeof n);
    for (std::int32_t size : {348, 540}) {
        if (n == size || swapped(n) == size) {
            swap = n != size;
            return static_cast<std::size_t>(size);
        }
    }
    throw InputError("not a NIfTI file: sizeof_hdr is " + std::to_string(n) + ", not 348 or 540");
}

struct NiftiFiles {
    fs::path header;
    fs::path image;  // empty for a single file
};

// The other file of a pair: the 3-letter extension at `ext_at` replaced by `to`, keeping
// each letter's case (a.HDR pairs with a.IMG).
fs::path pair_sibling(const fs::path& path, std::size_t ext_at, const char* to) {
    std::string name = path.filename().string();
    for (std::size_t i = 0; i < 3; ++i) {
        const bool upper = std::isupper(static_cast<unsigned char>(name[ext_at + i]));
        name[ext_at + i] = upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(to[i]))) : to[i];
    }
    return path.parent_path() / name;
}

NiftiFiles nifti_files(const fs::path& path) {
    std::string name = path.filename().string();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::size_t end = name.size();
    if (end > 3 && name.compare(end - 3, 3, ".gz") == 0) end -= 3;
    const std::string ext = end > 4 ? name.substr(end - 4, 4) : std::string();
    if (ext == ".nii") return {path, {}};
    if (ext == ".hdr") return {path, pair_sibling(path, end - 3, "img")};
    if (ext == ".img") return {pair_sibling(path, end - 3, "hdr"), path};
    throw InputError("not a NIfTI file name (.nii, .nii.gz, .hdr or .img)");
}

std::unique_ptr<InputStream> open_named(const fs::path& path) {
    auto stream = open_input_stream(path);
    std::string name = path.filename().string();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool gz_name = name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0;
    if (gz_name && !stream->is_gzip()) throw InputError("not a gzip file, although its name ends in .gz");
    return stream;
}

// The header at the start of `stream`; `pair`: whether the file's name makes it a .hdr.
NiftiHeader read_header(InputStream& stream, bool pair) {
    if (!stream.is_gzip() && stream.file_size() < k_nifti1_size)
        throw InputError("file too short for a NIfTI header: " + std::to_string(stream.file_size()) + " bytes");
    std::byte block[k_nifti2_size];
    stream.read(block, 4);
    bool swap = false;
    const std::size_t size = header_size(block, swap);
    stream.read(block + 4, size - 4);
    // Checked first: the other checks (vox_offset) depend on the kind of file.
    const char* magic = reinterpret_cast<const char*>(block) + (size == k_nifti1_size ? 344 : 4);
    const std::string v = size == k_nifti1_size ? "1" : "2";
    if (pair && std::string(magic, 4) == "n+" + v + '\0')
        throw InputError("magic \"n+" + v + "\" (single file) in a .hdr header");
    if (!pair && std::string(magic, 4) == "ni" + v + '\0')
        throw InputError("magic \"ni" + v +
                         "\" says the voxels are in a separate .img file, but this is a single file");
    return parse_nifti_header(block, size);
}

// The voxels must fit in what the data file can hold, before anyone allocates for them.
void check_capacity(const NiftiHeader& h, const InputStream& data) {
    std::uint64_t end = 0;
    const bool overflow = __builtin_add_overflow(h.vox_offset, h.voxel_bytes(), &end);
    if (!overflow && end <= data.capacity()) return;
    const std::string claim = "header claims " + std::to_string(h.voxel_bytes()) + " bytes of voxels after byte " +
                              std::to_string(h.vox_offset);
    if (!data.is_gzip()) throw InputError(claim + " but the file has only " + std::to_string(data.file_size()));
    throw InputError(claim + " but a gzip file of " + std::to_string(data.file_size()) + " bytes holds at most " +
                     std::to_string(data.capacity()));
}

void swap_voxels(std::byte* data, std::uint64_t count, std::size_t size) {
    auto each = [&](auto word) {
        using T = decltype(word);
        for (std::uint64_t i = 0; i < count; ++i) {
            T v;
            std::memcpy(&v, data + i * sizeof(T), sizeof(T));
            if constexpr (sizeof(T) == 2) v = __builtin_bswap16(v);
            if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
            if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
            std::memcpy(data + i * sizeof(T), &v, sizeof(T));
        }
    };
    if (size == 2) each(std::uint16_t{});
    if (size == 4) each(std::uint32_t{});
    if (size == 8) each(std::uint64_t{});
}

// Errors in the other file of a pair name that file.
template <typename F>
auto naming(const fs::path& file, bool name_it, F&& f) {
    try {
        return f();
    } catch (const InputError& e) {
        if (!name_it) throw;
        throw InputError(file.filename().string() + ": " + e.what());
    }
}

}  // namespace

bool is_nifti_name(const fs::path& path) {
    try {
        nifti_files(path);
        return true;
    } catch (const InputError&) {
        return false;
    }
}

fs::path nifti_pair_sibling(const fs::path& path) {
    if (!is_nifti_name(path)) return {};
    const NiftiFiles files = nifti_files(path);
    if (files.image.empty()) return {};
    return files.header == path ? files.image : files.header;
}

const char* nifti_type_name(NiftiDataType type) {
    for (const DataTypeInfo& t : k_types)
        if (t.type == type) return t.name;
    return "?";
}

std::array<std::uint64_t, 3> NiftiHeader::shape() const {
    std::array<std::uint64_t, 3> out{1, 1, 1};
    for (int i = 0; i < 3; ++i)
        if (i < dim[0] && dim[i + 1] > 0) out[i] = static_cast<std::uint64_t>(dim[i + 1]);
    return out;
}

Matrix4 NiftiHeader::sform_affine() const {
    Matrix4 m{};
    for (int r = 0; r < 3; ++r) m[r] = srow[r];
    m[3] = {0, 0, 0, 1};
    return m;
}

Matrix4 NiftiHeader::qform_affine() const {
    const Rotation rot = qform_rotation(*this);
    const Real qfac = pixdim[0] == -1.0 ? -1.0L : 1.0L;
    const Real vox[3] = {pixdim[1], pixdim[2], pixdim[3] * qfac};
    Matrix4 m{};
    for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c) m[r][c] = static_cast<double>(rot[r][c] * vox[c]);
        m[r][3] = qoffset[r];
    }
    m[3] = {0, 0, 0, 1};
    return m;
}

Matrix4 NiftiHeader::base_affine() const {
    // nibabel's shape_zoom_affine(): x flipped, voxel (n - 1) / 2 at the origin.
    Matrix4 m{};
    const auto n = shape();
    for (int i = 0; i < 3; ++i) {
        const double zoom = (i < dim[0] ? pixdim[i + 1] : 1.0) * (i == 0 ? -1.0 : 1.0);
        const double origin = static_cast<double>(n[i] - 1) / 2.0;
        m[i][i] = zoom;
        m[i][3] = -origin * zoom;
    }
    m[3][3] = 1;
    return m;
}

Matrix4 NiftiHeader::affine() const {
    if (sform_code > 0) return sform_affine();
    if (qform_code > 0) return qform_affine();
    return base_affine();
}

NiftiScaling nibabel_scaling(const NiftiHeader& header) {
    if (header.scl_slope == 0 || !std::isfinite(header.scl_slope)) return {};
    return {header.scl_slope, header.scl_inter};
}

NiftiHeader parse_nifti_header(const std::byte* data, std::size_t size) {
    if (size < 4) throw InputError("file too short for a NIfTI header: " + std::to_string(size) + " bytes");
    bool swap = false;
    const std::size_t needed = header_size(data, swap);
    if (size < needed) throw InputError("file too short for a NIfTI header: " + std::to_string(size) + " bytes");
    NiftiHeader h;
    Stored s;
    const Fields fields(data, swap);
    if (needed == k_nifti1_size) {
        read_nifti1(fields, h, s);
    } else {
        read_nifti2(fields, h, s);
    }
    h.swapped = swap;
    check_magic(h, s);
    check_dims(h);
    check_type(h, s);
    check_vox_offset(h, s);
    repair_like_nibabel(h);
    check_scaling(h);
    check_transforms(h);
    return h;
}

NiftiReader::NiftiReader(NiftiHeader header, std::unique_ptr<InputStream> stream, fs::path data_path)
    : m_header(std::move(header)), m_stream(std::move(stream)), m_data_path(std::move(data_path)) {}
NiftiReader::NiftiReader(NiftiReader&&) noexcept = default;
NiftiReader& NiftiReader::operator=(NiftiReader&&) noexcept = default;
NiftiReader::~NiftiReader() = default;

NiftiReader NiftiReader::open(const fs::path& path) {
    const NiftiFiles files = nifti_files(path);
    const bool pair = !files.image.empty();
    const fs::path data_file = pair ? files.image : path;
    // Messages name the file of a pair that is not `path`.
    const bool name_header = files.header != path;
    const bool name_data = data_file != path;
    NiftiHeader header;
    auto stream = naming(files.header, name_header, [&] {
        auto s = open_named(files.header);
        header = read_header(*s, pair);
        if (pair) s->finish();  // a .hdr.gz is checked like any gzip file
        return s;
    });
    if (pair) stream = naming(data_file, name_data, [&] { return open_named(data_file); });
    naming(data_file, name_data, [&] {
        check_capacity(header, *stream);
        stream->expect(header.vox_offset + header.voxel_bytes());
        stream->skip(header.vox_offset - stream->position());
    });
    return NiftiReader(std::move(header), std::move(stream), data_file);
}

void NiftiReader::read_slices(std::size_t count, std::byte* dest) {
    if (count == 0) return;
    if (!m_stream) throw std::logic_error("NiftiReader: read after the last slice or after an error");
    if (count > slices_left()) throw std::logic_error("NiftiReader: more slices requested than remain");
    try {
        m_stream->read(dest, count * m_header.slice_bytes());
        if (m_header.swapped && m_header.bytes_per_voxel > 1)
            swap_voxels(dest, count * m_header.slice_bytes() / m_header.bytes_per_voxel, m_header.bytes_per_voxel);
        m_next_slice += count;
        if (slices_left() == 0) {
            m_stream->finish();
            m_stream.reset();
        }
    } catch (const InputError& e) {
        m_stream.reset();
        if (!m_header.pair) throw;
        throw InputError(m_data_path.filename().string() + ": " + e.what());
    } catch (...) {
        m_stream.reset();
        throw;
    }
}

}  // namespace lessmore
