#include <lessmore/library_setup.hpp>

#include <gdcmTrace.h>
#include <itkObject.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>

namespace lessmore {

void configure_libraries() {
    cv::setNumThreads(1);
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    itk::Object::GlobalWarningDisplayOff();
    gdcm::Trace::WarningOff();
    gdcm::Trace::DebugOff();
    gdcm::Trace::ErrorOff();
}

}  // namespace lessmore
