#pragma once
// One DICOM file: header fields, its frames' geometry, and its values, parsed once
// (docs/dicom.md, sections "Pixel data and transfer syntaxes", "Value model" and
// "Multi-frame objects").
#include <lessmore/decoder_pool.hpp>
#include <lessmore/volume.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

// How pixel values are stored in the file.
enum class StoredType { UInt8, Int8, UInt16, Int16, UInt32, Int32 };

// One frame (a classic file has one): where it lies, and how its stored values become
// values (the authors' CT rules, or the modality LUT's slope and intercept).
struct DicomFrame {
    std::optional<std::array<double, 3>> position;     // ImagePositionPatient
    std::optional<std::array<double, 6>> orientation;  // ImageOrientationPatient
    double slope = 1.0;
    double intercept = 0.0;
};

struct DicomFile {
    std::string name;   // relative to the source folder
    bool skip = false;  // not a slice to reduce; skip_reason says why
    std::string skip_reason;
    std::string error;       // one line; empty when the file is fine
    bool header_ok = false;  // series fields below are valid even if the pixels failed
    std::string series_uid;
    std::string patient_id;  // PatientID (0010,0020), trimmed
    std::string study_uid;   // StudyInstanceUID (0020,000D)
    std::string series_number;
    std::string sop_uid;
    std::string modality;
    std::optional<long> instance;
    int rows = 0;
    int columns = 0;
    std::array<double, 2> pixel_spacing{1.0, 1.0};  // row spacing, column spacing
    double thickness = 0.0;
    std::vector<DicomFrame> frames;     // one per frame, in file order
    VoxelType type = VoxelType::Int16;  // of values (decided from the header)
    // The values the header allows, over all frames (none for float64; io/dicom_values.hpp).
    std::optional<std::pair<double, double>> value_range;
    Bytes values;  // frames x rows x columns of `type` (empty with headers_only or values_into)
    // The values went to DicomReadOptions::values_into (as its type), not to `values`.
    bool values_in_place = false;
};

// Where a slice's values may go directly: a single-frame file of these rows and columns
// whose values fit `type` is converted straight into `data` (rows x columns of `type`),
// saving the copy from `values` (docs/performance.md, "Dataset throughput"). Any other file
// fills `values` as usual, and `data` is left alone.
struct ValuesDestination {
    std::byte* data = nullptr;
    VoxelType type = VoxelType::Int16;
    int rows = 0;
    int columns = 0;
};

// Zeroed memory from the kernel: pages never written cost nothing and read as zeros. What
// is written is recorded, so clear() makes it all zeros again.
class ZeroedBytes {
public:
    explicit ZeroedBytes(std::size_t size);
    ~ZeroedBytes();
    ZeroedBytes(const ZeroedBytes&) = delete;
    ZeroedBytes& operator=(const ZeroedBytes&) = delete;
    std::size_t size() const { return m_size; }
    const std::uint8_t* data() const { return m_data; }
    // The buffer, whose bytes [from, to) are about to be written.
    std::uint8_t* written(std::size_t from, std::size_t to);
    void clear();

private:
    std::size_t m_size;
    std::uint8_t* m_data = nullptr;
    std::vector<std::pair<std::size_t, std::size_t>> m_written;
};

// Buffers a header pass reads files into, reused from file to file by the threads of one
// pass: a fresh zeroed mapping per file cost a page fault per page read and the unmapping
// of each, on page lists the threads share, so two threads took as long as one
// (docs/performance.md, section "One series on two threads"). A buffer given back is
// zeroed where its file's read wrote, so every buffer taken reads as zeros, as a fresh one.
class HeaderBuffers {
public:
    HeaderBuffers();
    ~HeaderBuffers();
    HeaderBuffers(const HeaderBuffers&) = delete;
    HeaderBuffers& operator=(const HeaderBuffers&) = delete;
    // A buffer of at least `size` bytes, all zeros.
    std::unique_ptr<ZeroedBytes> take(std::size_t size);
    void give(std::unique_ptr<ZeroedBytes> buffer);

private:
    std::mutex m_mutex;
    std::vector<std::unique_ptr<ZeroedBytes>> m_free;
};

struct DicomReadOptions {
    bool headers_only = false;
    bool include_localizers = false;  // ImageType LOCALIZER: skipped unless asked for
    ValuesDestination values_into;    // data == nullptr: none
    // headers_only: bytes read before the pixel data's values are skipped (io/dicom_file.cpp,
    // parse_without_pixel_values; the fuzz target makes it small to take that path on every input).
    std::size_t header_prefix = std::size_t{64} << 10;
    HeaderBuffers* buffers = nullptr;  // headers_only: where buffers come from (null: fresh ones)
};

// Never throws; problems land in .error, non-images and localizers in .skip.
// A DICOM file's bytes, read with one call after its first 4 KB passed looks_like_dicom()
// (io/dicom_parser.hpp), so a file that only has a DICOM name (a multi-GB file of zeros named
// .dcm) fails from its head instead of being read whole. Throws InputError; also when the
// file is larger than max_bytes.
struct DicomBytes {
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t size = 0;
};
DicomBytes read_dicom_bytes(const std::filesystem::path& path,
                            std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

DicomFile read_dicom_file(const std::filesystem::path& path, const std::string& name, DecoderPool& decoders,
                          const DicomReadOptions& options);

}  // namespace lessmore
