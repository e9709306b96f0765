// `lessmore sweep --plot`: kept fraction against threshold, drawn with OpenCV.
#include <lessmore/number_format.hpp>
#include <lessmore/sweep.hpp>

#include "io/image_codec.hpp"
#include "kernels/opencv_setup.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>

namespace lessmore {

std::string sweep_plot_png(const SweepResult& r) {
    configure_opencv();
    const int w = 1100, h = 700, left = 90, right = 260, top = 60, bottom = 80;
    cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
    const int pw = w - left - right, ph = h - top - bottom;
    double lo = r.rows.front().threshold, hi = r.rows.front().threshold;
    for (const SweepRow& row : r.rows) {
        lo = std::min(lo, row.threshold);
        hi = std::max(hi, row.threshold);
    }
    if (hi == lo) hi = lo + 1;
    auto px = [&](double t) { return left + static_cast<int>(std::lround((t - lo) / (hi - lo) * pw)); };
    auto py = [&](double f) { return top + static_cast<int>(std::lround((1.0 - f) * ph)); };
    const auto font = cv::FONT_HERSHEY_SIMPLEX;
    const cv::Scalar grid(225, 225, 225), ink(40, 40, 40);
    // Grid, ticks and tick labels.
    for (int k = 0; k <= 10; ++k) {
        const double f = k / 10.0;
        cv::line(img, {left, py(f)}, {left + pw, py(f)}, grid, 1);
        cv::putText(img, cv::format("%.1f", f), {left - 45, py(f) + 5}, font, 0.45, ink, 1, cv::LINE_AA);
    }
    // Threshold ticks at a "nice" step (1, 2 or 5 times a power of ten), about ten of them.
    const double raw = (hi - lo) / 10.0, mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
    for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + 1e-9; t += step) {
        cv::line(img, {px(t), top}, {px(t), top + ph}, grid, 1);
        const std::string text = format_number(std::round(t / step) * step == 0 ? 0.0 : std::round(t * 1e6) / 1e6);
        cv::putText(img, text, {px(t) - 4 * static_cast<int>(text.size()), top + ph + 22}, font, 0.45, ink, 1,
                    cv::LINE_AA);
    }
    cv::rectangle(img, {left, top}, {left + pw, top + ph}, ink, 1);
    cv::putText(img, "threshold (" + r.method + ")", {left + pw / 2 - 80, h - 25}, font, 0.6, ink, 1, cv::LINE_AA);
    cv::Mat ylabel(30, 200, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(ylabel, "kept fraction", {10, 22}, font, 0.6, ink, 1, cv::LINE_AA);
    cv::rotate(ylabel, ylabel, cv::ROTATE_90_COUNTERCLOCKWISE);
    ylabel.copyTo(img(cv::Rect(8, top + ph / 2 - 100, 30, 200)));
    cv::putText(img, "Slices kept per threshold (" + r.strategy + ")", {left, 35}, font, 0.7, ink, 1, cv::LINE_AA);

    // One line per volume (muted colours), the total on top in black.
    static const cv::Scalar k_palette[] = {{180, 119, 31},  {14, 127, 255}, {44, 160, 44},   {40, 39, 214},
                                           {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                                           {34, 189, 188},  {207, 190, 23}};
    std::size_t v = 0;
    for (const auto& [id, n] : r.slices) {
        std::vector<cv::Point> pts;
        for (const SweepRow& row : r.rows)
            pts.push_back({px(row.threshold), py(n ? static_cast<double>(row.volumes.at(id)) / n : 0.0)});
        const cv::Scalar colour = k_palette[v % 10];
        cv::polylines(img, pts, false, colour, r.slices.size() > 30 ? 1 : 2, cv::LINE_AA);
        if (v < 12) {
            const int y = top + 30 + static_cast<int>(v) * 22;
            cv::line(img, {w - right + 20, y - 5}, {w - right + 45, y - 5}, colour, 2, cv::LINE_AA);
            std::string name = id.size() > 24 ? "..." + id.substr(id.size() - 21) : id;
            cv::putText(img, name, {w - right + 52, y}, font, 0.42, ink, 1, cv::LINE_AA);
        }
        ++v;
    }
    if (r.slices.size() > 12) {
        cv::putText(img, "+ " + std::to_string(r.slices.size() - 12) + " more volumes",
                    {w - right + 20, top + 30 + 12 * 22}, font, 0.42, ink, 1, cv::LINE_AA);
    }
    std::vector<cv::Point> total;
    for (const SweepRow& row : r.rows)
        total.push_back({px(row.threshold), py(row.slices ? static_cast<double>(row.kept) / row.slices : 0.0)});
    cv::polylines(img, total, false, cv::Scalar(0, 0, 0), 3, cv::LINE_AA);
    cv::line(img, {w - right + 20, top + 3}, {w - right + 45, top + 3}, cv::Scalar(0, 0, 0), 3, cv::LINE_AA);
    cv::putText(img, "all volumes", {w - right + 52, top + 8}, font, 0.45, ink, 1, cv::LINE_AA);

    cv::Mat rgb;
    cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
    return encode_image(rgb.ptr<std::uint8_t>(), rgb.cols, rgb.rows, 3, ImageFormat::Png);
}

}  // namespace lessmore
