// Single-file volumes through ITK: NIfTI, NRRD, MetaImage. Slices run along the
// third index axis, ascending.
#include <lessmore/error.hpp>

#include <lessmore/files.hpp>
#include "io/itk_messages.hpp"
#include "io/metaimage_check.hpp"
#include "io/readers.hpp"

#include <itk_zlib.h>  // ITK's zlib module, to check .nii.gz files are complete
#include <itkImageIOBase.h>
#include <itkMetaImageIO.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <limits>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

// A volume whose header asks for more than this is refused before allocating.
constexpr std::uint64_t k_max_volume_bytes = std::uint64_t{64} << 30;
// Deflate cannot expand data by more than about 1032:1.
constexpr std::uint64_t k_max_deflate_ratio = 1100;

itk::ImageIOBase::Pointer make_io(const std::string& ext, std::string& format) {
    if (ext == ".nii" || ext == ".nii.gz") {
        format = "nifti";
        return itk::NiftiImageIO::New().GetPointer();
    }
    if (ext == ".nrrd" || ext == ".nhdr") {
        format = "nrrd";
        return itk::NrrdImageIO::New().GetPointer();
    }
    format = "metaimage";
    return itk::MetaImageIO::New().GetPointer();
}

template <typename From, typename To>
void narrow_in_place(Bytes& buf, std::size_t n) {
    // Safe front to back: the write position never passes the read position.
    static_assert(sizeof(To) <= sizeof(From));
    for (std::size_t i = 0; i < n; ++i) {
        From v;
        std::memcpy(&v, buf.data() + i * sizeof(From), sizeof(From));
        const To t = static_cast<To>(v);
        std::memcpy(buf.data() + i * sizeof(To), &t, sizeof(To));
    }
    buf.resize(n * sizeof(To));  // capacity kept: shrinking would copy the volume once more
}

template <typename T>
bool fits_int16(const Bytes& buf, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, buf.data() + i * sizeof(T), sizeof(T));
        if constexpr (std::is_signed_v<T>) {
            if (v < INT16_MIN || v > INT16_MAX) return false;
        } else {
            if (v > static_cast<T>(INT16_MAX)) return false;
        }
    }
    return true;
}

template <typename T>
void widen_to_int16(Bytes& buf, std::size_t n) {
    Bytes out(n * sizeof(std::int16_t));
    for (std::size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, buf.data() + i * sizeof(T), sizeof(T));
        const auto w = static_cast<std::int16_t>(v);
        std::memcpy(out.data() + i * sizeof(std::int16_t), &w, sizeof(w));
    }
    buf.swap(out);
}

// Integers become int16 when every value fits (CT in HU), else float32.
template <typename T>
VoxelType integer_to_storage(Bytes& buf, std::size_t n) {
    if (fits_int16<T>(buf, n)) {
        if constexpr (sizeof(T) >= 2) {
            narrow_in_place<T, std::int16_t>(buf, n);
        } else {
            widen_to_int16<T>(buf, n);
        }
        return VoxelType::Int16;
    }
    if constexpr (sizeof(T) >= sizeof(float)) {
        narrow_in_place<T, float>(buf, n);  // float32 is exact up to 2^24
        return VoxelType::Float32;
    } else {
        throw std::logic_error("narrow integers always fit int16");
    }
}

VoxelType to_storage(itk::IOComponentEnum type, Bytes& buf, std::size_t n) {
    using C = itk::IOComponentEnum;
    switch (type) {
    case C::UCHAR: return VoxelType::UInt8;
    case C::CHAR: return integer_to_storage<std::int8_t>(buf, n);
    case C::SHORT: return VoxelType::Int16;
    case C::USHORT:
        if (fits_int16<std::uint16_t>(buf, n)) return VoxelType::Int16;  // same bytes
        return VoxelType::UInt16;
    case C::INT: return integer_to_storage<std::int32_t>(buf, n);
    case C::UINT: return integer_to_storage<std::uint32_t>(buf, n);
    case C::LONG: return integer_to_storage<long>(buf, n);
    case C::ULONG: return integer_to_storage<unsigned long>(buf, n);
    case C::LONGLONG: return integer_to_storage<long long>(buf, n);
    case C::ULONGLONG: return integer_to_storage<unsigned long long>(buf, n);
    case C::FLOAT: return VoxelType::Float32;
    case C::DOUBLE: narrow_in_place<double, float>(buf, n); return VoxelType::Float32;
    default: throw InputError("unsupported voxel type " + itk::ImageIOBase::GetComponentTypeAsString(type));
    }
}

// nifticlib reads a truncated .nii.gz without complaint (the missing voxels come out as
// whatever the buffer held). A gzip file ends with its uncompressed size (mod 2^32): when
// that disagrees with what the header needs, decompress the whole stream to be sure
// (files written as several gzip members legitimately disagree), and refuse a short one.
void check_gzip_complete(const fs::path& path, std::uint64_t needed) {
    const std::string text = read_tail(path, 4);
    unsigned char tail[4] = {0, 0, 0, 0};
    if (text.size() == 4) std::memcpy(tail, text.data(), 4);
    const std::uint32_t isize = tail[0] | (tail[1] << 8) | (tail[2] << 16) | (static_cast<std::uint32_t>(tail[3]) << 24);
    const std::uint32_t lo = static_cast<std::uint32_t>(needed);
    if (static_cast<std::uint32_t>(isize - lo) <= (std::uint32_t{1} << 24)) return;  // header + extensions + voxels
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) throw InputError("cannot open the gzip stream");
    std::vector<char> buf(std::size_t{1} << 20);
    std::uint64_t total = 0;
    int n = 0;
    while ((n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()))) > 0) total += static_cast<std::uint64_t>(n);
    int err = Z_OK;
    const char* message = gzerror(gz, &err);
    const std::string why = n < 0 || (err != Z_OK && err != Z_STREAM_END) ? std::string(message) : std::string();
    gzclose(gz);
    if (!why.empty() || total < needed) {
        throw InputError("truncated or corrupt .nii.gz: " + std::to_string(total) + " bytes decompress, the header needs " +
                         std::to_string(needed) + (why.empty() ? "" : " (" + why + ")"));
    }
}

// The header's size, checked to be one plausible scalar 3-D volume that the file can hold.
struct Extent {
    unsigned dims = 0;
    std::uint64_t size[3] = {1, 1, 1};
    std::uint64_t elem = 0;
    std::uint64_t voxels() const { return size[0] * size[1] * size[2]; }
};

Extent checked_extent(itk::ImageIOBase& io, const fs::path& path, const std::string& ext, const std::string& format) {
    Extent e;
    e.dims = io.GetNumberOfDimensions();
    if (io.GetNumberOfComponents() != 1) {
        throw InputError("has " + std::to_string(io.GetNumberOfComponents()) +
                         " components per voxel; only scalar volumes are supported");
    }
    for (unsigned d = 0; d < e.dims; ++d) {
        const auto s = static_cast<std::uint64_t>(io.GetDimensions(d));
        if (d < 3) {
            e.size[d] = s;
        } else if (s != 1) {
            throw InputError(std::to_string(e.dims) + "-D image with size " + std::to_string(s) + " along axis " +
                             std::to_string(d) + " is not supported (one 3-D volume per file)");
        }
    }
    e.elem = io.GetComponentSize();
    const std::string shape = std::to_string(e.size[0]) + "x" + std::to_string(e.size[1]) + "x" + std::to_string(e.size[2]);
    if (e.voxels() == 0 || e.size[0] > (1u << 20) || e.size[1] > (1u << 20) || e.size[2] > (1u << 24) ||
        e.voxels() > k_max_volume_bytes / std::max<std::uint64_t>(e.elem, 1)) {
        throw InputError("header claims an implausible size " + shape);
    }
    std::error_code ec;
    const auto file_bytes = static_cast<std::uint64_t>(fs::file_size(path, ec));
    const bool compressed = ext == ".nii.gz" || io.GetUseCompression();
    const std::uint64_t need = e.voxels() * e.elem;
    if (!ec && format == "nifti" && (compressed ? need > file_bytes * k_max_deflate_ratio : need > file_bytes)) {
        throw InputError("header claims " + shape + " voxels but the file is only " + std::to_string(file_bytes) +
                         " bytes (truncated or corrupt)");
    }
    return e;
}

// Reads in slabs of slices straight into one buffer where the format allows it (NIfTI's
// own reader would otherwise hold a second copy of the whole volume).
Bytes read_voxels(itk::ImageIOBase& io, const Extent& e, const std::string& format) {
    Bytes buf(e.voxels() * e.elem);
    const std::uint64_t slice_bytes = e.size[0] * e.size[1] * e.elem;
    const std::uint64_t slab = e.dims >= 3 && (io.CanStreamRead() || format == "nifti")
                                   ? std::max<std::uint64_t>(1, (std::uint64_t{32} << 20) / std::max<std::uint64_t>(slice_bytes, 1))
                                   : e.size[2];
    for (std::uint64_t k0 = 0; k0 < e.size[2]; k0 += slab) {
        itk::ImageIORegion region(e.dims);
        for (unsigned d = 0; d < e.dims; ++d) {
            region.SetIndex(d, 0);
            region.SetSize(d, io.GetDimensions(d));
        }
        if (e.dims >= 3) {
            region.SetIndex(2, static_cast<itk::IndexValueType>(k0));
            region.SetSize(2, static_cast<itk::SizeValueType>(std::min(slab, e.size[2] - k0)));
        }
        io.SetIORegion(region);
        io.Read(buf.data() + k0 * slice_bytes);
    }
    return buf;
}

VolumeInfo volume_info(const Source& source, const std::string& format, itk::ImageIOBase& io, const Extent& e) {
    VolumeInfo info;
    info.id = source.id;
    info.source = source.path;
    info.format = format;
    info.width = static_cast<int>(e.size[0]);
    info.height = static_cast<int>(e.size[1]);
    for (unsigned d = 0; d < 3; ++d) info.spacing[d] = d < e.dims ? io.GetSpacing(d) : 1.0;
    // z of slice k: the slice origin projected on the third axis direction.
    double origin_on_normal = 0.0;
    if (e.dims >= 3) {
        const std::vector<double> axis = io.GetDirection(2);
        for (unsigned d = 0; d < 3 && d < axis.size(); ++d) origin_on_normal += io.GetOrigin(d) * axis[d];
    }
    for (std::uint64_t k = 0; k < e.size[2]; ++k) {
        info.slices.push_back({"", origin_on_normal + static_cast<double>(k) * info.spacing[2]});
    }
    return info;
}

}  // namespace

LoadedVolume read_volume_file(const Source& source, bool headers_only) {
    LoadedVolume out;
    out.id = source.id;
    out.path = source.path;
    const fs::path path(source.path);
    const std::string ext = extension_of(path);
    std::string format;
    try {
        itk::ImageIOBase::Pointer io = make_io(ext, format);
        if (!io->CanReadFile(source.path.c_str())) throw InputError("not a readable " + format + " file");
        io->SetFileName(source.path);
        io->ReadImageInformation();
        const Extent extent = checked_extent(*io, path, ext, format);
        VolumeInfo info = volume_info(source, format, *io, extent);
        if (headers_only) {
            const auto c = io->GetComponentType();
            info.type = c == itk::IOComponentEnum::UCHAR                                       ? VoxelType::UInt8
                        : c == itk::IOComponentEnum::FLOAT || c == itk::IOComponentEnum::DOUBLE ? VoxelType::Float32
                                                                                                : VoxelType::Int16;
            out.volume = std::make_unique<Volume>(std::move(info));
            return out;
        }
        if (ext == ".nii.gz") check_gzip_complete(path, extent.voxels() * extent.elem + 348);
        if (format == "metaimage") check_metaimage_data(path, extent.voxels() * extent.elem);
        Bytes buf = read_voxels(*io, extent, format);
        info.type = to_storage(io->GetComponentType(), buf, extent.voxels());
        auto volume = std::make_unique<Volume>(std::move(info));
        volume->add_chunk(std::move(buf), extent.size[2]);
        out.volume = std::move(volume);
    } catch (const itk::ExceptionObject& e) {
        out.error = "cannot read " + (format.empty() ? std::string("volume") : format) + ": " + itk_message(e.GetDescription());
    } catch (const std::bad_alloc&) {
        out.error = "not enough memory to read this volume";
    } catch (const std::exception& e) {
        out.error = itk_message(e.what());
    }
    return out;
}

}  // namespace lessmore
