#include "kernels/opencv_setup.hpp"

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <mutex>

namespace lessmore {

void configure_opencv() {
    static std::once_flag once;
    std::call_once(once, [] {
        cv::setNumThreads(1);
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    });
}

}  // namespace lessmore
