#include <lessmore/png_writer.hpp>

#include "io/image_codec.hpp"

namespace lessmore {

std::string encode_png(const Image8& image) {
    return encode_image(image.pixels.data(), image.width, image.height, 1, ImageFormat::Png);
}

}  // namespace lessmore
