#include "test_support.hpp"

#include <lessmore/files.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/png_writer.hpp>

#include <cstring>

namespace lessmore {
namespace {

struct Parsed {
    std::string header;
    std::size_t data_offset = 0;
};

Parsed parse(const std::string& npy) {
    Parsed p;
    EXPECT_EQ(npy.substr(0, 6), "\x93NUMPY");
    EXPECT_EQ(npy[6], '\x01');
    EXPECT_EQ(npy[7], '\x00');
    const std::size_t len = static_cast<unsigned char>(npy[8]) | (static_cast<unsigned char>(npy[9]) << 8);
    p.header = npy.substr(10, len);
    p.data_offset = 10 + len;
    return p;
}

TEST(Npy, Int16HeaderShapeAndData) {
    std::vector<std::int16_t> px = {-1024, 0, 1, 3071, -1, 7};
    const std::string npy = encode_npy(SliceView{px.data(), VoxelType::Int16, 3, 2});
    const Parsed p = parse(npy);
    EXPECT_EQ(p.data_offset % 64, 0u);  // numpy aligns the data
    EXPECT_EQ(p.header.back(), '\n');
    EXPECT_NE(p.header.find("'descr': '<i2'"), std::string::npos);
    EXPECT_NE(p.header.find("'fortran_order': False"), std::string::npos);
    EXPECT_NE(p.header.find("'shape': (2, 3)"), std::string::npos);  // rows, columns
    ASSERT_EQ(npy.size(), p.data_offset + px.size() * 2);
    EXPECT_EQ(std::memcmp(npy.data() + p.data_offset, px.data(), px.size() * 2), 0);
}

TEST(Npy, DtypesPerVoxelType) {
    std::vector<float> f = {1.5f};
    EXPECT_NE(parse(encode_npy(SliceView{f.data(), VoxelType::Float32, 1, 1})).header.find("'<f4'"), std::string::npos);
    std::vector<std::uint8_t> u8 = {1};
    EXPECT_NE(parse(encode_npy(SliceView{u8.data(), VoxelType::UInt8, 1, 1})).header.find("'|u1'"), std::string::npos);
    std::vector<std::uint16_t> u16 = {1};
    EXPECT_NE(parse(encode_npy(SliceView{u16.data(), VoxelType::UInt16, 1, 1})).header.find("'<u2'"),
              std::string::npos);
}

}  // namespace
}  // namespace lessmore
