#pragma once
// A validating DICOM parser of our own. It walks a whole file held in memory, checks every
// length against the bounds that enclose it, and builds a tree of elements, so a malformed
// file is refused with one InputError before any third-party code sees it (Debian's GDCM
// asserts on such files and would abort the process). It does no file I/O and copies no
// values: elements hold offsets into the bytes the caller passed, or, for a Deflated file,
// into the inflated dataset that the result owns (ParsedDicom::bytes()).
//
// What it accepts and refuses, and why, is listed at the top of dicom_parser.cpp.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

// (group << 16) | element, so tags compare in DICOM order.
using DicomTag = std::uint32_t;

constexpr DicomTag dicom_tag(std::uint16_t group, std::uint16_t element) {
    return static_cast<DicomTag>((std::uint32_t{group} << 16) | element);
}

constexpr DicomTag k_tag_transfer_syntax = dicom_tag(0x0002, 0x0010);
constexpr DicomTag k_tag_number_of_frames = dicom_tag(0x0028, 0x0008);
constexpr DicomTag k_tag_extended_offset_table = dicom_tag(0x7fe0, 0x0001);
constexpr DicomTag k_tag_pixel_data = dicom_tag(0x7fe0, 0x0010);

// "(0028,0010)".
std::string dicom_tag_text(DicomTag tag);

struct ByteSpan {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
};

struct DicomTransferSyntax {
    std::string uid;  // (0002,0010) without padding; empty when the file has none
    bool implicit_vr = false;
    bool big_endian = false;    // lengths, tags and binary values (and OW pixels) byte-swapped
    bool deflated = false;      // the dataset after the meta header was inflated
    bool encapsulated = false;  // compressed pixel data: any UID not known as a native one
    bool guessed = false;       // VR encoding read off the first element: no UID, or the UID was contradicted
};

// Bounds on the work and memory a hostile file can cause.
struct DicomLimits {
    int max_depth = 32;                                   // sequences inside sequences
    std::size_t max_elements = 1000000;                   // elements, items and fragments in one file
    std::uint64_t max_inflate_ratio = 64;                 // Deflated: inflated size / compressed size
    std::uint64_t max_inflated = std::uint64_t{2} << 30;  // Deflated: 2 GiB
};

// One item of encapsulated pixel data: where its value is in bytes(), and its length.
struct DicomFragment {
    std::size_t offset = 0;
    std::size_t length = 0;
};

struct DicomEncapsulated {
    std::vector<std::uint32_t> offset_table;  // the Basic Offset Table (empty when the item is)
    std::vector<DicomFragment> fragments;     // every item after it, in file order
};

// The bytes an offset refers to and their name, for messages; owned by ParsedDicom (its
// address never changes, so datasets may point to it).
struct DicomBuffer {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::string name;
    bool inflated = false;
    std::vector<std::uint8_t> owned;  // the inflated dataset of a Deflated file
};

class DicomDataset;

struct DicomElement {
    DicomTag tag = 0;
    std::array<char, 2> vr{{'U', 'N'}};  // explicit VR: as in the file; implicit: our dictionary's, else UN
    std::size_t offset = 0;              // of the element's header, in its dataset's bytes()
    std::size_t value_offset = 0;
    std::size_t value_length = 0;  // undefined length: up to (not including) the closing delimiter
    bool undefined_length = false;
    bool sequence = false;  // SQ, or UN / implicit VR with undefined length: see items
    std::vector<DicomDataset> items;
    std::shared_ptr<const DicomEncapsulated> encapsulated;  // pixel data of undefined length

    bool has_vr(const char* two) const { return vr[0] == two[0] && vr[1] == two[1]; }
};

// The elements of a file's dataset, its meta header, or one sequence item.
class DicomDataset {
public:
    const std::vector<DicomElement>& elements() const { return m_elements; }  // in tag order
    const DicomElement* find(DicomTag tag) const;
    bool contains(DicomTag tag) const { return find(tag) != nullptr; }

    // Text of a string value, trailing spaces/NULs and leading spaces stripped; "" if absent.
    std::string string(DicomTag tag) const;
    // A DS/IS value's backslash-separated numbers; empty when absent or any part is malformed.
    std::vector<double> numbers(DicomTag tag) const;
    // The index-th binary value (US, UL, SS, SL) in the file's byte order; none when absent
    // or shorter. The VR is not checked, so "UN"-encoded values read too.
    std::optional<std::uint16_t> us(DicomTag tag, std::size_t index = 0) const;
    std::optional<std::uint32_t> ul(DicomTag tag, std::size_t index = 0) const;
    std::optional<std::int16_t> ss(DicomTag tag, std::size_t index = 0) const;
    std::optional<std::int32_t> sl(DicomTag tag, std::size_t index = 0) const;
    // A sequence's items; empty when absent or not a sequence.
    const std::vector<DicomDataset>& items(DicomTag tag) const;

    ByteSpan bytes() const;                             // the buffer this dataset's offsets refer to
    ByteSpan value(const DicomElement& element) const;  // an element's value within bytes()
    const std::string& name() const;                    // the file's name, for messages
    bool big_endian() const { return m_big_endian; }
    std::size_t offset() const { return m_offset; }  // where the first element starts
    std::size_t length() const { return m_length; }
    // False when the file had elements out of tag order (accepted; they are sorted here).
    bool in_file_order() const { return m_in_file_order; }

private:
    friend class DicomWalker;
    const DicomBuffer* m_buffer = nullptr;
    bool m_big_endian = false;
    bool m_in_file_order = true;
    std::size_t m_offset = 0;
    std::size_t m_length = 0;
    std::vector<DicomElement> m_elements;
};

// A parsed file. Move-only: its datasets point into buffers it owns.
class ParsedDicom {
public:
    ParsedDicom(ParsedDicom&&) noexcept;
    ParsedDicom& operator=(ParsedDicom&&) noexcept;
    ~ParsedDicom();

    const DicomTransferSyntax& transfer_syntax() const { return m_syntax; }
    bool has_preamble() const { return m_preamble; }           // 128 bytes + "DICM"
    const DicomDataset& meta() const { return m_meta; }        // group 0002 (may be empty); offsets into the input
    const DicomDataset& dataset() const { return m_dataset; }  // offsets into bytes()
    // The input, or for a Deflated file the inflated dataset: dataset() offsets refer to it.
    ByteSpan bytes() const { return {m_dataset_bytes->data, m_dataset_bytes->size}; }
    std::size_t dataset_offset() const { return m_dataset.offset(); }
    std::size_t element_count() const { return m_element_count; }  // elements, items and fragments

private:
    friend ParsedDicom parse_dicom(const std::uint8_t*, std::size_t, const std::string&, const DicomLimits&);
    ParsedDicom();
    std::unique_ptr<DicomBuffer> m_input;
    std::unique_ptr<DicomBuffer> m_dataset_bytes;  // the input's pointer, or the inflated bytes
    DicomTransferSyntax m_syntax;
    bool m_preamble = false;
    DicomDataset m_meta;
    DicomDataset m_dataset;
    std::size_t m_element_count = 0;
};

// Walks the whole file (data must outlive the result). Throws InputError, its message one
// line starting with "name: " (when name is not empty) and saying where the problem is.
ParsedDicom parse_dicom(const std::uint8_t* data, std::size_t size, const std::string& name,
                        const DicomLimits& limits = {});

// Cheap content detection: "DICM" at byte 128, or at byte 0 a plausible first element
// (little endian, group 0002 or 0008, a known explicit VR or an implicit 4-byte length,
// its value inside the file, and the next tag, if any, after it).
bool looks_like_dicom(const std::uint8_t* data, std::size_t size);

// The fragments of each frame of the encapsulated pixel data in ds: split by the Basic
// Offset Table, else the Extended Offset Table (7FE0,0001); without either, one frame per
// fragment when the counts agree, every fragment for a single frame, or split at JPEG /
// JPEG 2000 start markers when exactly NumberOfFrames fragments start with one. Throws
// InputError when there is no encapsulated pixel data or nothing decides.
std::vector<std::vector<DicomFragment>> encapsulated_frames(const DicomDataset& ds);

}  // namespace lessmore
