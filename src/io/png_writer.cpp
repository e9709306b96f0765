#include <lessmore/error.hpp>
#include <lessmore/writers.hpp>

#include <opencv2/imgcodecs.hpp>

#include <vector>

namespace lessmore {

std::string encode_png(const Image8& image) {
    const cv::Mat m(image.height, image.width, CV_8UC1, const_cast<std::uint8_t*>(image.pixels.data()));
    std::vector<uchar> buf;
    // OpenCV's defaults (fast deflate, RLE strategy) are the fastest of its settings on CT
    // and give smaller files than an explicit level 1.
    if (!cv::imencode(".png", m, buf)) throw Error("PNG encoding failed");
    return std::string(reinterpret_cast<const char*>(buf.data()), buf.size());
}

}  // namespace lessmore
