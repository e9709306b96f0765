#include <lessmore/volume.hpp>

#include <stdexcept>

namespace lessmore {

std::size_t voxel_size(VoxelType type) {
    switch (type) {
    case VoxelType::UInt8:
        return 1;
    case VoxelType::Int16:
        return 2;
    case VoxelType::UInt16:
        return 2;
    case VoxelType::Int32:
        return 4;
    case VoxelType::Float32:
        return 4;
    case VoxelType::Float64:
        return 8;
    }
    return 1;
}

const char* voxel_type_name(VoxelType type) {
    switch (type) {
    case VoxelType::UInt8:
        return "uint8";
    case VoxelType::Int16:
        return "int16";
    case VoxelType::UInt16:
        return "uint16";
    case VoxelType::Int32:
        return "int32";
    case VoxelType::Float32:
        return "float32";
    case VoxelType::Float64:
        return "float64";
    }
    return "?";
}

std::optional<std::pair<double, double>> VolumeInfo::value_bounds() const {
    if (type == VoxelType::Float32 || type == VoxelType::Float64) return std::nullopt;
    if (value_range) return value_range;
    switch (type) {
    case VoxelType::UInt8:
        return std::make_pair(0.0, 255.0);
    case VoxelType::Int16:
        return std::make_pair(-32768.0, 32767.0);
    case VoxelType::UInt16:
        return std::make_pair(0.0, 65535.0);
    case VoxelType::Int32:
        return std::make_pair(-2147483648.0, 2147483647.0);
    default:
        return std::nullopt;
    }
}

void Volume::add_chunk(Bytes bytes, std::size_t count) {
    const std::size_t per_slice = m_info.slice_bytes();
    if (bytes.size() != per_slice * count) {
        throw std::logic_error("Volume::add_chunk: chunk size does not match slice size");
    }
    const std::size_t chunk = m_chunks.size();
    m_chunks.push_back(std::move(bytes));
    for (std::size_t k = 0; k < count; ++k) m_refs.push_back({chunk, k * per_slice, nullptr});
}

void Volume::add_chunk_at(Bytes bytes, const std::vector<std::size_t>& slices) {
    const std::size_t per_slice = m_info.slice_bytes();
    if (bytes.size() != per_slice * slices.size()) {
        throw std::logic_error("Volume::add_chunk_at: chunk size does not match slice size");
    }
    const std::size_t chunk = m_chunks.size();
    m_chunks.push_back(std::move(bytes));
    for (std::size_t k = 0; k < slices.size(); ++k) {
        if (slices[k] >= m_refs.size()) m_refs.resize(slices[k] + 1, SliceRef{k_unplaced, 0, nullptr});
        m_refs[slices[k]] = {chunk, k * per_slice, nullptr};
    }
}

void Volume::add_borrowed_slice(const void* data) {
    if (data == nullptr) throw std::logic_error("Volume::add_borrowed_slice: no voxels");
    m_refs.push_back({k_unplaced, 0, static_cast<const std::byte*>(data)});
}

SliceView Volume::slice(std::size_t k) const {
    const SliceRef& ref = m_refs.at(k);
    if (ref.borrowed != nullptr) return SliceView{ref.borrowed, m_info.type, m_info.width, m_info.height};
    if (ref.chunk == k_unplaced) throw std::logic_error("Volume::slice: slice was never placed");
    return SliceView{m_chunks[ref.chunk].data() + ref.offset, m_info.type, m_info.width, m_info.height};
}

}  // namespace lessmore
