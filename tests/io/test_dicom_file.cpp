// The header pass of a DICOM file (DicomReadOptions::headers_only) skips reading the values
// of native pixel data (io/dicom_file.cpp, parse_without_pixel_values): what it reports must
// be what a read of the whole file reports, for every file in tests/data and for files
// damaged after, inside and before their pixel data.
#include "test_support.hpp"

#include "io/dicom_file.hpp"

#include <lessmore/decoder_pool.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

namespace lessmore {
namespace {

namespace fs = std::filesystem;

DicomFile header_read(const fs::path& path, std::size_t prefix, HeaderBuffers* buffers = nullptr) {
    static DecoderPool decoders("", 1);
    DicomReadOptions o;
    o.headers_only = true;
    o.header_prefix = prefix;
    o.buffers = buffers;
    return read_dicom_file(path, path.filename().string(), decoders, o);
}

template <typename T>
bool same_bits(const T& a, const T& b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

void expect_same(const DicomFile& h, const DicomFile& f, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(h.error, f.error);
    EXPECT_EQ(h.skip_reason, f.skip_reason);
    EXPECT_EQ(h.header_ok, f.header_ok);
    EXPECT_EQ(h.series_uid, f.series_uid);
    EXPECT_EQ(h.sop_uid, f.sop_uid);
    EXPECT_EQ(h.rows, f.rows);
    EXPECT_EQ(h.columns, f.columns);
    EXPECT_EQ(h.type, f.type);
    EXPECT_EQ(h.value_range.has_value(), f.value_range.has_value());
    if (h.value_range && f.value_range) {
        EXPECT_TRUE(same_bits(*h.value_range, *f.value_range));
    }
    ASSERT_EQ(h.frames.size(), f.frames.size());
    for (std::size_t k = 0; k < h.frames.size(); ++k) {
        EXPECT_EQ(h.frames[k].position.has_value(), f.frames[k].position.has_value());
        if (h.frames[k].position && f.frames[k].position) {
            EXPECT_TRUE(same_bits(*h.frames[k].position, *f.frames[k].position));
        }
        EXPECT_TRUE(same_bits(h.frames[k].intercept, f.frames[k].intercept));
    }
}

constexpr std::size_t k_whole = std::numeric_limits<std::size_t>::max();

TEST(DicomHeaderPass, EveryFileInTheTestDataAsReadWhole) {
    std::size_t files = 0, large = 0;
    for (const auto& e : fs::recursive_directory_iterator(test::source_dir() / "tests" / "data")) {
        if (!e.is_regular_file()) continue;
        const std::string ext = e.path().extension().string();
        if (ext == ".json" || ext == ".md" || ext == ".py" || ext == ".gz" || ext == ".nii" || ext == ".png") continue;
        const DicomFile whole = header_read(e.path(), k_whole);
        if (!whole.header_ok && whole.error.find("not a DICOM file") != std::string::npos) continue;
        ++files;
        large += e.file_size() > (std::size_t{128} << 10);
        expect_same(header_read(e.path(), std::size_t{64} << 10), whole, e.path().string() + " (64 KB prefix)");
        expect_same(header_read(e.path(), 32), whole, e.path().string() + " (32-byte prefix)");
    }
    EXPECT_GT(files, 100u);
    EXPECT_GT(large, 10u);  // real 512x512 CT: the pixel values are skipped
}

// Buffers reused from file to file (HeaderBuffers) read as fresh ones: every file in
// tests/data, twice over in opposite orders through one set of buffers (a file's buffer
// was last written by another file, larger or smaller), reports what a read whole does,
// also with the 32-byte prefix that makes more files take the path.
TEST(DicomHeaderPass, ReusedBuffersReadAsFreshOnes) {
    std::vector<fs::path> paths;
    for (const auto& e : fs::recursive_directory_iterator(test::source_dir() / "tests" / "data")) {
        const std::string ext = e.path().extension().string();
        if (e.is_regular_file() && ext != ".json" && ext != ".md" && ext != ".py" && ext != ".gz" && ext != ".nii" &&
            ext != ".png")
            paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    std::vector<DicomFile> whole;
    for (const fs::path& p : paths) whole.push_back(header_read(p, k_whole));
    for (const std::size_t prefix : {std::size_t{64} << 10, std::size_t{32}}) {
        HeaderBuffers buffers;
        std::size_t read = 0;
        for (const bool reversed : {false, true}) {
            for (std::size_t k = 0; k < paths.size(); ++k) {
                const std::size_t i = reversed ? paths.size() - 1 - k : k;
                if (!whole[i].header_ok && whole[i].error.find("not a DICOM file") != std::string::npos) continue;
                ++read;
                expect_same(header_read(paths[i], prefix, &buffers), whole[i],
                            paths[i].string() + " (prefix " + std::to_string(prefix) + ", reused buffers)");
            }
        }
        EXPECT_GT(read, 200u);
    }
}

// A buffer given back is all zeros again when taken, wherever it was written.
TEST(DicomHeaderPass, ABufferGivenBackIsZeroedWhereItWasWritten) {
    HeaderBuffers buffers;
    std::unique_ptr<ZeroedBytes> b = buffers.take(std::size_t{1} << 20);
    const std::uint8_t* first = b->data();
    std::memset(b->written(0, 1000) + 0, 0xab, 1000);
    std::memset(b->written(500000, 1 << 20) + 500000, 0xcd, (1 << 20) - 500000);
    buffers.give(std::move(b));
    b = buffers.take(std::size_t{1} << 19);  // smaller: the same buffer serves
    ASSERT_EQ(b->data(), first);
    EXPECT_EQ(b->size(), std::size_t{1} << 20);
    EXPECT_EQ(std::count(b->data(), b->data() + b->size(), std::uint8_t{0}), static_cast<std::ptrdiff_t>(1 << 20));
    buffers.give(std::move(b));
    EXPECT_NE(buffers.take(std::size_t{2} << 20)->data(), first);  // larger: a new one
}

// A real CT slice, changed at its end: bytes after the pixel data are still read and
// parsed; a cut inside the pixel data is the same error as read whole.
TEST(DicomHeaderPass, DamageAfterAndInsideThePixelDataIsSeen) {
    const fs::path slice = test::ct_data() / "pancreas-ct-cb-001" / "1-026.dcm";
    const std::string bytes = test::read_file(slice);
    test::TempDir dir;
    struct Case {
        std::string name;
        std::string bytes;
    };
    // (this file is Implicit VR Little Endian: tag, 4-byte length, value)
    const std::string padding_element = std::string("\xfc\xff\xfc\xff\x04\x00\x00\x00", 8) + "abcd";
    const std::vector<Case> cases = {
        {"trailing padding element", bytes + padding_element},
        {"trailing garbage", bytes + "garbage!"},
        {"trailing zeros", bytes + std::string(100, '\0')},
        {"cut inside the pixel data", bytes.substr(0, bytes.size() - 1000)},
        {"cut just after the pixel data's header", bytes.substr(0, bytes.size() - 512 * 512 * 2 + 10)},
    };
    for (const Case& c : cases) {
        const fs::path p = dir / "slice.dcm";
        test::write_file(p, c.bytes);
        const DicomFile whole = header_read(p, k_whole);
        expect_same(header_read(p, std::size_t{64} << 10), whole, c.name);
        if (c.name == "trailing padding element") {
            EXPECT_TRUE(whole.error.empty()) << whole.error;
        }
        if (c.name.rfind("cut", 0) == 0 || c.name == "trailing garbage") {
            EXPECT_FALSE(whole.error.empty());
        }
    }
}

}  // namespace
}  // namespace lessmore
