#include <lessmore/error.hpp>
#include <lessmore/load.hpp>

#include "io/readers.hpp"

#include <stdexcept>

namespace lessmore {
namespace {

std::vector<LoadedVolume> read(const Source& source, const ReadContext& context) {
    context.cancel.check();
    switch (source.kind) {
    case Source::Kind::DicomFolder:
        return read_dicom_folder(source, context);
    case Source::Kind::VolumeFile: {
        std::vector<LoadedVolume> out;
        out.push_back(read_volume_file(source, context.decoders, context.headers_only, context.options.streams));
        return out;
    }
    case Source::Kind::ImageFolder: {
        std::vector<LoadedVolume> out;
        out.push_back(read_image_folder(source, context));
        return out;
    }
    }
    return {};
}

}  // namespace

void SliceStream::read_slice(std::size_t, std::byte*) const {
    throw std::logic_error("SliceStream: this stream reads slabs in order, not single slices");
}

std::vector<LoadedVolume> load_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                      DecoderPool& decoders, const CancelToken& cancel) {
    return read(source, ReadContext{options, pool, decoders, cancel, false});
}

std::vector<LoadedVolume> inspect_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                         DecoderPool& decoders, const CancelToken& cancel) {
    return read(source, ReadContext{options, pool, decoders, cancel, true});
}

std::vector<LoadedVolume> load_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                      const CancelToken& cancel) {
    DecoderPool decoders(options.decoder_program, static_cast<std::size_t>(pool.size()));
    return load_source(source, options, pool, decoders, cancel);
}

std::vector<LoadedVolume> inspect_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                         const CancelToken& cancel) {
    DecoderPool decoders(options.decoder_program, static_cast<std::size_t>(pool.size()));
    return inspect_source(source, options, pool, decoders, cancel);
}

}  // namespace lessmore
