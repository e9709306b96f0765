#include <lessmore/error.hpp>
#include <lessmore/writers.hpp>

#include <opencv2/imgcodecs.hpp>

#include <vector>

namespace lessmore {

std::string encode_png(const Image8& image) {
    const cv::Mat m(image.height, image.width, CV_8UC1, const_cast<std::uint8_t*>(image.pixels.data()));
    std::vector<uchar> buf;
    // Level 1: several times faster than the default and only a little larger for CT.
    if (!cv::imencode(".png", m, buf, {cv::IMWRITE_PNG_COMPRESSION, 1})) throw Error("PNG encoding failed");
    return std::string(reinterpret_cast<const char*>(buf.data()), buf.size());
}

}  // namespace lessmore
