#include <lessmore/writers.hpp>

#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "encode_npy writes host order as little-endian");

namespace lessmore {

std::string encode_npy(const SliceView& slice) {
    const char* descr = "|u1";
    switch (slice.type) {
    case VoxelType::UInt8: descr = "|u1"; break;
    case VoxelType::Int16: descr = "<i2"; break;
    case VoxelType::UInt16: descr = "<u2"; break;
    case VoxelType::Float32: descr = "<f4"; break;
    }
    std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" +
                         std::to_string(slice.height) + ", " + std::to_string(slice.width) + "), }";
    // Magic (6) + version (2) + length (2) + header, padded with spaces and ending in
    // a newline so the data starts on a 64-byte boundary, as numpy writes it.
    const std::size_t preamble = 10;
    const std::size_t total = ((preamble + header.size() + 1 + 63) / 64) * 64;
    header.append(total - preamble - header.size() - 1, ' ');
    header.push_back('\n');

    const std::size_t data_bytes = slice.pixels() * voxel_size(slice.type);
    std::string out;
    out.reserve(total + data_bytes);
    out.append("\x93NUMPY", 6);
    out.push_back('\x01');
    out.push_back('\x00');
    const auto len = static_cast<std::uint16_t>(header.size());
    out.push_back(static_cast<char>(len & 0xff));
    out.push_back(static_cast<char>(len >> 8));
    out += header;
    // The host is little-endian (x86-64, aarch64), as the descr says.
    out.append(static_cast<const char*>(slice.data), data_bytes);
    return out;
}

}  // namespace lessmore
