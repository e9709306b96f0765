#include "io/nifti_writer.hpp"

#include "io/deflate.hpp"

#include <lessmore/error.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "encode_nifti_gz writes host order as little-endian");

namespace lessmore {
namespace {

// NIfTI-1 datatype code and bits per voxel (nifti1.h: DT_UINT8 2, DT_INT16 4, DT_INT32 8,
// DT_FLOAT32 16, DT_FLOAT64 64, DT_UINT16 512).
std::pair<std::int16_t, std::int16_t> datatype(VoxelType t) {
    switch (t) {
    case VoxelType::UInt8:
        return {2, 8};
    case VoxelType::Int16:
        return {4, 16};
    case VoxelType::UInt16:
        return {512, 16};
    case VoxelType::Int32:
        return {8, 32};
    case VoxelType::Float32:
        return {16, 32};
    case VoxelType::Float64:
        return {64, 64};
    }
    return {0, 0};
}

template <typename T>
void put(std::string& h, std::size_t offset, T value) {
    std::memcpy(&h[offset], &value, sizeof value);
}

// The quaternion of an orthonormal rotation R (columns), with qfac = -1 when R is a
// reflection (its third column negated first): NIfTI-1's method 2 (nifti1.h, "quatern").
struct Quaternion {
    double b = 0, c = 0, d = 0, qfac = 1;
};
Quaternion quaternion_of(double r[3][3]) {
    Quaternion q;
    const double det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) -
                       r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) +
                       r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
    if (det < 0) {
        q.qfac = -1;
        for (int row = 0; row < 3; ++row) r[row][2] = -r[row][2];
    }
    // a = sqrt(1 + trace) / 2 when it is large enough, else from the largest diagonal term.
    const double trace = r[0][0] + r[1][1] + r[2][2];
    double a = 0;
    if (trace > 0.5) {
        a = 0.5 * std::sqrt(1.0 + trace);
        q.b = 0.25 * (r[2][1] - r[1][2]) / a;
        q.c = 0.25 * (r[0][2] - r[2][0]) / a;
        q.d = 0.25 * (r[1][0] - r[0][1]) / a;
    } else if (r[0][0] >= r[1][1] && r[0][0] >= r[2][2]) {
        q.b = 0.5 * std::sqrt(1.0 + r[0][0] - r[1][1] - r[2][2]);
        q.c = 0.25 * (r[0][1] + r[1][0]) / q.b;
        q.d = 0.25 * (r[0][2] + r[2][0]) / q.b;
        a = 0.25 * (r[2][1] - r[1][2]) / q.b;
    } else if (r[1][1] >= r[2][2]) {
        q.c = 0.5 * std::sqrt(1.0 + r[1][1] - r[0][0] - r[2][2]);
        q.b = 0.25 * (r[0][1] + r[1][0]) / q.c;
        q.d = 0.25 * (r[1][2] + r[2][1]) / q.c;
        a = 0.25 * (r[0][2] - r[2][0]) / q.c;
    } else {
        q.d = 0.5 * std::sqrt(1.0 + r[2][2] - r[0][0] - r[1][1]);
        q.b = 0.25 * (r[0][2] + r[2][0]) / q.d;
        q.c = 0.25 * (r[1][2] + r[2][1]) / q.d;
        a = 0.25 * (r[1][0] - r[0][1]) / q.d;
    }
    if (a < 0) {  // NIfTI stores a >= 0 implicitly
        q.b = -q.b;
        q.c = -q.c;
        q.d = -q.d;
    }
    return q;
}

std::string header_of(const NiftiBlock& b) {
    std::string h(352, '\0');  // 348-byte header + 4-byte extension flag (none)
    put<std::int32_t>(h, 0, 348);
    h[38] = 'r';
    const std::int16_t dim[8] = {3,
                                 static_cast<std::int16_t>(b.dims[0]),
                                 static_cast<std::int16_t>(b.dims[1]),
                                 static_cast<std::int16_t>(b.dims[2]),
                                 1,
                                 1,
                                 1,
                                 1};
    std::memcpy(&h[40], dim, sizeof dim);
    const auto [code, bits] = datatype(b.type);
    put<std::int16_t>(h, 70, code);
    put<std::int16_t>(h, 72, bits);
    double length[3];
    double r[3][3];
    for (int col = 0; col < 3; ++col) {
        length[col] = std::sqrt(b.affine[0][col] * b.affine[0][col] + b.affine[1][col] * b.affine[1][col] +
                                b.affine[2][col] * b.affine[2][col]);
        for (int row = 0; row < 3; ++row) r[row][col] = length[col] > 0 ? b.affine[row][col] / length[col] : 0.0;
    }
    double off = 0;  // the largest inner product of two columns: 0 when orthogonal
    for (int i = 0; i < 3; ++i)
        for (int j = i + 1; j < 3; ++j)
            off = std::max(off, std::fabs(r[0][i] * r[0][j] + r[1][i] * r[1][j] + r[2][i] * r[2][j]));
    const bool qform = b.scanner && off < 1e-6 && length[0] > 0 && length[1] > 0 && length[2] > 0;
    const Quaternion q = qform ? quaternion_of(r) : Quaternion{};
    const float pixdim[8] = {static_cast<float>(q.qfac),
                             static_cast<float>(length[0]),
                             static_cast<float>(length[1]),
                             static_cast<float>(length[2]),
                             0.0F,
                             0.0F,
                             0.0F,
                             0.0F};
    std::memcpy(&h[76], pixdim, sizeof pixdim);
    put<float>(h, 108, 352.0F);  // vox_offset
    put<float>(h, 112, 0.0F);    // scl_slope 0: values as stored
    h[123] = 2;                  // xyzt_units: NIFTI_UNITS_MM
    const char descrip[] = "lessmore unit";
    std::memcpy(&h[148], descrip, sizeof descrip);
    put<std::int16_t>(h, 252, static_cast<std::int16_t>(qform ? 1 : 0));
    put<std::int16_t>(h, 254, static_cast<std::int16_t>(b.scanner ? 1 : 2));
    put<float>(h, 256, static_cast<float>(q.b));
    put<float>(h, 260, static_cast<float>(q.c));
    put<float>(h, 264, static_cast<float>(q.d));
    for (int row = 0; row < 3; ++row) {
        put<float>(h, 268 + 4 * static_cast<std::size_t>(row), static_cast<float>(b.affine[row][3]));
        for (int col = 0; col < 4; ++col)
            put<float>(h, 280 + 16 * static_cast<std::size_t>(row) + 4 * static_cast<std::size_t>(col),
                       static_cast<float>(b.affine[row][col]));
    }
    std::memcpy(&h[344], "n+1", 4);
    return h;
}

}  // namespace

std::string encode_nifti_gz(const NiftiBlock& b) {
    for (int n : b.dims)
        if (n < 1 || n > 32767) throw InputError("NIfTI-1: a unit side of " + std::to_string(n) + " voxels");
    const std::string header = header_of(b);
    const std::size_t bytes = static_cast<std::size_t>(b.dims[0]) * b.dims[1] * b.dims[2] * voxel_size(b.type);
    // A gzip member (RFC 1952) deflated at level 1: on a 16x512x512 int16 CT slab zlib's level 1
    // compressed 3.7x faster than its level 6 for files 16% larger (docs/performance.md,
    // section "3-D units"); ISA-L's level 1 (io/deflate.cpp) is faster still.
    return deflate_fast({header, std::string_view(static_cast<const char*>(b.data), bytes)}, DeflateWrapper::Gzip);
}

}  // namespace lessmore
