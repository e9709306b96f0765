// Single-file volumes: NIfTI, NRRD, MetaImage. Slices run along the third index axis,
// ascending. The file is decoded in a worker process (io/itk_volume_task.cpp); here its
// detached data file is checked to lie inside the input, and its values are stored.
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include "io/detached_data.hpp"
#include "io/readers.hpp"
#include "io/voxel_storage.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;

namespace lessmore {

LoadedVolume read_volume_file(const Source& source, DecoderPool& decoders, bool headers_only) {
    LoadedVolume out;
    out.id = source.id;
    out.path = source.path;
    try {
        check_detached_data(source.path, source.root);
        DecodedData d = decoders.run("itk-volume", source.path, headers_only ? "headers" : "");
        const nlohmann::json meta = nlohmann::json::parse(d.meta);
        const auto size = meta.at("size").get<std::vector<std::uint64_t>>();
        const auto spacing = meta.at("spacing").get<std::vector<double>>();
        const auto origin = meta.at("origin").get<std::vector<double>>();
        const auto axis = meta.at("axis").get<std::vector<double>>();
        const auto type = disk_type_from_name(meta.at("type").get<std::string>());
        if (size.size() != 3 || spacing.size() != 3 || origin.size() != 3 || !type) throw InputError("decoder gave bad metadata");
        VolumeInfo info;
        info.id = source.id;
        info.source = source.path;
        info.format = meta.at("format").get<std::string>();
        info.width = static_cast<int>(size[0]);
        info.height = static_cast<int>(size[1]);
        info.spacing = {spacing[0], spacing[1], spacing[2]};
        // z of slice k: the slice origin projected on the third axis direction.
        double origin_on_normal = 0.0;
        for (std::size_t k = 0; k < 3 && k < axis.size(); ++k) origin_on_normal += origin[k] * axis[k];
        for (std::uint64_t k = 0; k < size[2]; ++k) {
            info.slices.push_back({"", origin_on_normal + static_cast<double>(k) * info.spacing[2]});
        }
        if (headers_only) {
            info.type = *type == DiskType::UInt8                                     ? VoxelType::UInt8
                        : *type == DiskType::Float32 || *type == DiskType::Float64 ? VoxelType::Float32
                                                                                   : VoxelType::Int16;
            out.volume = std::make_unique<Volume>(std::move(info));
            return out;
        }
        const std::uint64_t voxels = size[0] * size[1] * size[2];
        Bytes buf = std::move(d.bytes);
        if (buf.size() != voxels * disk_type_size(*type)) throw InputError("decoder gave " + std::to_string(buf.size()) + " bytes");
        info.type = to_storage(*type, buf, voxels);
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
