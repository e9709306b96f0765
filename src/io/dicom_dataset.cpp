// Reading values out of a parsed DICOM dataset, and grouping encapsulated pixel data
// fragments into frames. Every read stays inside the element's value, which the walk
// (dicom_parser.cpp) has already checked lies inside the buffer.
#include "io/dicom_parser.hpp"

#include <lessmore/error.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace lessmore {
namespace {

template <typename T>
std::optional<T> binary_value(const DicomDataset& ds, DicomTag tag, std::size_t index) {
    const DicomElement* e = ds.find(tag);
    if (e == nullptr || e->sequence || e->encapsulated || index >= e->value_length / sizeof(T)) return std::nullopt;
    const std::uint8_t* p = ds.bytes().data + e->value_offset + index * sizeof(T);
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        const std::size_t byte = ds.big_endian() ? sizeof(T) - 1 - i : i;
        bits |= std::uint32_t{p[byte]} << (8 * i);
    }
    return static_cast<T>(bits);  // two's complement for the signed types
}

// One DS/IS number: spaces around it and a leading '+' allowed, nothing else.
bool parse_number(std::string_view text, double& out) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
        if (!text.empty() && (text.front() == '-' || text.front() == '+')) return false;
    }
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);  // locale-free
    return error == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

[[noreturn]] void fail(const DicomDataset& ds, const std::string& what) {
    throw InputError(ds.name().empty() ? what : ds.name() + ": " + what);
}

std::size_t frame_count(const DicomDataset& ds) {
    if (!ds.contains(k_tag_number_of_frames)) return 1;
    const std::vector<double> n = ds.numbers(k_tag_number_of_frames);
    if (n.size() != 1 || n[0] < 1 || n[0] > 1e9 || n[0] != std::floor(n[0]))
        fail(ds, "NumberOfFrames (0028,0008) is \"" + ds.string(k_tag_number_of_frames) +
                     "\", not a positive whole number");
    return static_cast<std::size_t>(n[0]);
}

// Offsets of each frame's first fragment item, from the first fragment item: the Basic
// Offset Table, else the Extended Offset Table; empty when neither is there.
std::vector<std::uint64_t> frame_offsets(const DicomDataset& ds, const DicomEncapsulated& pixels) {
    std::vector<std::uint64_t> out(pixels.offset_table.begin(), pixels.offset_table.end());
    const DicomElement* extended = ds.find(k_tag_extended_offset_table);
    if (!out.empty() || extended == nullptr || extended->sequence || extended->undefined_length) return out;
    if (extended->value_length % 8 != 0)
        fail(ds, "the Extended Offset Table (7FE0,0001) is not a whole number of 8-byte offsets");
    const std::uint8_t* p = ds.bytes().data + extended->value_offset;
    for (std::size_t i = 0; i < extended->value_length; i += 8) {
        std::uint64_t v = 0;
        for (std::size_t b = 0; b < 8; ++b) v |= std::uint64_t{p[i + b]} << (8 * b);  // encapsulated: little endian
        out.push_back(v);
    }
    return out;
}

std::vector<std::vector<DicomFragment>> split_at_offsets(const DicomDataset& ds,
                                                         const std::vector<DicomFragment>& fragments,
                                                         const std::vector<std::uint64_t>& offsets,
                                                         std::size_t frames) {
    if (offsets.size() != frames)
        fail(ds, "the pixel data's offset table has " + std::to_string(offsets.size()) + " entries for " +
                     std::to_string(frames) + " frames");
    if (offsets[0] != 0) fail(ds, "the pixel data's offset table does not start at 0");
    for (std::size_t i = 1; i < offsets.size(); ++i)
        if (offsets[i] <= offsets[i - 1])
            fail(ds, "the pixel data's offset table is not increasing (entry " + std::to_string(i) + ")");
    std::vector<std::vector<DicomFragment>> out(frames);
    const std::size_t first_item = fragments[0].offset - 8;
    std::size_t frame = 0;
    for (const DicomFragment& f : fragments) {
        const std::uint64_t at = f.offset - 8 - first_item;
        if (frame + 1 < frames && at >= offsets[frame + 1]) {
            if (at != offsets[frame + 1])
                fail(ds, "the pixel data's offset table entry " + std::to_string(frame + 1) + " (" +
                             std::to_string(offsets[frame + 1]) + ") does not point at a fragment");
            ++frame;
        }
        out[frame].push_back(f);
    }
    if (frame + 1 != frames)
        fail(ds, "the pixel data's offset table entry " + std::to_string(frame + 1) + " points past the last fragment");
    return out;
}

// JPEG SOI, a JPEG 2000 codestream (SOC + SIZ) or a JP2 signature box.
bool starts_a_frame(const DicomDataset& ds, const DicomFragment& f) {
    const std::uint8_t* p = ds.bytes().data + f.offset;
    const auto starts = [&](std::initializer_list<std::uint8_t> magic) {
        return f.length >= magic.size() && std::equal(magic.begin(), magic.end(), p);
    };
    return starts({0xff, 0xd8, 0xff}) || starts({0xff, 0x4f, 0xff, 0x51}) ||
           starts({0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20});
}

}  // namespace

const DicomElement* DicomDataset::find(DicomTag tag) const {
    const auto it = std::lower_bound(m_elements.begin(), m_elements.end(), tag,
                                     [](const DicomElement& e, DicomTag t) { return e.tag < t; });
    return it != m_elements.end() && it->tag == tag ? &*it : nullptr;
}

ByteSpan DicomDataset::bytes() const { return m_buffer ? ByteSpan{m_buffer->data, m_buffer->size} : ByteSpan{}; }

ByteSpan DicomDataset::value(const DicomElement& element) const {
    return ByteSpan{bytes().data + element.value_offset, element.value_length};
}

const std::string& DicomDataset::name() const {
    static const std::string none;
    return m_buffer ? m_buffer->name : none;
}

std::string DicomDataset::string(DicomTag tag) const {
    const DicomElement* e = find(tag);
    if (e == nullptr || e->sequence || e->encapsulated) return {};
    const ByteSpan v = value(*e);
    std::string s(reinterpret_cast<const char*>(v.data), v.size);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
    const auto first = s.find_first_not_of(' ');
    return first == std::string::npos ? std::string() : s.substr(first);
}

std::vector<double> DicomDataset::numbers(DicomTag tag) const {
    const std::string s = string(tag);
    std::vector<double> out;
    std::size_t pos = 0;
    while (!s.empty()) {
        const auto end = s.find('\\', pos);
        double v = 0;
        if (!parse_number(std::string_view(s).substr(pos, end == std::string::npos ? std::string::npos : end - pos), v))
            return {};
        out.push_back(v);
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return out;
}

std::optional<std::uint16_t> DicomDataset::us(DicomTag tag, std::size_t index) const {
    return binary_value<std::uint16_t>(*this, tag, index);
}
std::optional<std::uint32_t> DicomDataset::ul(DicomTag tag, std::size_t index) const {
    return binary_value<std::uint32_t>(*this, tag, index);
}
std::optional<std::int16_t> DicomDataset::ss(DicomTag tag, std::size_t index) const {
    return binary_value<std::int16_t>(*this, tag, index);
}
std::optional<std::int32_t> DicomDataset::sl(DicomTag tag, std::size_t index) const {
    return binary_value<std::int32_t>(*this, tag, index);
}

const std::vector<DicomDataset>& DicomDataset::items(DicomTag tag) const {
    static const std::vector<DicomDataset> none;
    const DicomElement* e = find(tag);
    return e != nullptr && e->sequence ? e->items : none;
}

std::vector<std::vector<DicomFragment>> encapsulated_frames(const DicomDataset& ds) {
    const DicomElement* pixels = ds.find(k_tag_pixel_data);
    if (pixels == nullptr || !pixels->encapsulated) fail(ds, "no encapsulated pixel data");
    const std::vector<DicomFragment>& fragments = pixels->encapsulated->fragments;
    const std::size_t frames = frame_count(ds);
    if (fragments.size() < frames)
        fail(ds, "encapsulated pixel data has " + std::to_string(fragments.size()) + " fragments for " +
                     std::to_string(frames) + " frames");
    const std::vector<std::uint64_t> offsets = frame_offsets(ds, *pixels->encapsulated);
    if (!offsets.empty()) return split_at_offsets(ds, fragments, offsets, frames);
    if (frames == 1) return {fragments};
    std::vector<std::vector<DicomFragment>> out;
    if (frames == fragments.size()) {
        for (const DicomFragment& f : fragments) out.push_back({f});
        return out;
    }
    const std::size_t starts = static_cast<std::size_t>(std::count_if(
        fragments.begin(), fragments.end(), [&](const DicomFragment& f) { return starts_a_frame(ds, f); }));
    if (starts == frames && starts_a_frame(ds, fragments[0])) {
        for (const DicomFragment& f : fragments) {
            if (starts_a_frame(ds, f)) out.emplace_back();
            out.back().push_back(f);
        }
        return out;
    }
    fail(ds, "cannot tell which of the " + std::to_string(fragments.size()) +
                 " pixel data fragments belong to which of the " + std::to_string(frames) +
                 " frames (no offset table)");
}

}  // namespace lessmore
