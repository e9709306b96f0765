// Single-file volumes: NIfTI (.nii, .nii.gz, .hdr/.img pairs), NRRD, MetaImage. Slices
// run along the third index axis, ascending. NIfTI is read by lessmore's own reader; NRRD
// and MetaImage are decoded by ITK in a worker process (io/itk_volume_task.cpp) after
// their headers and data were checked here (io/volume_data_check.hpp).
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/number_format.hpp>

#include "io/nifti_file.hpp"
#include "io/readers.hpp"
#include "io/volume_data_check.hpp"
#include "io/voxel_storage.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

DiskType disk_type(NiftiDataType t) {
    switch (t) {
    case NiftiDataType::UInt8:
        return DiskType::UInt8;
    case NiftiDataType::Int8:
        return DiskType::Int8;
    case NiftiDataType::Int16:
        return DiskType::Int16;
    case NiftiDataType::UInt16:
        return DiskType::UInt16;
    case NiftiDataType::Int32:
        return DiskType::Int32;
    case NiftiDataType::UInt32:
        return DiskType::UInt32;
    case NiftiDataType::Int64:
        return DiskType::Int64;
    case NiftiDataType::UInt64:
        return DiskType::UInt64;
    case NiftiDataType::Float32:
        return DiskType::Float32;
    case NiftiDataType::Float64:
        return DiskType::Float64;
    }
    return DiskType::Float64;
}

double length(const Matrix4& a, int column) {
    return std::sqrt(a[0][column] * a[0][column] + a[1][column] * a[1][column] + a[2][column] * a[2][column]);
}

// Geometry from nibabel's affine (img.affine: the sform, else the qform, else pixdim
// alone), turned from NIfTI's RAS to DICOM's LPS (x and y negated) and given at the
// precision of the header's fields: float32 in NIfTI-1, float64 in NIfTI-2 (docs/output.md,
// section "Geometry"). Column c of a slice is the first index i, row r the second index j,
// so the voxel (r, c) of slice k is data[c, r, k]; spacing is the lengths of the affine's
// columns (nibabel.affines.voxel_sizes), which the mapping needs when an sform disagrees
// with pixdim.
void set_nifti_geometry(const NiftiHeader& h, VolumeInfo& info, std::uint64_t slices) {
    const Matrix4 a = h.affine();
    const auto stored = [&](double v) { return h.version == 1 ? float32_decimal(v) : decimal15(v); };
    const std::array<double, 3> lps{-1.0, -1.0, 1.0};
    const double lengths[3] = {length(a, 0), length(a, 1), length(a, 2)};
    info.spacing = {stored(lengths[0]), stored(lengths[1]), stored(lengths[2])};
    if (lengths[0] > 0 && lengths[1] > 0) {
        std::array<double, 6> o{};
        for (int r = 0; r < 3; ++r) {
            o[r] = stored(lps[r] * a[r][0] / lengths[0]);
            o[3 + r] = stored(lps[r] * a[r][1] / lengths[1]);
        }
        info.orientation = o;
    }
    // z of slice k: its position along the third axis, origin + k * axis.
    const double axis_length = lengths[2];
    double origin_on_axis = 0.0;
    for (int r = 0; r < 3; ++r)
        origin_on_axis += a[r][3] * (axis_length > 0 ? a[r][2] / axis_length : (r == 2 ? 1.0 : 0.0));
    for (std::uint64_t k = 0; k < slices; ++k) {
        const double kd = static_cast<double>(k);
        std::array<double, 3> position{};
        for (int r = 0; r < 3; ++r) position[static_cast<std::size_t>(r)] = stored(lps[r] * (a[r][3] + kd * a[r][2]));
        info.slices.push_back({"", stored(origin_on_axis + kd * (axis_length > 0 ? axis_length : 1.0)), position});
    }
}

// A NIfTI file read slab by slab as the reducer asks (LoadOptions::streams): one
// streaming pass, the raw values of the slices in hand converted to the volume's type.
class NiftiStream final : public SliceStream {
public:
    NiftiStream(NiftiReader reader, VolumeInfo info, DiskType type, Scaling scaling)
        : m_reader(std::move(reader)), m_info(std::move(info)), m_type(type), m_scaling(scaling) {}

    const VolumeInfo& info() const override { return m_info; }

    void read(std::size_t count, std::byte* out) override {
        const std::size_t voxels = count * m_info.slice_pixels();
        if (m_scaling.identity() && disk_type_size(m_type) == voxel_size(m_info.type) && m_type != DiskType::Int8) {
            m_reader.read_slices(count, out);  // kept as stored: straight into place
            return;
        }
        m_raw.resize(count * m_reader.header().slice_bytes());
        m_reader.read_slices(count, m_raw.data());
        to_storage(m_type, m_scaling, m_raw, voxels);
        std::memcpy(out, m_raw.data(), voxels * voxel_size(m_info.type));
    }

private:
    NiftiReader m_reader;
    VolumeInfo m_info;
    DiskType m_type;
    Scaling m_scaling;
    Bytes m_raw;  // reused: no fresh pages per slab
};

// NIfTI by lessmore's own reader (io/nifti_file.hpp): validated, one streaming pass.
LoadedVolume read_nifti(const Source& source, bool headers_only, bool streams) {
    LoadedVolume out;
    out.id = source.id;
    out.path = source.path;
    NiftiReader reader = NiftiReader::open(source.path);
    const NiftiHeader& h = reader.header();
    const auto shape = h.shape();
    VolumeInfo info;
    info.id = source.id;
    info.source = source.path;
    info.format = "nifti";
    info.width = static_cast<int>(shape[0]);
    info.height = static_cast<int>(shape[1]);
    set_nifti_geometry(h, info, shape[2]);
    const DiskType type = disk_type(h.datatype);
    const NiftiScaling nibabel = nibabel_scaling(h);
    const Scaling scaling{nibabel.slope, nibabel.inter};
    info.type = storage_type(type, scaling);
    info.value_range = storage_range(type, scaling);
    out.streamable = true;
    if (headers_only) {
        out.volume = std::make_unique<Volume>(std::move(info));
        return out;
    }
    if (streams) {
        out.stream = std::make_unique<NiftiStream>(std::move(reader), std::move(info), type, scaling);
        return out;
    }
    Bytes buf(h.voxel_bytes());
    reader.read_slices(static_cast<std::size_t>(shape[2]), buf.data());
    to_storage(type, scaling, buf, static_cast<std::size_t>(shape[0] * shape[1] * shape[2]));
    auto volume = std::make_unique<Volume>(std::move(info));
    volume->add_chunk(std::move(buf), shape[2]);
    out.volume = std::move(volume);
    return out;
}

// Geometry as ITK reads NRRD and MetaImage (docs/output.md, section "Geometry"): already
// LPS (ITK turns NRRD's other spaces into it), `direction[a]` the unit vector of index axis
// a (NRRD's space directions / their lengths, MetaImage's TransformMatrix rows), spacing
// the lengths (ElementSpacing), origin the first voxel (space origin, Offset); computed
// values to 15 significant digits, as the headers' decimal text carries.
void set_itk_geometry(const std::vector<double>& spacing, const std::vector<double>& origin,
                      const std::vector<std::vector<double>>& direction, std::uint64_t slices, VolumeInfo& info) {
    for (const auto& axis : direction)
        if (axis.size() != 3) throw InputError("decoder gave bad metadata");
    info.spacing = {decimal15(spacing[0]), decimal15(spacing[1]), decimal15(spacing[2])};
    info.orientation =
        std::array<double, 6>{decimal15(direction[0][0]), decimal15(direction[0][1]), decimal15(direction[0][2]),
                              decimal15(direction[1][0]), decimal15(direction[1][1]), decimal15(direction[1][2])};
    // z of slice k: the slice origin projected on the third axis direction.
    double origin_on_normal = 0.0;
    for (std::size_t k = 0; k < 3; ++k) origin_on_normal += origin[k] * direction[2][k];
    for (std::uint64_t k = 0; k < slices; ++k) {
        const double step = static_cast<double>(k) * spacing[2];
        std::array<double, 3> position{};
        for (std::size_t r = 0; r < 3; ++r) position[r] = decimal15(origin[r] + step * direction[2][r]);
        info.slices.push_back({"", decimal15(origin_on_normal + step), position});
    }
}

}  // namespace

LoadedVolume read_volume_file(const Source& source, DecoderPool& decoders, bool headers_only, bool streams) {
    LoadedVolume out;
    out.id = source.id;
    out.path = source.path;
    try {
        const std::string ext = extension_of(source.path);
        if (is_nifti_name(source.path)) return read_nifti(source, headers_only, streams);
        if (ext != ".nrrd" && ext != ".nhdr" && ext != ".mha" && ext != ".mhd")
            throw InputError("not a volume file name");
        const VolumeLayout layout = read_volume_layout(source.path);
        check_data_location(layout, source.root);
        const DataCheck data = check_volume_data(layout, !headers_only);
        DecodedData d = decoders.run("itk-volume", source.path, headers_only ? "headers" : "");
        const nlohmann::json meta = nlohmann::json::parse(d.meta);
        const auto size = meta.at("size").get<std::vector<std::uint64_t>>();
        const auto spacing = meta.at("spacing").get<std::vector<double>>();
        const auto origin = meta.at("origin").get<std::vector<double>>();
        const auto direction = meta.at("direction").get<std::vector<std::vector<double>>>();
        const auto type = disk_type_from_name(meta.at("type").get<std::string>());
        if (size.size() != 3 || spacing.size() != 3 || origin.size() != 3 || direction.size() != 3 || !type)
            throw InputError("decoder gave bad metadata");
        VolumeInfo info;
        info.id = source.id;
        info.source = source.path;
        info.format = meta.at("format").get<std::string>();
        info.width = static_cast<int>(size[0]);
        info.height = static_cast<int>(size[1]);
        set_itk_geometry(spacing, origin, direction, size[2], info);
        info.type = storage_type(*type, Scaling{});
        info.value_range = storage_range(*type, Scaling{});
        if (headers_only) {
            out.volume = std::make_unique<Volume>(std::move(info));
            return out;
        }
        const std::uint64_t voxels = size[0] * size[1] * size[2];
        Bytes buf = std::move(d.bytes);
        if (buf.size() != voxels * disk_type_size(*type))
            throw InputError("decoder gave " + std::to_string(buf.size()) + " bytes");
        verify_voxels(layout, data, buf.data(), buf.size());
        to_storage(*type, Scaling{}, buf, voxels);
        auto volume = std::make_unique<Volume>(std::move(info));
        volume->add_chunk(std::move(buf), size[2]);
        out.volume = std::move(volume);
    } catch (const InputError& e) {
        out.error = e.what();
    } catch (const nlohmann::json::exception&) {
        out.error = "decoder gave bad metadata";
    } catch (const std::bad_alloc&) {
        out.error = "not enough memory to read this volume";
    }
    return out;
}

}  // namespace lessmore
