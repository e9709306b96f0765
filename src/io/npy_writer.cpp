#include <lessmore/npy_writer.hpp>

#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "encode_npy writes host order as little-endian");

namespace lessmore {

namespace {

// shape: numpy's tuple without its parentheses, e.g. "512, 512".
std::string npy_header_of(const char* descr, const std::string& shape) {
    std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
    // Magic (6) + version (2) + length (2) + header, padded with spaces and ending in
    // a newline so the data starts on a 64-byte boundary, as numpy writes it.
    const std::size_t preamble = 10;
    const std::size_t total = ((preamble + header.size() + 1 + 63) / 64) * 64;
    header.append(total - preamble - header.size() - 1, ' ');
    header.push_back('\n');
    std::string out;
    out.append("\x93NUMPY", 6);
    out.push_back('\x01');
    out.push_back('\x00');
    const auto len = static_cast<std::uint16_t>(header.size());
    out.push_back(static_cast<char>(len & 0xff));
    out.push_back(static_cast<char>(len >> 8));
    return out + header;
}

std::string npy_header(const char* descr, std::size_t rows, std::size_t cols) {
    return npy_header_of(descr, std::to_string(rows) + ", " + std::to_string(cols));
}

const char* npy_descr(VoxelType type) {
    switch (type) {
    case VoxelType::UInt8:
        return "|u1";
    case VoxelType::Int16:
        return "<i2";
    case VoxelType::UInt16:
        return "<u2";
    case VoxelType::Int32:
        return "<i4";
    case VoxelType::Float32:
        return "<f4";
    case VoxelType::Float64:
        return "<f8";
    }
    return "|u1";
}

}  // namespace

std::string encode_npy(const SliceView& slice) {
    const char* descr = npy_descr(slice.type);
    const std::size_t data_bytes = slice.pixels() * voxel_size(slice.type);
    // The host is little-endian (x86-64, aarch64), as the descr says.
    return npy_header(descr, static_cast<std::size_t>(slice.height), static_cast<std::size_t>(slice.width)) +
           std::string(static_cast<const char*>(slice.data), data_bytes);
}

std::string encode_npy_block(const void* data, VoxelType type, std::size_t depth, std::size_t rows, std::size_t cols) {
    const std::string shape = std::to_string(depth) + ", " + std::to_string(rows) + ", " + std::to_string(cols);
    return npy_header_of(npy_descr(type), shape) +
           std::string(static_cast<const char*>(data), depth * rows * cols * voxel_size(type));
}

std::string encode_npy_f32(const float* data, std::size_t rows, std::size_t cols) {
    return npy_header("<f4", rows, cols) +
           std::string(reinterpret_cast<const char*>(data), rows * cols * sizeof(float));
}

std::string encode_npy_f64(const double* data, std::size_t rows, std::size_t cols) {
    return npy_header("<f8", rows, cols) +
           std::string(reinterpret_cast<const char*>(data), rows * cols * sizeof(double));
}

}  // namespace lessmore
