#pragma once
// The format readers behind load_source()/inspect_source(). ITK, GDCM and OpenCV
// image reading live only behind this header.
#include <lessmore/load.hpp>
#include <lessmore/thread_pool.hpp>

#include <vector>

namespace lessmore {

std::vector<LoadedVolume> read_dicom_folder(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                            const CancelToken& cancel, bool headers_only);

LoadedVolume read_volume_file(const Source& source, bool headers_only);

LoadedVolume read_image_folder(const Source& source, const LoadOptions& options, ThreadPool& pool,
                               const CancelToken& cancel, bool headers_only);

}  // namespace lessmore
