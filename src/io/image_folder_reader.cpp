// A folder of 2D images (PNG/TIFF/JPEG, 8- or 16-bit) is one volume, its slices in
// natural name order (2 before 10), or byte-wise with --order name.
#include <lessmore/error.hpp>

#include "io/files.hpp"
#include "io/readers.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

struct Decoded {
    cv::Mat image;
    std::string error;
};

Decoded decode(const fs::path& path) {
    Decoded d;
    try {
        cv::Mat m = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
        if (m.empty()) {
            d.error = "cannot decode image";
            return d;
        }
        if (m.channels() == 3) {
            cv::cvtColor(m, m, cv::COLOR_BGR2GRAY);
        } else if (m.channels() == 4) {
            cv::cvtColor(m, m, cv::COLOR_BGRA2GRAY);
        } else if (m.channels() != 1) {
            d.error = "image with " + std::to_string(m.channels()) + " channels is not supported";
            return d;
        }
        d.image = m;
    } catch (const cv::Exception& e) {
        d.error = "cannot decode image: " + e.msg;
    }
    return d;
}

bool storage_of(int depth, VoxelType& type) {
    switch (depth) {
    case CV_8U: type = VoxelType::UInt8; return true;
    case CV_16U: type = VoxelType::UInt16; return true;
    case CV_16S: type = VoxelType::Int16; return true;
    case CV_32F: type = VoxelType::Float32; return true;
    default: return false;
    }
}

}  // namespace

LoadedVolume read_image_folder(const Source& source, const LoadOptions& options, ThreadPool& pool,
                               const CancelToken& cancel, bool headers_only) {
    LoadedVolume out;
    out.id = source.id;
    out.path = source.path;
    const fs::path folder(source.path);
    std::vector<std::string> files = source.files;
    if (options.order == SliceOrder::Position) std::sort(files.begin(), files.end(), natural_less);

    // Headers only: the first image tells size and type.
    std::vector<Decoded> decoded(headers_only ? 1 : files.size());
    pool.parallel_for(decoded.size(), [&](std::size_t i) {
        cancel.check();
        decoded[i] = decode(folder / files[i]);
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
        VoxelType type{};
        if (!storage_of(d.image.depth(), type)) {
            out.path = path_text(folder / files[i]);
            out.error = "unsupported image depth (use 8- or 16-bit grey images)";
            return out;
        }
        if (i == 0) {
            info.width = d.image.cols;
            info.height = d.image.rows;
            info.type = type;
        } else if (d.image.cols != info.width || d.image.rows != info.height || type != info.type) {
            out.path = path_text(folder / files[i]);
            out.error = "image is " + std::to_string(d.image.cols) + "x" + std::to_string(d.image.rows) + " " +
                        voxel_type_name(type) + " but " + files[0] + " is " + std::to_string(info.width) + "x" +
                        std::to_string(info.height) + " " + voxel_type_name(info.type) +
                        "; all images of a folder must match";
            return out;
        }
    }
    for (const std::string& f : files) info.slices.push_back({f, std::nullopt});
    auto volume = std::make_unique<Volume>(std::move(info));
    if (!headers_only) {
        for (Decoded& d : decoded) {
            const cv::Mat m = d.image.isContinuous() ? d.image : d.image.clone();
            Bytes bytes(m.total() * m.elemSize());
            std::memcpy(bytes.data(), m.data, bytes.size());
            d.image.release();
            volume->add_chunk(std::move(bytes), 1);
        }
    }
    out.volume = std::move(volume);
    return out;
}

}  // namespace lessmore
