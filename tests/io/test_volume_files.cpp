// NRRD and MetaImage files through lessmore's header and data checks and ITK, against an
// independent numpy reading (tests/data/make_volume_file_fixtures.py wrote the fixtures in
// tests/data/volume-files and tests/data/volume_files_golden.json); then damaged copies:
// every file that cannot supply all its voxels where its header says is refused with its
// reason, and no file, however large, is read whole to find out what it is.
#include "test_support.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/error.hpp>
#include <lessmore/load.hpp>
#include <lessmore/thread_pool.hpp>

#include "io/readers.hpp"
#include "io/volume_data_check.hpp"
#include "io/volume_header.hpp"

#include <zlib.h>

#include <cstring>
#include <map>

namespace lessmore {
namespace {

using nlohmann::json;

const test::fs::path k_fixtures = test::source_dir() / "tests" / "data" / "volume-files";

const json& golden() {
    static const json g = test::read_json(test::source_dir() / "tests" / "data" / "volume_files_golden.json");
    return g;
}

// One volume file read as a walk reads it (its folder is the input).
LoadedVolume load_one(const test::fs::path& file, bool headers_only = false) {
    Source s;
    s.kind = Source::Kind::VolumeFile;
    s.path = file.string();
    s.root = file.parent_path().string();
    s.id = file.filename().string();
    ThreadPool pool(1);
    CancelToken cancel;
    std::vector<LoadedVolume> v =
        headers_only ? inspect_source(s, LoadOptions{}, pool, cancel) : load_source(s, LoadOptions{}, pool, cancel);
    EXPECT_EQ(v.size(), 1u);
    return std::move(v.front());
}

double value_at(const SliceView& s, std::size_t i) {
    switch (s.type) {
    case VoxelType::UInt8:
        return static_cast<const std::uint8_t*>(s.data)[i];
    case VoxelType::Int16:
        return static_cast<const std::int16_t*>(s.data)[i];
    case VoxelType::UInt16:
        return static_cast<const std::uint16_t*>(s.data)[i];
    case VoxelType::Int32:
        return static_cast<const std::int32_t*>(s.data)[i];
    case VoxelType::Float32:
        return static_cast<const float*>(s.data)[i];
    case VoxelType::Float64:
        return static_cast<const double*>(s.data)[i];
    }
    return 0;
}

TEST(VolumeFiles, EveryPlacementOfTheVoxelsReadsAsNumpyReadsIt) {
    ASSERT_EQ(golden()["fixtures"].size(), 25u);
    for (const json& g : golden()["fixtures"]) {
        const std::string name = g["file"];
        SCOPED_TRACE(name);
        const LoadedVolume v = load_one(k_fixtures / name);
        ASSERT_TRUE(v.volume) << v.error;
        const VolumeInfo& info = v.volume->info();
        EXPECT_EQ(info.format, name.find(".nrrd") != std::string::npos || name.find(".nhdr") != std::string::npos
                                   ? "nrrd"
                                   : "metaimage");
        EXPECT_EQ(info.width, g["shape"][0].get<int>());
        EXPECT_EQ(info.height, g["shape"][1].get<int>());
        ASSERT_EQ(info.slice_count(), g["shape"][2].get<std::size_t>());
        EXPECT_EQ(voxel_type_name(info.type), g["dtype"].get<std::string>());
        for (int a = 0; a < 3; ++a)
            EXPECT_NEAR(info.spacing[static_cast<std::size_t>(a)], g["spacing"][a].get<double>(), 1e-6);
        uLong crc = crc32(0, nullptr, 0);
        for (std::size_t k = 0; k < info.slice_count(); ++k) {
            const SliceView s = v.volume->slice(k);
            crc = crc32(crc, static_cast<const Bytef*>(s.data), static_cast<uInt>(s.pixels() * voxel_size(s.type)));
        }
        EXPECT_EQ(crc, g["crc32"].get<std::uint32_t>());
        for (const json& p : g["samples"]) {
            const SliceView s = v.volume->slice(p[2].get<std::size_t>());
            const std::size_t i = p[1].get<std::size_t>() * static_cast<std::size_t>(s.width) + p[0].get<std::size_t>();
            EXPECT_EQ(value_at(s, i), p[3].get<double>()) << p.dump();
        }
    }
}

std::string fixture(const std::string& name) { return test::read_file(k_fixtures / name); }

// The voxels of the fixtures (int16, 16 x 12 x 5, little-endian) and their header lines.
std::string voxels() {
    const std::string nrrd = fixture("raw.nrrd");
    return nrrd.substr(nrrd.size() - 1920);
}
const std::string k_nrrd = "NRRD0004\ntype: short\ndimension: 3\nsizes: 16 12 5\nendian: little\n";
const std::string k_mha = "ObjectType = Image\nNDims = 3\nDimSize = 16 12 5\nElementType = MET_SHORT\n";

struct Damaged {
    std::string name;
    std::string bytes;
    std::string message;                           // a part of the one-line reason
    std::map<std::string, std::string> side = {};  // other files beside it
};

void expect_refused(const std::vector<Damaged>& cases) {
    for (const Damaged& c : cases) {
        SCOPED_TRACE(c.name);
        test::TempDir dir;
        test::write_file(dir / "in" / c.name, c.bytes);
        for (const auto& [name, bytes] : c.side) test::write_file(dir / "in" / name, bytes);
        const LoadedVolume v = load_one(dir / "in" / c.name);
        EXPECT_FALSE(v.volume);
        EXPECT_NE(v.error.find(c.message), std::string::npos) << v.error;
        EXPECT_EQ(v.error.find('\n'), std::string::npos) << v.error;
    }
}

TEST(VolumeFiles, NrrdDataThatCannotSupplyEveryVoxelIsRefusedNamed) {
    const std::string v = voxels();
    const std::string raw = k_nrrd + "encoding: raw\n";
    const std::string gz = k_nrrd + "encoding: gzip\n";
    const std::string g = test::gzip(v);
    expect_refused({
        {"short.nrrd", raw + "\n" + v.substr(4), "the file holds 1,916 of the 1,920 bytes of voxels its header needs"},
        // byte skip -1 with too few bytes would take the header's own text for voxels.
        {"minus1.nrrd", raw + "byte skip: -1\n\n" + v.substr(4),
         "with 'byte skip: -1' the voxels are the last 1,920 bytes of the file, but only 1,916 follow the header"},
        {"minus5.nrrd", raw + "byte skip: -5\n\n" + v + "ab", "before 4 more, but only 1,922 follow the header"},
        {"past.nrrd", raw + "byte skip: 2000\n\n" + v,
         "holds 0 of the 1,920 bytes of voxels its header needs after 'byte skip: 2000'"},
        {"gzip_short.nrrd", gz + "\n" + test::gzip(v.substr(4)),
         "the gzip data holds 1,916 of the 1,920 bytes of its voxels"},
        {"gzip_long.nrrd", gz + "\n" + test::gzip(v + "1234"),
         "the gzip data holds more than the 1,920 bytes of its voxels"},
        {"gzip_cut.nrrd", gz + "\n" + g.substr(0, g.size() - 12), "the gzip data is cut short after"},
        {"gzip_skip.nrrd", gz + "byte skip: 4\n\n" + g,
         "holds 1,920 of the 1,924 bytes of its byte skip 4 + 1,920 bytes of voxels"},
        // teem reads zlib data named gzip as raw bytes: the compressed stream as voxels.
        {"zlib_as_gzip.nrrd", gz + "\n" + test::zlib_stream(v),
         "is not gzip (it does not start with the gzip magic bytes 1f 8b)"},
        {"gzip_minus1.nrrd", gz + "byte skip: -1\n\n" + g, "'byte skip: -1' with gzip data is not supported"},
        {"detached.nhdr",
         raw + "data file: detached.raw\n",
         "data file detached.raw holds 1,000 of the 1,920 bytes",
         {{"detached.raw", std::string(1000, 'x')}}},
        {"missing.nhdr", raw + "data file: missing.raw\n",
         "names data file 'missing.raw', which is not a regular file"},
        {"self.nhdr", raw + "data file: self.nhdr\n", "names itself as its data file"},
        {"list.nhdr", raw + "data file: LIST\na.raw\n", "a list of data files ('data file: LIST') is not supported"},
        {"pattern.nhdr", raw + "data file: s%d.raw 1 5 1\n", "a numbered pattern of data files"},
        {"stdin.nhdr", raw + "data file: -\n", "(standard input) is not supported"},
        {"lines.nhdr",
         raw + "data file: lines.dat\nline skip: 2\n",
         "run past the first MB of data file lines.dat",
         {{"lines.dat", std::string(std::size_t{3} << 20, 'x')}}},
        {"lines_eof.nhdr",
         raw + "data file: lines_eof.dat\nline skip: 5\n",
         "data file lines_eof.dat ends within the lines 'line skip' passes over",
         {{"lines_eof.dat", "one\ntwo\n"}}},
        {"no_blank.nrrd", raw, "ends with the file, without a blank line, and names no data file"},
        {"twice.nrrd", raw + "encoding: raw\n\n" + v, "the NRRD header sets 'encoding' twice"},
        {"keyvalue.nrrd", k_nrrd + "encoding:=raw\n\n" + v, "the NRRD header has no 'encoding:' field"},
        {"bzip2.nrrd", k_nrrd + "encoding: bzip2\n\n" + v, "'encoding: bzip2' is not supported"},
        {"block.nrrd", "NRRD0004\ntype: block\ndimension: 1\nsizes: 4\nencoding: raw\n\n1234",
         "NRRD type 'block' is not supported"},
        {"overflow.nrrd",
         "NRRD0004\ntype: short\ndimension: 3\nsizes: 2000000000 2000000000 2000000000\nencoding: raw\n\n",
         "describes more bytes of voxels than any file holds"},
        {"nul.nrrd", "NRRD0004\ntype: sh" + std::string(1, '\0') + "ort\n", "not a NRRD header: a NUL byte at byte 17"},
        {"text.nrrd", "this is not a NRRD file\n", "not a NRRD file"},
        {"long.nrrd", "NRRD0004\n" + std::string(std::size_t{2} << 20, '#'), "the NRRD header is longer than 1 MB"},
    });
}

TEST(VolumeFiles, MetaImageDataThatCannotSupplyEveryVoxelIsRefusedNamed) {
    const std::string v = voxels();
    const std::string z = test::zlib_stream(v);
    const std::string compressed = k_mha + "CompressedData = True\n";
    expect_refused({
        {"short.mha", k_mha + "ElementDataFile = LOCAL\n" + v.substr(4),
         "the file holds 1,916 of the 1,920 bytes of voxels"},
        // MetaIO seeks to an absolute HeaderSize: inside the header, its text becomes voxels.
        {"inside.mha", k_mha + "HeaderSize = 10\nElementDataFile = LOCAL\n" + v,
         "'HeaderSize = 10' points inside the header, which ends at byte 111"},
        {"past.mhd",
         k_mha + "HeaderSize = 100\nElementDataFile = past.raw\n",
         "data file past.raw holds 1,884 of the 1,920 bytes of voxels its header needs from 'HeaderSize = 100'",
         {{"past.raw", std::string(64, '\0') + v}}},
        {"minus1.mha", k_mha + "HeaderSize = -1\nElementDataFile = LOCAL\n" + v.substr(4),
         "with 'HeaderSize = -1' the voxels are the last 1,920 bytes of the file, but only 1,916 follow the header"},
        {"minus5.mha", k_mha + "HeaderSize = -5\nElementDataFile = LOCAL\n" + v,
         "'HeaderSize = -5' is not -1 or a byte offset"},
        {"nosize.mha", compressed + "ElementDataFile = LOCAL\n" + z, "with LOCAL data needs 'CompressedDataSize'"},
        {"bigsize.mha",
         compressed + "CompressedDataSize = " + std::to_string(z.size() + 100) + "\nElementDataFile = LOCAL\n" + z,
         "' runs past the end of the file, which holds "},
        {"z_short.mha",
         compressed + "CompressedDataSize = " + std::to_string(test::zlib_stream(v.substr(4)).size()) +
             "\nElementDataFile = LOCAL\n" + test::zlib_stream(v.substr(4)),
         "the compressed data holds 1,916 of the 1,920 bytes of voxels its header needs"},
        {"z_long.mha",
         compressed + "CompressedDataSize = " + std::to_string(test::zlib_stream(v + "1234").size()) +
             "\nElementDataFile = LOCAL\n" + test::zlib_stream(v + "1234"),
         "the compressed data holds more than the 1,920 bytes of voxels"},
        {"z_cut.mha",
         compressed + "CompressedDataSize = " + std::to_string(z.size() - 8) + "\nElementDataFile = LOCAL\n" + z,
         "the compressed data is cut short after"},
        {"z_headersize.mha",
         compressed + "HeaderSize = 200\nCompressedDataSize = " + std::to_string(z.size()) +
             "\nElementDataFile = LOCAL\n" + z,
         "'HeaderSize' with 'CompressedData = True' is not supported"},
        {"zraw.mhd",
         compressed + "ElementDataFile = zraw.zraw\n",
         "the compressed data in data file zraw.zraw holds 1,916 of the 1,920",
         {{"zraw.zraw", test::zlib_stream(v.substr(4))}}},
        {"text.mha", k_mha + "BinaryData = False\nElementDataFile = LOCAL\n1 2 3",
         "'BinaryData = False' (voxels as text) is not supported"},
        {"channels.mha", k_mha + "ElementNumberOfChannels = 2\nElementDataFile = LOCAL\n" + v + v,
         "only scalar volumes (1 channel)"},
        {"both.mha",
         k_mha + "BinaryDataByteOrderMSB = False\nElementByteOrderMSB = True\nElementDataFile = LOCAL\n" + v,
         "sets both BinaryDataByteOrderMSB and ElementByteOrderMSB"},
        {"list.mhd", k_mha + "ElementDataFile = LIST\na.raw\n",
         "a list of data files ('ElementDataFile = LIST') is not supported"},
        {"pattern.mhd", k_mha + "ElementDataFile = s%03d.raw 1 5 1\n", "a numbered pattern of data files"},
        {"outside.mhd", k_mha + "ElementDataFile = ../outside.raw\n", "outside the input"},
        // Only LOCAL, Local and local mean "this file" to MetaIO; anything else is a name.
        {"lOCAL.mha", k_mha + "ElementDataFile = lOCAL\n" + v, "names data file 'lOCAL', which is not a regular file"},
        {"no_data_file.mha", k_mha + "\n", "not a MetaImage header: no 'ElementDataFile' line"},
        {"noeq.mha", k_mha + "a line without a separator\nElementDataFile = LOCAL\n" + v,
         "line 5 of the MetaImage header is not 'Key = Value'"},
        {"long_line.mha", k_mha + "Comment = " + std::string(600, 'c') + "\nElementDataFile = LOCAL\n" + v,
         "is longer than 499 characters"},
        {"negative.mha", "NDims = 3\nDimSize = 16 -12 5\nElementType = MET_SHORT\nElementDataFile = LOCAL\n" + v,
         "'-12' is not a size"},
        {"string.mha", "NDims = 3\nDimSize = 16 12 5\nElementType = MET_STRING\nElementDataFile = LOCAL\n" + v,
         "ElementType 'MET_STRING' is not supported"},
        {"twice.mha", k_mha + "HeaderSize = 0\nHeaderSize = 10\nElementDataFile = LOCAL\n" + v,
         "sets 'HeaderSize' twice"},
        {"zeros.mha", std::string(4096, '\0'), "not a MetaImage header: a NUL byte at byte 0"},
        {"long.mha", std::string(std::size_t{2} << 20, '\n'), "the MetaImage header is longer than 1 MB"},
    });
}

// Info reads headers only: raw data is still checked to be all there (a size), compressed
// data only to be able to hold the voxels.
TEST(VolumeFiles, HeadersOnlyChecksWhatASizeCanTell) {
    const std::string v = voxels();
    test::TempDir dir;
    test::write_file(dir / "short.nrrd", k_nrrd + "encoding: raw\n\n" + v.substr(4));
    test::write_file(dir / "gzip_short.nrrd", k_nrrd + "encoding: gzip\n\n" + test::gzip(v.substr(4)));
    test::write_file(dir / "tiny_gzip.nrrd",
                     "NRRD0004\ntype: short\ndimension: 3\nsizes: 1000 1000 1000\nendian: little\n"
                     "encoding: gzip\n\n" +
                         test::gzip("x"));
    EXPECT_NE(load_one(dir / "short.nrrd", true).error.find("holds 1,916 of the 1,920"), std::string::npos);
    EXPECT_TRUE(load_one(dir / "gzip_short.nrrd", true).volume);
    EXPECT_NE(
        load_one(dir / "tiny_gzip.nrrd", true).error.find("bytes of gzip data cannot hold the 2,000,000,000 bytes"),
        std::string::npos)
        << load_one(dir / "tiny_gzip.nrrd", true).error;
}

// Files of 3 GB and 50 GB (sparse: no disk used) with every volume extension fail from
// their first bytes; a valid header over a huge sparse tail reads just its voxels.
TEST(VolumeFiles, HugeSparseFilesAreNeverReadWhole) {
    test::TempDir dir;
    for (const char* ext : {".nrrd", ".nhdr", ".mha", ".mhd", ".nii", ".nii.gz", ".hdr", ".hdr.gz"}) {
        for (const std::uint64_t size : {std::uint64_t{3} << 30, std::uint64_t{50} << 30}) {
            const auto path = dir / ("zeros" + std::to_string(size >> 30) + ext);
            test::write_file(path, "");
            test::fs::resize_file(path, size);
            const LoadedVolume v = load_one(path);
            SCOPED_TRACE(path.filename().string());
            EXPECT_FALSE(v.volume);
            EXPECT_FALSE(v.error.empty());
        }
    }
    const auto tail = dir / "tail.mha";
    test::write_file(tail, k_mha + "ElementDataFile = LOCAL\n" + voxels());
    test::fs::resize_file(tail, std::uint64_t{50} << 30);
    const LoadedVolume v = load_one(tail);
    ASSERT_TRUE(v.volume) << v.error;
    EXPECT_EQ(static_cast<const std::int16_t*>(v.volume->slice(0).data)[1],
              *reinterpret_cast<const std::int16_t*>(voxels().data() + 2));
    // A header that stops short of its blank line over a huge sparse file: the NUL bytes
    // end it at once; a gzip encoding over zeros is not gzip.
    const auto open_header = dir / "open.nrrd";
    test::write_file(open_header, k_nrrd + "encoding: raw\n");
    test::fs::resize_file(open_header, std::uint64_t{50} << 30);
    EXPECT_NE(load_one(open_header).error.find("a NUL byte at byte 78"), std::string::npos)
        << load_one(open_header).error;
    const auto zeros_gz = dir / "zeros_gz.nrrd";
    test::write_file(zeros_gz, k_nrrd + "encoding: gzip\n\n");
    test::fs::resize_file(zeros_gz, std::uint64_t{50} << 30);
    EXPECT_NE(load_one(zeros_gz).error.find("is not gzip"), std::string::npos) << load_one(zeros_gz).error;
}

// Behind the checks, what ITK itself reads is verified: MetaIO's console messages fail the
// read (it returns success with a short buffer), and compressed voxels must match the
// CRC-32 of what lessmore inflated, in the file's byte order.
TEST(VolumeFiles, WhatItkHandsBackIsVerifiedToo) {
    test::TempDir dir;
    test::write_file(dir / "short.mha", k_mha + "ElementDataFile = LOCAL\n" + voxels().substr(4));
    try {
        itk_volume_task((dir / "short.mha").string(), "");
        ADD_FAILURE() << "MetaIO's short read was accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("MetaIO: MetaImage: M_ReadElementsData: data not read completely"),
                  std::string::npos)
            << e.what();
    }
    for (const char* name : {"zlib.mha", "float_be_gzip.nrrd", "gzip_byte_skip.nrrd"}) {
        SCOPED_TRACE(name);
        const VolumeLayout layout = read_volume_layout(k_fixtures / name);
        const DataCheck check = check_volume_data(layout, true);
        ASSERT_TRUE(check.crc32);
        DecodedData d = itk_volume_task((k_fixtures / name).string(), "");
        ASSERT_EQ(d.bytes.size(), layout.voxel_bytes());
        const Bytes before = d.bytes;
        EXPECT_NO_THROW(verify_voxels(layout, check, d.bytes.data(), d.bytes.size()));
        EXPECT_TRUE(d.bytes == before);  // left as it was
        d.bytes[100] ^= std::byte{1};
        EXPECT_THROW(verify_voxels(layout, check, d.bytes.data(), d.bytes.size()), InputError);
    }
}

TEST(VolumeFiles, HeaderLayoutOfTheFixtures) {
    const VolumeLayout a = read_volume_layout(k_fixtures / "line_skip.nhdr");
    EXPECT_FALSE(a.attached);
    EXPECT_EQ(a.data_file, k_fixtures / "line_skip.dat");
    EXPECT_EQ(a.line_skip, 2u);
    EXPECT_EQ(a.skip, 3);
    EXPECT_EQ(a.voxel_bytes(), 1920u);
    const VolumeLayout b = read_volume_layout(k_fixtures / "header_size_minus1.mha");
    EXPECT_TRUE(b.attached);
    EXPECT_EQ(b.skip, -1);
    const std::string text = fixture("header_size_minus1.mha");
    EXPECT_EQ(b.header_end, text.find("ElementDataFile = LOCAL\n") + 24);
    const VolumeLayout c = read_volume_layout(k_fixtures / "float_be_gzip.nrrd");
    EXPECT_TRUE(c.big_endian);
    EXPECT_EQ(c.encoding, VolumeLayout::Encoding::Gzip);
    EXPECT_EQ(c.element_size, 4u);
}

}  // namespace
}  // namespace lessmore
