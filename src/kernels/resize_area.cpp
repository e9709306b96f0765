#include <lessmore/resize_pillow.hpp>

#include "kernels/opencv_setup.hpp"

#include <opencv2/imgproc.hpp>

#include <stdexcept>

namespace lessmore {

Image8 resize_area(const Image8& in, int out_width, int out_height) {
    if (in.width <= 0 || in.height <= 0 || out_width <= 0 || out_height <= 0) {
        throw std::invalid_argument("resize_area: empty image or size");
    }
    if (in.width == out_width && in.height == out_height) return in;
    configure_opencv();
    Image8 out(out_width, out_height);
    const cv::Mat src(in.height, in.width, CV_8UC1, const_cast<std::uint8_t*>(in.pixels.data()));
    cv::Mat dst(out_height, out_width, CV_8UC1, out.pixels.data());
    cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_AREA);
    return out;
}

}  // namespace lessmore
