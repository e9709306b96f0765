#pragma once
// What a compressed frame's own codestream declares (its width, height, components and
// sample precision), read from the frame's bytes, and checked against the DICOM header
// before any decoder sees the frame (docs/dicom.md, section "Compressed pixel data").
//
// Written by hand: no Debian library exposes these headers without decoding the image
// (OpenJPEG, CharLS and libjpeg read them only as the first step of a decode, and GDCM
// adopts whatever its codec reports or copies its own buffer length regardless of what was
// decoded). The readers only walk marker segments, boxes and run-length headers; every
// length is checked against the bytes that hold it, so hostile input is refused with a
// reason, never read out of bounds.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

enum class CodestreamKind { Jpeg, JpegLs, Jpeg2000, Rle };

// The kind of codestream a transfer syntax holds; none for native or unknown syntaxes.
std::optional<CodestreamKind> codestream_kind(const std::string& transfer_syntax_uid);

// "JPEG", "JPEG-LS", "JPEG 2000", "RLE".
const char* codestream_name(CodestreamKind kind);

struct CodestreamInfo {
    std::uint32_t columns = 0;  // RLE: 0 (an RLE header has no geometry)
    std::uint32_t rows = 0;
    int components = 0;                        // RLE: the number of segments
    int precision = 0;                         // bits per sample; RLE: 0
    std::vector<std::size_t> segment_lengths;  // RLE: the decoded bytes of each segment
};

// Called with what a codestream declares as soon as its header is read, before the rest is
// walked, so a caller's comparison with the DICOM header comes before any other finding.
using DeclaredCheck = std::function<void(const CodestreamInfo&)>;

// Each reader walks one frame's codestream (its fragments in order), checks its structure
// and returns what it declares; throws InputError with a one-line reason.
// JPEG 2000: a raw codestream (SOC, SIZ) or one wrapped in JP2 boxes; every tile's
// tile-parts present and the codestream ending with EOC.
CodestreamInfo read_jpeg2000_header(const std::uint8_t* data, std::size_t size, const DeclaredCheck& declared = {});
// JPEG (any SOFn) and JPEG-LS (SOF55): SOI first, marker segments inside the data, SOF
// before SOS, the scans' count, EOI the last marker; for sequential Huffman and lossless
// JPEG, each scan's entropy-coded data holds every unit its frame needs (jpeg_codestream.cpp).
CodestreamInfo read_jpeg_header(const std::uint8_t* data, std::size_t size, bool jpeg_ls,
                                const DeclaredCheck& declared = {});
// RLE: the 64-byte header (segment count and offsets) and each segment's decoded length,
// counted by walking its PackBits runs (no output is written).
CodestreamInfo read_rle_header(const std::uint8_t* data, std::size_t size);

// The image the DICOM header describes.
struct DeclaredImage {
    int rows = 0;
    int columns = 0;
    int samples = 1;
    int bits_allocated = 16;
};

// Reads frame `frame` (1-based)'s codestream and refuses any disagreement with the header,
// naming both: "the JPEG 2000 codestream of frame 1 is 512x511, the header says Columns
// 512 Rows 512". Throws InputError.
void check_frame_codestream(CodestreamKind kind, const std::uint8_t* data, std::size_t size,
                            const DeclaredImage& header, std::size_t frame);

}  // namespace lessmore
