// lessmore's NIfTI reader against nibabel (tests/data/nifti_golden.json, written by
// tests/data/make_nifti_golden.py from the fixtures in tests/data/nifti and the real CT
// files), and on damaged files made here: each must be an InputError with a one-line
// message, leave no descriptor open, and never claim more voxels than the file can hold.
#include "test_support.hpp"

#include "io/gzip_stream.hpp"
#include "io/nifti_file.hpp"

#include <lessmore/error.hpp>

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace lessmore {
namespace {

using nlohmann::json;
using test::fs::path;

constexpr bool k_host_big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;

const json& golden() {
    static const json g = json::parse(test::read_file(test::source_dir() / "tests/data/nifti_golden.json"));
    return g;
}

path fixture(const std::string& name) { return test::source_dir() / "tests/data/nifti" / name; }

// JSON holds non-finite numbers as "nan", "inf", "-inf".
double number(const json& j) {
    if (j.is_string()) {
        const std::string s = j.get<std::string>();
        if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
        return s == "inf" ? HUGE_VAL : -HUGE_VAL;
    }
    return j.get<double>();
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

std::vector<std::byte> read_all(NiftiReader& reader, std::size_t per_call) {
    std::vector<std::byte> out(reader.header().voxel_bytes());
    std::size_t at = 0;
    while (reader.slices_left() > 0) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(per_call, reader.slices_left()));
        reader.read_slices(n, out.data() + at);
        at += n * reader.header().slice_bytes();
    }
    return out;
}

template <typename T>
T at(const std::vector<std::byte>& data, std::size_t index) {
    T v;
    std::memcpy(&v, data.data() + index * sizeof(T), sizeof(T));
    return v;
}

// The raw voxel at `index` against nibabel's get_unscaled() value (integers compared as
// integers); returns it as double for the scaling check.
template <typename T>
double expect_raw(const std::vector<std::byte>& data, std::size_t index, const json& expected) {
    const T v = at<T>(data, index);
    if constexpr (std::is_floating_point_v<T>) {
        EXPECT_PRED2(same, v, number(expected));
    } else if constexpr (std::is_signed_v<T>) {
        EXPECT_EQ(v, expected.get<std::int64_t>());
    } else {
        EXPECT_EQ(v, expected.get<std::uint64_t>());
    }
    return static_cast<double>(v);
}

double expect_raw(NiftiDataType type, const std::vector<std::byte>& data, std::size_t index, const json& expected) {
    switch (type) {
    case NiftiDataType::UInt8:
        return expect_raw<std::uint8_t>(data, index, expected);
    case NiftiDataType::Int8:
        return expect_raw<std::int8_t>(data, index, expected);
    case NiftiDataType::Int16:
        return expect_raw<std::int16_t>(data, index, expected);
    case NiftiDataType::UInt16:
        return expect_raw<std::uint16_t>(data, index, expected);
    case NiftiDataType::Int32:
        return expect_raw<std::int32_t>(data, index, expected);
    case NiftiDataType::UInt32:
        return expect_raw<std::uint32_t>(data, index, expected);
    case NiftiDataType::Int64:
        return expect_raw<std::int64_t>(data, index, expected);
    case NiftiDataType::UInt64:
        return expect_raw<std::uint64_t>(data, index, expected);
    case NiftiDataType::Float32:
        return expect_raw<float>(data, index, expected);
    case NiftiDataType::Float64:
        return expect_raw<double>(data, index, expected);
    }
    return 0;
}

void check_header(const NiftiHeader& h, const json& g) {
    EXPECT_EQ(h.version, g["version"].get<int>());
    EXPECT_EQ(h.swapped, g["big_endian"].get<bool>() != k_host_big_endian);
    EXPECT_EQ(h.pair, g["pair"].get<bool>());
    EXPECT_EQ(nifti_type_name(h.datatype), g["dtype"].get<std::string>());
    EXPECT_EQ(h.datatype_code, g["datatype_code"].get<int>());
    for (int i = 0; i < 8; ++i) EXPECT_EQ(h.dim[i], g["dim"][i].get<std::int64_t>()) << "dim " << i;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(h.shape()[i], g["shape"][i].get<std::uint64_t>());
    for (int i = 0; i < 8; ++i) EXPECT_PRED2(same, h.pixdim[i], number(g["pixdim"][i])) << "pixdim " << i;
    EXPECT_EQ(h.vox_offset, g["vox_offset"].get<std::uint64_t>());
    EXPECT_PRED2(same, h.scl_slope, number(g["scl_slope"]));
    EXPECT_PRED2(same, h.scl_inter, number(g["scl_inter"]));
    EXPECT_EQ(h.qform_code, g["qform_code"].get<int>());
    EXPECT_EQ(h.sform_code, g["sform_code"].get<int>());
    for (int i = 0; i < 3; ++i) {
        EXPECT_PRED2(same, h.quatern[i], number(g["quatern"][i]));
        EXPECT_PRED2(same, h.qoffset[i], number(g["qoffset"][i]));
        for (int c = 0; c < 4; ++c) EXPECT_PRED2(same, h.srow[i][c], number(g["srow"][i][c]));
    }
    EXPECT_EQ(h.xyzt_units, g["xyzt_units"].get<int>());
    EXPECT_EQ(h.intent_code, g["intent_code"].get<int>());
    EXPECT_EQ(h.descrip, g["descrip"].get<std::string>());
    const Matrix4 affine = h.affine();
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) EXPECT_NEAR(affine[r][c], number(g["affine"][r][c]), 1e-12) << r << "," << c;
}

TEST(NiftiFile, MatchesNibabelOnEveryFixture) {
    ASSERT_GE(golden()["fixtures"].size(), 30u);
    for (const json& g : golden()["fixtures"]) {
        SCOPED_TRACE(g["path"].get<std::string>());
        NiftiReader reader = NiftiReader::open(test::source_dir() / g["path"].get<std::string>());
        const NiftiHeader& h = reader.header();
        check_header(h, g);
        const NiftiScaling scaling = nibabel_scaling(h);
        EXPECT_EQ(scaling.slope, number(g["slope"]));
        EXPECT_EQ(scaling.inter, number(g["inter"]));
        // The documented dtype rule: raw type when (1, 0), float64 otherwise.
        EXPECT_EQ(scaling.identity() ? nifti_type_name(h.datatype) : "float64", g["scaled_dtype"].get<std::string>());
        const std::vector<std::byte> data = read_all(reader, 2);
        const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
        EXPECT_EQ(crc, g["crc32"].get<std::uint64_t>());
        const auto shape = h.shape();
        for (const json& s : g["samples"]) {
            const auto i = s[0].get<std::size_t>(), j = s[1].get<std::size_t>(), k = s[2].get<std::size_t>();
            const std::size_t index = i + shape[0] * (j + shape[1] * k);
            const double raw = expect_raw(h.datatype, data, index, s[3]);
            EXPECT_PRED2(same, scaling.apply(raw), number(s[4])) << "voxel " << s.dump();
        }
    }
}

TEST(NiftiFile, NotesTheRepairsNibabelMakes) {
    const NiftiReader reader = NiftiReader::open(fixture("odd_pixdim.nii"));
    const auto& notes = reader.header().notes;
    ASSERT_EQ(notes.size(), 3u);
    EXPECT_EQ(notes[0], "pixdim[1] = -0.699999988: using 0.699999988, as nibabel does");
    EXPECT_EQ(notes[1], "pixdim[2] = 0: using 1, as nibabel does");
    EXPECT_EQ(notes[2], "qfac pixdim[0] = 0: using 1, as nibabel does");
    EXPECT_TRUE(NiftiReader::open(fixture("ct_int16.nii")).header().notes.empty());
}

TEST(NiftiFile, SlabSizesAndPairPathsGiveTheSameVoxels) {
    std::vector<std::byte> first;
    for (std::size_t per_call : {1, 7, 30}) {
        NiftiReader reader = NiftiReader::open(test::bundled_sample());
        const auto data = read_all(reader, per_call);
        if (first.empty()) first = data;
        EXPECT_EQ(data, first) << per_call;
    }
    NiftiReader by_hdr = NiftiReader::open(fixture("ct_pair.hdr"));
    NiftiReader by_img = NiftiReader::open(fixture("ct_pair.img"));
    EXPECT_EQ(by_img.data_path().filename(), "ct_pair.img");
    NiftiReader single = NiftiReader::open(fixture("ct_int16.nii"));
    const auto data = read_all(single, 5);
    EXPECT_EQ(read_all(by_hdr, 5), data);
    EXPECT_EQ(read_all(by_img, 1), data);
    NiftiReader big_endian_gz = NiftiReader::open(fixture("ct_pair_gz.hdr.gz"));
    EXPECT_EQ(read_all(big_endian_gz, 3), data);
}

int open_descriptors() {
    int n = 0;
    for ([[maybe_unused]] const auto& e : test::fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

TEST(NiftiFile, OneDescriptorOpenUntilTheLastSlice) {
    const int before = open_descriptors();
    for (const char* name : {"ct_int16.nii", "dcm2niix.nii.gz", "ct_pair.hdr", "ct_pair_gz.hdr.gz"}) {
        SCOPED_TRACE(name);
        NiftiReader reader = NiftiReader::open(fixture(name));
        EXPECT_EQ(open_descriptors(), before + 1);
        std::vector<std::byte> slice(reader.header().slice_bytes());
        while (reader.slices_left() > 1) reader.read_slices(1, slice.data());
        EXPECT_EQ(open_descriptors(), before + 1);
        reader.read_slices(1, slice.data());
        EXPECT_EQ(open_descriptors(), before);
        EXPECT_THROW(reader.read_slices(1, slice.data()), std::logic_error);
    }
    { const NiftiReader dropped = NiftiReader::open(fixture("ct_int16.nii")); }
    EXPECT_EQ(open_descriptors(), before);
}

// --- damaged files -----------------------------------------------------------------

template <typename T>
std::string patched(std::string bytes, std::size_t offset, T value) {
    // The fixtures are little-endian, like this machine.
    return bytes.replace(offset, sizeof(T), reinterpret_cast<const char*>(&value), sizeof(T));
}

bool starts_gzip(const path& p) {
    const std::string head = test::read_file(p).substr(0, 2);
    return head == "\x1f\x8b";
}

// Opens and reads `p` in full: it must fail with an InputError containing `what`.
void expect_refused(const path& p, const std::string& what) {
    SCOPED_TRACE(p.filename().string() + " (" + what + ")");
    const int before = open_descriptors();
    try {
        NiftiReader reader = NiftiReader::open(p);
        // Whatever open() accepts fits in the data file: a caller may allocate it.
        const NiftiHeader& h = reader.header();
        const std::uint64_t size = test::fs::file_size(reader.data_path());
        EXPECT_LE(h.vox_offset + h.voxel_bytes(), starts_gzip(reader.data_path()) ? size * k_max_deflate_ratio : size);
        std::vector<std::byte> slice(h.slice_bytes());
        while (reader.slices_left() > 0) reader.read_slices(1, slice.data());
        ADD_FAILURE() << "read without an error";
    } catch (const InputError& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find(what), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
    EXPECT_EQ(open_descriptors(), before);
}

path write(const test::TempDir& dir, const std::string& name, const std::string& bytes) {
    test::write_file(dir / name, bytes);
    return dir / name;
}

void expect_refused(const test::TempDir& dir, const std::string& name, const std::string& bytes,
                    const std::string& what) {
    expect_refused(write(dir, name, bytes), what);
}

const std::string& plain() {
    static const std::string bytes = test::read_file(fixture("ct_int16.nii"));
    return bytes;
}

TEST(NiftiDamaged, TruncatedUncompressedFile) {
    test::TempDir dir;
    const std::string& p = plain();
    expect_refused(dir, "a.nii", p.substr(0, p.size() - 1),
                   "header claims 1920 bytes of voxels after byte 352 but the file has only 2271");
    expect_refused(dir, "a.nii", p.substr(0, 352), "but the file has only 352");
    expect_refused(dir, "a.nii", p.substr(0, 200), "file too short for a NIfTI header: 200 bytes");
    expect_refused(dir, "a.nii", "", "file too short for a NIfTI header: 0 bytes");
}

TEST(NiftiDamaged, TruncatedGzipAtManyOffsets) {
    test::TempDir dir;
    const std::string whole = test::read_file(test::bundled_sample());
    std::vector<std::size_t> cuts;
    for (std::size_t n = 0; n < 40; ++n) cuts.push_back(n);
    for (std::size_t n = 40; n < whole.size(); n += whole.size() / 150) cuts.push_back(n);
    for (std::size_t n = 1; n <= 12; ++n) cuts.push_back(whole.size() - n);
    for (std::size_t n : cuts)
        expect_refused(dir, "cut.nii.gz", whole.substr(0, n), n < 2 ? "not a gzip file" : "gzip stream ends early");
    // The last 8 bytes cut: every voxel is there, only the CRC and length are missing.
    expect_refused(dir, "cut.nii.gz", whole.substr(0, whole.size() - 8),
                   "gzip stream ends early: cut off in member 1 after 739672 decompressed bytes, "
                   "before the member's CRC-32 and length");
}

TEST(NiftiDamaged, CorruptGzipMembers) {
    test::TempDir dir;
    const std::string whole = test::read_file(test::bundled_sample());
    std::string crc = whole;
    crc[crc.size() - 8] = static_cast<char>(crc[crc.size() - 8] ^ 0x01);
    expect_refused(dir, "crc.nii.gz", crc, "gzip CRC mismatch in member 1");
    std::string isize = whole;
    isize[isize.size() - 3] = static_cast<char>(isize[isize.size() - 3] ^ 0x10);
    expect_refused(dir, "isize.nii.gz", isize, "gzip length mismatch in member 1");
    for (std::size_t at : {std::size_t{100}, whole.size() / 3, whole.size() / 2, whole.size() - 100}) {
        std::string data = whole;
        data[at] = static_cast<char>(data[at] ^ 0x5a);
        expect_refused(dir, "flip.nii.gz", data, "gzip");
    }
    expect_refused(dir, "garbage.nii.gz", whole + "garbage",
                   "trailing garbage after the gzip stream at byte " + std::to_string(whole.size()));
    expect_refused(dir, "zeros-then.nii.gz", whole + std::string(10, '\0') + "x", "trailing garbage");
    expect_refused(dir, "member.nii.gz", whole + whole.substr(0, 30), "gzip stream ends early: cut off in member 2");
    // RFC 1952's header: reserved FLG bits set (a field the reader would misread), and a
    // header CRC-16 (FHCRC) that does not match; in a second member too.
    std::string reserved = whole;
    reserved[3] = static_cast<char>(reserved[3] | 0x20);
    expect_refused(dir, "flags.nii.gz", reserved,
                   "corrupt gzip stream in member 1 (after 0 decompressed bytes): unknown header flags set");
    const std::string plain_gz = test::gzip(plain());  // zlib's 10-byte header, no optional fields
    const std::string bad_hcrc =
        plain_gz.substr(0, 3) + '\x02' + plain_gz.substr(4, 6) + std::string("\x12\x34", 2) + plain_gz.substr(10);
    expect_refused(dir, "hcrc.nii.gz", bad_hcrc,
                   "corrupt gzip stream in member 1 (after 0 decompressed bytes): header CRC mismatch");
    const std::string split_a = test::gzip(plain().substr(0, 400)), split_b = test::gzip(plain().substr(400));
    std::string flagged_b = split_b;
    flagged_b[3] = static_cast<char>(flagged_b[3] | 0x80);
    expect_refused(dir, "flags2.nii.gz", split_a + flagged_b,
                   "corrupt gzip stream in member 2 (after 400 decompressed bytes): unknown header flags set");
    NiftiReader two = NiftiReader::open(write(dir, "two.nii.gz", split_a + split_b));
    NiftiReader expected = NiftiReader::open(fixture("ct_int16.nii"));
    EXPECT_EQ(read_all(two, 5), read_all(expected, 5));
}

TEST(NiftiDamaged, CutAndReTrailered) {
    test::TempDir dir;
    const std::string whole = test::read_file(test::bundled_sample());
    // Compressed bytes cut mid-stream, with a fresh trailer for the bytes they decode to.
    const std::string cut = whole.substr(0, whole.size() / 2);
    std::string trailer(8, '\0');
    const uLong fake_crc = crc32(0L, reinterpret_cast<const Bytef*>(cut.data()), static_cast<uInt>(cut.size()));
    std::memcpy(trailer.data(), &fake_crc, 4);
    const auto fake_size = static_cast<std::uint32_t>(cut.size() * 2);
    std::memcpy(trailer.data() + 4, &fake_size, 4);
    expect_refused(dir, "retrailered.nii.gz", cut + trailer, "gzip");
    // A valid gzip of only part of the content: the header needs more than it holds.
    std::string partial = test::gzip(plain().substr(0, 1000));
    expect_refused(dir, "partial.nii.gz", partial,
                   "gzip stream ends early: it holds only 1000 bytes (1 member(s)); 2272 are needed");
}

TEST(NiftiDamaged, VoxOffset) {
    test::TempDir dir;
    const std::pair<float, std::string> cases[] = {
        {std::numeric_limits<float>::quiet_NaN(), "vox_offset is not a finite number (nan)"},
        {std::numeric_limits<float>::infinity(), "vox_offset is not a finite number (inf)"},
        {-352.0f, "vox_offset -352 is negative"},
        {1e12f, "header claims 1920 bytes of voxels after byte 999999995904 but the file has only 2272"},
        {352.5f, "vox_offset 352.5 is not a whole number"},
        {0.0f, "vox_offset 0 is inside the header: a single-file NIfTI-1 needs at least 352"},
        {3e38f, "is past the end of any file"},
    };
    for (const auto& [offset, what] : cases) {
        expect_refused(dir, "a.nii", patched(plain(), 108, offset), what);
        expect_refused(dir, "a.nii.gz", test::gzip(patched(plain(), 108, offset)), what.substr(0, 20));
    }
    expect_refused(dir, "big.nii.gz", test::gzip(patched(plain(), 108, 1e12f)), "but a gzip file of");
}

TEST(NiftiDamaged, Transforms) {
    test::TempDir dir;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    expect_refused(dir, "a.nii", patched(plain(), 284, nan), "sform holds a non-finite value (srow_x[1] = nan)");
    const std::string qform = patched(patched(plain(), 252, std::int16_t{1}), 254, std::int16_t{0});
    expect_refused(dir, "a.nii", patched(qform, 260, nan), "qform holds a non-finite value (quatern_c = nan)");
    expect_refused(dir, "a.nii", patched(qform, 276, HUGE_VALF), "qform holds a non-finite value (qoffset_z = inf)");
    expect_refused(dir, "a.nii", patched(qform, 256, 1.5f),
                   "qform quaternion is not a unit quaternion (b^2 + c^2 + d^2 = ");
    // An unused qform (code 0) may hold anything; a used sform wins over a long quaternion.
    EXPECT_NO_THROW(NiftiReader::open(write(dir, "b.nii", patched(plain(), 256, nan))));
    const std::string both = patched(plain(), 252, std::int16_t{1});
    EXPECT_NO_THROW(NiftiReader::open(write(dir, "c.nii", patched(both, 256, 1.5f))));
    expect_refused(dir, "a.nii", patched(plain(), 76 + 8, nan), "pixdim[2] is not finite (nan)");
    expect_refused(dir, "a.nii", patched(patched(plain(), 112, 2.0f), 116, HUGE_VALF),
                   "scl_slope 2 is set but scl_inter is not finite (inf)");
}

TEST(NiftiDamaged, DimsAndTypes) {
    test::TempDir dir;
    expect_refused(dir, "a.nii", patched(plain(), 40, std::int16_t{0}),
                   "dim[0] = 0: a NIfTI image has 1 to 7 dimensions");
    expect_refused(dir, "a.nii", patched(plain(), 40, std::int16_t{8}), "dim[0] = 8");
    expect_refused(dir, "a.nii", patched(plain(), 42, std::int16_t{-5}),
                   "dim[1] = -5: every dimension must be at least 1");
    const std::string four_d = patched(patched(plain(), 40, std::int16_t{4}), 48, std::int16_t{20});
    expect_refused(dir, "a.nii", four_d,
                   "a 4-D image with 20 volumes (dim[4] = 20): lessmore reads one 3-D volume per file");
    const std::string five_d = patched(patched(plain(), 40, std::int16_t{5}), 50, std::int16_t{3});
    expect_refused(dir, "a.nii", patched(five_d, 48, std::int16_t{1}), "a 5-D image (dim[5] = 3)");
    expect_refused(dir, "a.nii", patched(plain(), 70, std::int16_t{32}), "datatype 32 (complex64) is not supported");
    expect_refused(dir, "a.nii", patched(plain(), 70, std::int16_t{128}), "datatype 128 (RGB24) is not supported");
    expect_refused(dir, "a.nii", patched(plain(), 70, std::int16_t{3}), "datatype 3 (not a NIfTI type)");
    expect_refused(dir, "a.nii", patched(plain(), 72, std::int16_t{8}),
                   "bitpix 8 disagrees with datatype 4 (int16, 16 bits)");
    std::string huge = patched(patched(plain(), 42, std::int16_t{32767}), 44, std::int16_t{32767});
    huge = patched(huge, 46, std::int16_t{32767});
    expect_refused(dir, "a.nii", huge,
                   "header claims 70362301923326 bytes of voxels after byte 352 but the file has only 2272");
    expect_refused(dir, "a.nii.gz", test::gzip(huge), "holds at most");
}

TEST(NiftiDamaged, MagicAndSize) {
    test::TempDir dir;
    expect_refused(dir, "a.nii", patched(plain(), 0, std::int32_t{349}),
                   "not a NIfTI file: sizeof_hdr is 349, not 348 or 540");
    expect_refused(dir, "a.nii", patched(plain(), 344, std::int32_t{0}),
                   "not a NIfTI-1 file: magic \"\\x00\\x00\\x00\\x00\" (Analyze 7.5 is not read)");
    expect_refused(dir, "a.nii", patched(plain(), 345, 'i'),
                   "magic \"ni1\" says the voxels are in a separate .img file");
    expect_refused(dir, "a.nii", patched(plain(), 346, '2'), "not a NIfTI-1 file: magic \"n+2\\x00\"");
    const std::string pair_header = test::read_file(fixture("ct_pair.hdr"));
    test::write_file(dir / "p.img", test::read_file(fixture("ct_pair.img")));
    expect_refused(dir, "p.hdr", patched(pair_header, 345, '+'), "magic \"n+1\" (single file) in a .hdr header");
    const std::string v2 = test::read_file(fixture("ct_nifti2.nii"));
    expect_refused(dir, "a.nii", patched(v2, 8, '\n'), "NIfTI-2 line-ending check bytes are damaged");
    expect_refused(dir, "a.nii", patched(v2, 168, std::int64_t{-352}), "vox_offset -352 is negative");
    expect_refused(dir, "a.nii", patched(v2, 168, std::int64_t{540}),
                   "vox_offset 540 is inside the header: a single-file NIfTI-2 needs at least 544");
    std::string wide = patched(patched(v2, 16 + 8, std::int64_t{1} << 40), 16 + 16, std::int64_t{1} << 40);
    expect_refused(dir, "a.nii", wide, "image size overflows: 1099511627776 x 1099511627776 x 5 voxels of 2 bytes");
}

TEST(NiftiDamaged, FilesAreReadFromThemselvesOnly) {
    test::TempDir dir;
    // ITK read a.nii.gz from a.nii beside it.
    test::write_file(dir / "a.nii", plain());
    expect_refused(dir, "a.nii.gz", "this is not gzip data", "not a gzip file, although its name ends in .gz");
    expect_refused(dir, "a.nii.gz", std::string("\x1f\x8b", 2) + "garbage after the magic",
                   "corrupt gzip stream in member 1");
    expect_refused(dir / "b.nii.gz", "cannot open: No such file or directory");
    test::write_file(dir / "b.nii", plain());
    EXPECT_NO_THROW(NiftiReader::open(dir / "b.nii"));
    // A pair is .hdr + .img of the same stem and compression, nothing else.
    test::write_file(dir / "p.hdr.gz", test::read_file(fixture("ct_pair_gz.hdr.gz")));
    test::write_file(dir / "p.img", test::read_file(fixture("ct_pair.img")));
    expect_refused(dir / "p.hdr.gz", "p.img.gz: cannot open: No such file or directory");
    expect_refused(dir / "q.img", "q.hdr: cannot open: No such file or directory");
    write(dir, "U.HDR", test::read_file(fixture("ct_pair.hdr")));
    write(dir, "U.IMG", test::read_file(fixture("ct_pair.img")));
    EXPECT_EQ(NiftiReader::open(dir / "U.HDR").data_path().filename(), "U.IMG");
    test::write_file(dir / "r.hdr", test::read_file(fixture("ct_pair.hdr")));
    test::write_file(dir / "r.img", test::read_file(fixture("ct_pair.img")).substr(0, 1000));
    expect_refused(dir / "r.hdr", "r.img: header claims 1920 bytes of voxels after byte 0 but the file has only 1000");
    expect_refused(dir, "a.txt", plain(), "not a NIfTI file name (.nii, .nii.gz, .hdr or .img)");
    test::fs::create_directory(dir / "d.nii");
    expect_refused(dir / "d.nii", "not a regular file");
    // A plain file named .nii whose content is gzip is read by its content.
    test::write_file(dir / "z.nii", test::gzip(plain()));
    NiftiReader z = NiftiReader::open(dir / "z.nii");
    NiftiReader a = NiftiReader::open(dir / "a.nii");
    EXPECT_EQ(read_all(z, 5), read_all(a, 5));
}

TEST(NiftiDamaged, ContentPastTheVoxelsIsDrainedAndChecked) {
    test::TempDir dir;
    // 8 MB of zeros after the voxels inside the member: decompressed to check the CRC.
    NiftiReader reader =
        NiftiReader::open(write(dir, "long.nii.gz", test::gzip(plain() + std::string(std::size_t{8} << 20, '\0'))));
    NiftiReader expected = NiftiReader::open(fixture("ct_int16.nii"));
    EXPECT_EQ(read_all(reader, 5), read_all(expected, 5));
    std::string bad = test::gzip(plain() + std::string(std::size_t{8} << 20, '\0'));
    bad[bad.size() - 6] = static_cast<char>(bad[bad.size() - 6] ^ 1);
    expect_refused(dir, "bad.nii.gz", bad, "gzip CRC mismatch");
}

TEST(NiftiDamaged, ParseRefusesShortBlocks) {
    const std::string& p = plain();
    EXPECT_THROW(parse_nifti_header(reinterpret_cast<const std::byte*>(p.data()), 3), InputError);
    EXPECT_THROW(parse_nifti_header(reinterpret_cast<const std::byte*>(p.data()), 347), InputError);
    EXPECT_EQ(parse_nifti_header(reinterpret_cast<const std::byte*>(p.data()), 348).vox_offset, 352u);
}

}  // namespace
}  // namespace lessmore
