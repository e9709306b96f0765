#include <lessmore/png_writer.hpp>

#include "io/image_codec.hpp"

#include <stdexcept>

namespace lessmore {

std::string encode_png(const Image8& image) {
    return encode_image(image.pixels.data(), image.width, image.height, 1, ImageFormat::Png);
}

std::string encode_png16(const std::vector<std::uint16_t>& pixels, int width, int height) {
    if (pixels.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
        throw std::logic_error("encode_png16: pixel count does not match the size");
    return encode_png16(pixels.data(), width, height);
}

}  // namespace lessmore
