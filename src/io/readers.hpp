#pragma once
// The format readers behind load_source()/inspect_source(). Third-party decoders run in
// worker processes (DecoderPool); ITK and GDCM live only behind this header.
#include <lessmore/decoder_pool.hpp>
#include <lessmore/load.hpp>
#include <lessmore/thread_pool.hpp>

#include <string>
#include <vector>

namespace lessmore {

// What every reader needs besides the source.
struct ReadContext {
    const LoadOptions& options;
    ThreadPool& pool;
    DecoderPool& decoders;
    const CancelToken& cancel;
    bool headers_only = false;
};

std::vector<LoadedVolume> read_dicom_folder(const Source& source, const ReadContext& context);
LoadedVolume read_volume_file(const Source& source, DecoderPool& decoders, bool headers_only, bool streams = false);
LoadedVolume read_image_folder(const Source& source, const ReadContext& context);

// Decoder tasks (run in a worker by DecoderPool::run, dispatched in io/decoder_tasks.cpp).
DecodedData itk_volume_task(const std::string& path, const std::string& args);    // "itk-volume"
DecodedData image_task(const std::string& path, const std::string& args);         // "image"
DecodedData dicom_pixels_task(const std::string& path, const std::string& args);  // "dicom-pixels"

}  // namespace lessmore
