// The worker side of the single-file volumes ITK reads (NRRD, MetaImage; NIfTI is read by
// lessmore's own reader, io/nifti_file.hpp): header, checks, voxels. ITK's readers (teem,
// MetaIO) can abort or crash on hostile files, so this runs only in a decoder process
// (io/decoder_pool.cpp), after the caller checked the header and the data
// (io/volume_data_check.hpp).
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include "io/itk_messages.hpp"
#include "io/readers.hpp"
#include "io/volume_header.hpp"
#include "io/voxel_storage.hpp"

#include <itkImageIOBase.h>
#include <itkMetaImageIO.h>
#include <itkNrrdImageIO.h>
#include <metaImage.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

// A volume whose header asks for more than this is refused before allocating.
constexpr std::uint64_t k_max_volume_bytes = std::uint64_t{64} << 30;

itk::ImageIOBase::Pointer make_io(const std::string& format) {
    if (format == "nrrd") return itk::NrrdImageIO::New().GetPointer();
    return itk::MetaImageIO::New().GetPointer();
}

DiskType disk_type(itk::IOComponentEnum type) {
    using C = itk::IOComponentEnum;
    switch (type) {
    case C::UCHAR:
        return DiskType::UInt8;
    case C::CHAR:
        return DiskType::Int8;
    case C::USHORT:
        return DiskType::UInt16;
    case C::SHORT:
        return DiskType::Int16;
    case C::UINT:
        return DiskType::UInt32;
    case C::INT:
        return DiskType::Int32;
    case C::ULONG:
        return sizeof(unsigned long) == 8 ? DiskType::UInt64 : DiskType::UInt32;
    case C::LONG:
        return sizeof(long) == 8 ? DiskType::Int64 : DiskType::Int32;
    case C::ULONGLONG:
        return DiskType::UInt64;
    case C::LONGLONG:
        return DiskType::Int64;
    case C::FLOAT:
        return DiskType::Float32;
    case C::DOUBLE:
        return DiskType::Float64;
    default:
        throw InputError("unsupported voxel type " + itk::ImageIOBase::GetComponentTypeAsString(type));
    }
}

// The header's size, checked to be one plausible scalar 3-D volume that the file can hold.
struct Extent {
    unsigned dims = 0;
    std::uint64_t size[3] = {1, 1, 1};
    std::uint64_t elem = 0;
    std::uint64_t voxels() const { return size[0] * size[1] * size[2]; }
};

Extent checked_extent(itk::ImageIOBase& io) {
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
    const std::string shape =
        std::to_string(e.size[0]) + "x" + std::to_string(e.size[1]) + "x" + std::to_string(e.size[2]);
    if (e.voxels() == 0 || e.size[0] > (1u << 20) || e.size[1] > (1u << 20) || e.size[2] > (1u << 24) ||
        e.voxels() > k_max_volume_bytes / std::max<std::uint64_t>(e.elem, 1)) {
        throw InputError("header claims an implausible size " + shape);
    }
    return e;
}

// Read whole, by the one code path (MetaIO's streamed reads place HeaderSize and
// compressed data by other rules). The buffer is filled first: a reader that fails to fill
// part of it can never hand back bytes left in this process by an earlier file.
Bytes read_voxels(itk::ImageIOBase& io, const Extent& e) {
    Bytes buf(e.voxels() * e.elem);
    std::memset(buf.data(), 0xA5, buf.size());
    itk::ImageIORegion region(e.dims);
    for (unsigned d = 0; d < e.dims; ++d) {
        region.SetIndex(d, 0);
        region.SetSize(d, io.GetDimensions(d));
    }
    io.SetIORegion(region);
    io.Read(buf.data());
    return buf;
}

// MetaIO reports short reads and failed decompression only on std::cerr, and returns
// success: whatever it prints while reading voxels fails the read.
class CerrCapture {
public:
    CerrCapture() : m_old(std::cerr.rdbuf(m_text.rdbuf())) {}
    ~CerrCapture() { std::cerr.rdbuf(m_old); }
    CerrCapture(const CerrCapture&) = delete;
    CerrCapture& operator=(const CerrCapture&) = delete;
    std::string text() const { return m_text.str(); }

private:
    std::ostringstream m_text;
    std::streambuf* m_old;
};

// ITK's reading of the header must agree with lessmore's (io/volume_header.hpp), from
// which the data was checked: the same number of voxel bytes and, for MetaImage, the
// same data file, offset, compression and byte order.
void check_agreement(const VolumeLayout& l, itk::ImageIOBase& io, const std::string& format) {
    std::uint64_t bytes = io.GetComponentSize() * io.GetNumberOfComponents();
    for (unsigned d = 0; d < io.GetNumberOfDimensions(); ++d) bytes *= io.GetDimensions(d);
    if (bytes != l.voxel_bytes() || io.GetComponentSize() != l.element_size) {
        throw InputError("ITK reads the header as " + std::to_string(bytes) + " bytes of voxels, lessmore as " +
                         std::to_string(l.voxel_bytes()) + "; not read");
    }
    if (format != "metaimage") return;
    const MetaImage* m = static_cast<itk::MetaImageIO&>(io).GetMetaImagePointer();
    const std::string name = m->ElementDataFileName();
    const bool local = name == "LOCAL" || name == "Local" || name == "local";
    const bool same = m->HeaderSize() == l.skip &&
                      m->CompressedData() == (l.encoding == VolumeLayout::Encoding::Zlib) && m->BinaryData() &&
                      m->BinaryDataByteOrderMSB() == l.big_endian && m->ElementNumberOfChannels() == 1 &&
                      (l.attached ? local : name == l.data_name);
    if (!same) throw InputError("MetaIO reads the header's data fields differently from lessmore; not read");
}

}  // namespace

DecodedData itk_volume_task(const std::string& path_text_arg, const std::string& args) {
    const fs::path path(path_text_arg);
    const std::string ext = extension_of(path);
    if (ext != ".nrrd" && ext != ".nhdr" && ext != ".mha" && ext != ".mhd")
        throw InputError("not an NRRD or MetaImage file");
    const std::string format = ext == ".nrrd" || ext == ".nhdr" ? "nrrd" : "metaimage";
    const bool headers_only = args == "headers";
    try {
        // The text headers again, bounded, before ITK opens the file (the data itself was
        // checked by the caller, io/volume_file_reader.cpp).
        const VolumeLayout layout = read_volume_layout(path);
        itk::ImageIOBase::Pointer io = make_io(format);
        if (!io->CanReadFile(path.c_str())) throw InputError("not a readable " + format + " file");
        io->SetFileName(path.string());
        io->ReadImageInformation();
        check_agreement(layout, *io, format);
        const Extent extent = checked_extent(*io);
        nlohmann::json meta;
        meta["format"] = format;
        meta["size"] = {extent.size[0], extent.size[1], extent.size[2]};
        std::vector<double> spacing, origin;
        for (unsigned d = 0; d < 3; ++d) {
            spacing.push_back(d < extent.dims ? io->GetSpacing(d) : 1.0);
            origin.push_back(d < extent.dims ? io->GetOrigin(d) : 0.0);
        }
        meta["spacing"] = spacing;
        meta["origin"] = origin;
        // direction[a]: the unit vector of index axis a in (x, y, z); an axis the file does
        // not have (a 2-D image) runs along its own coordinate.
        std::vector<std::vector<double>> direction;
        for (unsigned d = 0; d < 3; ++d) {
            std::vector<double> axis(3, 0.0);
            if (d < extent.dims) {
                const std::vector<double> given = io->GetDirection(d);
                for (unsigned r = 0; r < 3 && r < given.size(); ++r) axis[r] = given[r];
            } else {
                axis[d] = 1.0;
            }
            direction.push_back(axis);
        }
        meta["direction"] = direction;
        const DiskType type = disk_type(io->GetComponentType());
        meta["type"] = disk_type_name(type);
        DecodedData out;
        if (!headers_only) {
            const CerrCapture messages;
            out.bytes = read_voxels(*io, extent);
            if (format == "metaimage" && !messages.text().empty())
                throw InputError("MetaIO: " + itk_message(messages.text()));
        }
        out.meta = meta.dump();
        return out;
    } catch (const itk::ExceptionObject& e) {
        throw InputError("cannot read " + format + ": " + itk_message(e.GetDescription()));
    } catch (const std::bad_alloc&) {
        throw InputError("not enough memory to read this volume");
    }
}

}  // namespace lessmore
