// A folder of 2D images (PNG/TIFF/JPEG, 8- or 16-bit, read by ITK) is one volume, its slices in
// natural name order (2 before 10), or byte-wise with --order name.
#include <lessmore/error.hpp>
#include <lessmore/natural_order.hpp>

#include <lessmore/files.hpp>
#include "io/image_codec.hpp"
#include "io/readers.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

struct Decoded {
    DecodedImage image;
    std::string error;
};

// Decoded in a worker process: libpng, libjpeg and libtiff can crash on damaged files.
Decoded decode(DecoderPool& decoders, const fs::path& path) {
    Decoded d;
    try {
        DecodedData data = decoders.run("image", path.string());
        std::istringstream meta(data.meta);
        std::string type;
        meta >> d.image.width >> d.image.height >> type;
        const auto* t = std::find_if(std::begin(k_voxel_types), std::end(k_voxel_types),
                                     [&](VoxelType v) { return type == voxel_type_name(v); });
        const std::size_t n = static_cast<std::size_t>(std::max(d.image.width, 0)) *
                              static_cast<std::size_t>(std::max(d.image.height, 0));
        if (!meta || t == std::end(k_voxel_types) || data.bytes.size() != n * voxel_size(*t)) {
            throw InputError("decoder gave bad metadata");
        }
        d.image.type = *t;
        d.image.pixels = std::move(data.bytes);
    } catch (const InputError& e) {
        d.error = e.what();
    }
    return d;
}

}  // namespace

LoadedVolume read_image_folder(const Source& source, const ReadContext& context) {
    const LoadOptions& options = context.options;
    const bool headers_only = context.headers_only;
    LoadedVolume out;
    out.id = source.id;
    out.path = source.path;
    const fs::path folder(source.path);
    std::vector<std::string> files = source.files;
    if (options.order == SliceOrder::Position) std::sort(files.begin(), files.end(), natural_less);

    // Headers only: the first image tells size and type.
    std::vector<Decoded> decoded(headers_only ? 1 : files.size());
    context.pool.parallel_for(decoded.size(), [&](std::size_t i) {
        context.cancel.check();
        decoded[i] = decode(context.decoders, folder / files[i]);
    });

    VolumeInfo info;
    info.id = source.id;
    info.source = source.path;
    info.format = "images";
    for (std::size_t i = 0; i < decoded.size(); ++i) {
        const Decoded& d = decoded[i];
        if (!d.error.empty()) {
            out.path = path_text(folder / files[i]);
            out.error = d.error;
            return out;
        }
        const VoxelType type = d.image.type;
        if (i == 0) {
            info.width = d.image.width;
            info.height = d.image.height;
            info.type = type;
        } else if (d.image.width != info.width || d.image.height != info.height || type != info.type) {
            out.path = path_text(folder / files[i]);
            out.error = "image is " + std::to_string(d.image.width) + "x" + std::to_string(d.image.height) + " " +
                        voxel_type_name(type) + " but " + files[0] + " is " + std::to_string(info.width) + "x" +
                        std::to_string(info.height) + " " + voxel_type_name(info.type) +
                        "; all images of a folder must match";
            return out;
        }
    }
    for (const std::string& f : files) info.slices.push_back({f, std::nullopt, std::nullopt});  // no geometry
    auto volume = std::make_unique<Volume>(std::move(info));
    if (!headers_only) {
        for (Decoded& d : decoded) volume->add_chunk(std::move(d.image.pixels), 1);
    }
    out.volume = std::move(volume);
    return out;
}

}  // namespace lessmore
