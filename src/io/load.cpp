#include <lessmore/error.hpp>
#include <lessmore/load.hpp>

#include "io/readers.hpp"

namespace lessmore {
namespace {

std::vector<LoadedVolume> read(const Source& source, const LoadOptions& options, ThreadPool& pool,
                               const CancelToken& cancel, bool headers_only) {
    cancel.check();
    switch (source.kind) {
    case Source::Kind::DicomFolder: return read_dicom_folder(source, options, pool, cancel, headers_only);
    case Source::Kind::VolumeFile: {
        std::vector<LoadedVolume> out;
        out.push_back(read_volume_file(source, headers_only));
        return out;
    }
    case Source::Kind::ImageFolder: {
        std::vector<LoadedVolume> out;
        out.push_back(read_image_folder(source, options, pool, cancel, headers_only));
        return out;
    }
    }
    return {};
}

}  // namespace

std::vector<LoadedVolume> load_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                      const CancelToken& cancel) {
    return read(source, options, pool, cancel, false);
}

std::vector<LoadedVolume> inspect_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                         const CancelToken& cancel) {
    return read(source, options, pool, cancel, true);
}

}  // namespace lessmore
