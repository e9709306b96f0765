#include "io/decoder_tasks.hpp"

#include <lessmore/error.hpp>

#include "io/readers.hpp"

namespace lessmore {

DecodedData run_decoder_task(const std::string& task, const std::string& path, const std::string& args) {
    if (task == "itk-volume") return itk_volume_task(path, args);
    if (task == "image") return image_task(path, args);
    if (task == "dicom-pixels") return dicom_pixels_task(path, args);
    throw InputError("unknown decoder task '" + task + "'");
}

}  // namespace lessmore
