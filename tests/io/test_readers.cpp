// Loaders on real data (DICOM with and without tilt, NIfTI) and on odd files.
#include "test_support.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/files.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/load.hpp>
#include <lessmore/natural_order.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/png_writer.hpp>
#include <lessmore/thread_pool.hpp>

#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <cstring>

namespace lessmore {
namespace {

std::vector<LoadedVolume> load_all(const test::fs::path& p, SliceOrder order = SliceOrder::Position,
                                   bool headers_only = false) {
    const Discovery d = discover({p.string()});
    ThreadPool pool(2);
    CancelToken cancel;
    LoadOptions o;
    o.order = order;
    std::vector<LoadedVolume> out;
    for (const Source& s : d.sources) {
        for (auto& v : headers_only ? inspect_source(s, o, pool, cancel) : load_source(s, o, pool, cancel))
            out.push_back(std::move(v));
    }
    return out;
}

template <typename T>
T voxel(const Volume& v, std::size_t slice, int x, int y) {
    const SliceView s = v.slice(slice);
    T out;
    std::memcpy(&out, static_cast<const char*>(s.data) + (static_cast<std::size_t>(y) * s.width + x) * sizeof(T),
                sizeof(T));
    return out;
}

TEST(DicomReader, GantryTiltedSeriesIsOneVolumeOrderedAlongTheNormal) {
    auto vols = load_all(test::ct_data() / "ge-head-tilt");
    ASSERT_EQ(vols.size(), 1u);
    ASSERT_TRUE(vols[0].volume) << vols[0].error;
    const VolumeInfo& info = vols[0].volume->info();
    EXPECT_EQ(info.id, "ge-head-tilt");
    EXPECT_EQ(info.format, "dicom");
    EXPECT_EQ(info.slice_count(), 28u);
    EXPECT_EQ(info.width, 512);
    EXPECT_EQ(info.type, VoxelType::Int16);
    for (std::size_t i = 1; i < info.slices.size(); ++i) EXPECT_LT(*info.slices[i - 1].z, *info.slices[i].z);
    // Uneven spacing: 4 mm then 7 mm steps (along the tilted normal, ~1.08 and 4.0 and 7.0).
    EXPECT_NEAR(*info.slices[27].z - *info.slices[26].z, 6.999, 0.01);
    EXPECT_EQ(info.slices.front().file, "01.dcm");
    EXPECT_EQ(info.slices.back().file, "28.dcm");
}

TEST(DicomReader, PositionOrderVersusNameOrder) {
    auto by_pos = load_all(test::ct_data() / "pancreas-ct-cb-001");
    ASSERT_EQ(by_pos.size(), 1u);
    const VolumeInfo& info = by_pos[0].volume->info();
    ASSERT_EQ(info.slice_count(), 16u);  // the subset 1-026..1-041 (tests/data/ct/SOURCES.md)
    // z decreases with the file number, so position order reverses the names.
    EXPECT_EQ(info.slices.front().file, "1-041.dcm");
    EXPECT_EQ(info.slices.back().file, "1-026.dcm");
    EXPECT_NEAR(*info.slices.front().z, 364.91, 1e-9);
    EXPECT_NEAR(info.spacing[2], 3.0, 1e-9);
    // Hounsfield units: stored uint16 + intercept -1000.
    int lo = 32767, hi = -32768;
    for (std::size_t k = 0; k < 16; ++k)
        for (int y = 0; y < 512; y += 7)
            for (int x = 0; x < 512; x += 7) {
                const int v = voxel<std::int16_t>(*by_pos[0].volume, k, x, y);
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
    EXPECT_EQ(lo, -1000);
    EXPECT_GT(hi, 1000);

    auto by_name = load_all(test::ct_data() / "pancreas-ct-cb-001", SliceOrder::Name);
    EXPECT_EQ(by_name[0].volume->info().slices.front().file, "1-026.dcm");
    EXPECT_EQ(by_name[0].volume->info().slices.back().file, "1-041.dcm");
}

TEST(DicomReader, HeadersOnlyGivesTheSameInfo) {
    auto full = load_all(test::ct_data() / "ge-head-tilt");
    auto head = load_all(test::ct_data() / "ge-head-tilt", SliceOrder::Position, true);
    ASSERT_TRUE(head[0].volume);
    EXPECT_EQ(head[0].volume->slice_count(), 0u);  // no voxels
    const VolumeInfo& a = full[0].volume->info();
    const VolumeInfo& b = head[0].volume->info();
    ASSERT_EQ(a.slice_count(), b.slice_count());
    for (std::size_t i = 0; i < a.slice_count(); ++i) EXPECT_EQ(a.slices[i].file, b.slices[i].file);
    EXPECT_EQ(a.spacing, b.spacing);
}

TEST(ItkReader, BundledNiftiSample) {
    auto vols = load_all(test::bundled_sample());
    ASSERT_EQ(vols.size(), 1u);
    ASSERT_TRUE(vols[0].volume) << vols[0].error;
    const VolumeInfo& info = vols[0].volume->info();
    EXPECT_EQ(info.id, "example_ct_sm.nii.gz");
    EXPECT_EQ(info.format, "nifti");
    EXPECT_EQ(info.width, 122);
    EXPECT_EQ(info.height, 101);
    EXPECT_EQ(info.slice_count(), 30u);
    EXPECT_EQ(info.type, VoxelType::Int16);
    EXPECT_EQ(info.spacing[2], 3.0);
    EXPECT_TRUE(info.slices[0].file.empty());
    EXPECT_NEAR(*info.slices[1].z - *info.slices[0].z, 3.0, 1e-9);
}

TEST(VolumeFileReader, Int32NiftiKeepsItsOnDiskType) {
    // The type is decided from the header (info tells what reduce uses): int32 stays int32.
    auto vols = load_all(test::ct_data() / "nifti" / "example_ct.nii.gz");
    ASSERT_TRUE(vols[0].volume) << vols[0].error;
    EXPECT_EQ(vols[0].volume->info().type, VoxelType::Int32);
    EXPECT_EQ(vols[0].volume->slice_count(), 112u);
    auto head = load_all(test::ct_data() / "nifti" / "example_ct.nii.gz", SliceOrder::Position, true);
    EXPECT_EQ(head[0].volume->info().type, VoxelType::Int32);
    // The small file (int16 on disk) is slices 82..111 of this one.
    auto sm = load_all(test::bundled_sample());
    ASSERT_EQ(sm[0].volume->info().type, VoxelType::Int16);
    for (int y = 0; y < 101; y += 10)
        for (int x = 0; x < 122; x += 10)
            EXPECT_EQ(voxel<std::int32_t>(*vols[0].volume, 90, x, y), voxel<std::int16_t>(*sm[0].volume, 8, x, y));
}

TEST(VolumeFileReader, FloatNiftiKeepsNaNAndScaledNiftiIsRescaled) {
    test::TempDir dir;
    std::vector<float> f(4 * 3 * 2, 1.0f);
    f[5] = std::nanf("");
    test::write_nifti(dir / "nan.nii", {4, 3, 2}, 16, std::string(reinterpret_cast<char*>(f.data()), f.size() * 4));
    auto vols = load_all(dir / "nan.nii");
    ASSERT_TRUE(vols[0].volume) << vols[0].error;
    EXPECT_EQ(vols[0].volume->info().type, VoxelType::Float32);
    // Values as nibabel reads them: the NaN stays NaN (the 8-bit mapping makes it 0).
    EXPECT_TRUE(std::isnan(voxel<float>(*vols[0].volume, 0, 1, 1)));
    EXPECT_EQ(voxel<float>(*vols[0].volume, 0, 2, 1), 1.0f);
    EXPECT_EQ(to_8bit(vols[0].volume->slice(0), IntensityMapping{}).at(1, 1), 0);

    std::vector<std::int16_t> s = {0, 1, 2, 3, 4, 5, 6, 7};
    test::write_nifti(dir / "scaled.nii", {2, 2, 2}, 4, std::string(reinterpret_cast<char*>(s.data()), s.size() * 2),
                      2.0f, -1024.0f);
    auto scaled = load_all(dir / "scaled.nii");
    ASSERT_TRUE(scaled[0].volume) << scaled[0].error;
    // 7 * 2 - 1024 = -1010: whole numbers, but int16 * 2 - 1024 spans more than int16 holds,
    // so the header says int32.
    ASSERT_EQ(scaled[0].volume->info().type, VoxelType::Int32);
    EXPECT_EQ(voxel<std::int32_t>(*scaled[0].volume, 1, 1, 1), -1010);
    EXPECT_EQ(voxel<std::int32_t>(*scaled[0].volume, 0, 0, 0), -1024);
}

TEST(ImageFolderReader, NaturalOrderEightAndSixteenBit) {
    test::TempDir dir;
    for (int i : {1, 2, 10}) {
        Image8 img(8, 6);
        std::fill(img.pixels.begin(), img.pixels.end(), static_cast<std::uint8_t>(i));
        test::write_file(dir / "pngs" / ("s" + std::to_string(i) + ".png"), encode_png(img));
    }
    test::fs::create_directories(dir / "png16");
    for (int i : {1, 2, 10}) {
        cv::Mat m16(6, 8, CV_16UC1, cv::Scalar(i * 5000));
        cv::imwrite((dir / "png16" / ("s" + std::to_string(i) + ".png")).string(), m16);
    }
    auto v8 = load_all(dir / "pngs");
    ASSERT_EQ(v8.size(), 1u);
    ASSERT_TRUE(v8[0].volume) << v8[0].error;
    const VolumeInfo& info = v8[0].volume->info();
    EXPECT_EQ(info.format, "images");
    EXPECT_EQ(info.type, VoxelType::UInt8);
    ASSERT_EQ(info.slice_count(), 3u);
    EXPECT_EQ(info.slices[0].file, "s1.png");
    EXPECT_EQ(info.slices[1].file, "s2.png");
    EXPECT_EQ(info.slices[2].file, "s10.png");
    EXPECT_EQ(voxel<std::uint8_t>(*v8[0].volume, 2, 0, 0), 10);
    EXPECT_FALSE(info.slices[0].z.has_value());

    auto by_name = load_all(dir / "pngs", SliceOrder::Name);
    EXPECT_EQ(by_name[0].volume->info().slices[1].file, "s10.png");

    auto v16 = load_all(dir / "png16");
    ASSERT_TRUE(v16[0].volume) << v16[0].error;
    EXPECT_EQ(v16[0].volume->info().type, VoxelType::UInt16);
    EXPECT_EQ(voxel<std::uint16_t>(*v16[0].volume, 2, 3, 3), 50000);
}

TEST(ImageFolderReader, MismatchedSizeNamesTheFile) {
    test::TempDir dir;
    test::write_file(dir / "a1.png", encode_png(Image8(8, 8)));
    test::write_file(dir / "a2.png", encode_png(Image8(9, 8)));
    auto vols = load_all(dir.path());
    ASSERT_EQ(vols.size(), 1u);
    EXPECT_FALSE(vols[0].volume);
    EXPECT_NE(vols[0].path.find("a2.png"), std::string::npos);
    EXPECT_NE(vols[0].error.find("must match"), std::string::npos) << vols[0].error;
}

TEST(ItkReader, BrokenFilesGiveOneLineErrors) {
    test::TempDir dir;
    test::write_file(dir / "text.nii.gz", "this is not a NIfTI file\n");
    std::vector<std::int16_t> s(8, 0);
    // A header claiming 30000^3 voxels with 16 bytes of data.
    test::write_nifti(dir / "absurd.nii", {30000, 30000, 30000}, 4, std::string(16, '\0'));
    test::write_nifti(dir / "short.nii", {64, 64, 64}, 4, std::string(100, '\0'));
    for (const char* name : {"text.nii.gz", "absurd.nii", "short.nii"}) {
        auto vols = load_all(dir / name);
        ASSERT_EQ(vols.size(), 1u) << name;
        EXPECT_FALSE(vols[0].volume) << name;
        EXPECT_FALSE(vols[0].error.empty()) << name;
        EXPECT_EQ(vols[0].error.find('\n'), std::string::npos) << vols[0].error;
    }
}

}  // namespace
}  // namespace lessmore

namespace lessmore {
namespace {

// NRRD and MetaImage headers are text; written by hand so the test needs no ITK.
TEST(ItkReader, NrrdAndMetaImageVolumes) {
    test::TempDir dir;
    std::vector<std::int16_t> v(4 * 3 * 2);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int16_t>(i * 10 - 100);
    const std::string raw(reinterpret_cast<const char*>(v.data()), v.size() * 2);
    test::write_file(dir / "vol.nrrd",
                     "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nspacings: 0.5 0.5 2\n"
                     "encoding: raw\nendian: little\n\n" +
                         raw);
    test::write_file(dir / "vol.mha",
                     "ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementSpacing = 0.5 0.5 2\n"
                     "ElementType = MET_SHORT\nElementDataFile = LOCAL\n" +
                         raw);
    test::write_file(dir / "detached.mhd",
                     "ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementType = MET_SHORT\n"
                     "ElementDataFile = detached.raw\n");
    test::write_file(dir / "detached.raw", raw);
    for (const char* name : {"vol.nrrd", "vol.mha", "detached.mhd"}) {
        SCOPED_TRACE(name);
        auto vols = load_all(dir / name);
        ASSERT_EQ(vols.size(), 1u);
        ASSERT_TRUE(vols[0].volume) << vols[0].error;
        const VolumeInfo& info = vols[0].volume->info();
        EXPECT_EQ(info.format, std::string(name).find("nrrd") != std::string::npos ? "nrrd" : "metaimage");
        EXPECT_EQ(info.width, 4);
        EXPECT_EQ(info.height, 3);
        EXPECT_EQ(info.slice_count(), 2u);
        EXPECT_EQ(info.type, VoxelType::Int16);
        EXPECT_EQ(voxel<std::int16_t>(*vols[0].volume, 1, 3, 2), v[23]);  // last voxel
        EXPECT_EQ(voxel<std::int16_t>(*vols[0].volume, 0, 1, 0), v[1]);
    }
    // The folder scan finds the three volumes and ignores the detached data file.
    const Discovery d = discover({dir.path().string()});
    ASSERT_EQ(d.sources.size(), 3u);
    EXPECT_EQ(d.sources[0].id, "detached.mhd");
}

}  // namespace
}  // namespace lessmore

namespace lessmore {
namespace {

// JPEG-LS, RLE and JPEG 2000 (lossless) copies made with GDCM's gdcmconv decode to the
// same Hounsfield units as the uncompressed files.
TEST(DicomReader, CompressedTransferSyntaxesDecodeLosslessly) {
    if (!test::fs::exists("/usr/bin/gdcmconv"))
        GTEST_SKIP() << "SKIPPED: gdcmconv not installed (Debian package libgdcm-tools)";
    test::TempDir dir;
    const auto plain = test::dicom_fixtures() / "philips";
    test::fs::create_directories(dir / "packed");
    const std::vector<std::pair<std::string, std::string>> files = {
        {"I10", "--jpegls"}, {"I20", "--rle"}, {"I30", "--j2k"}, {"I40", "--jpeg"}};
    test::fs::create_directories(dir / "plain");
    for (const auto& [name, codec] : files) test::fs::copy_file(plain / name, dir / "plain" / name);
    for (const auto& [name, codec] : files) {
        const std::string cmd = "/usr/bin/gdcmconv " + codec + " '" + (plain / name).string() + "' '" +
                                (dir / "packed" / name).string() + "'";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        EXPECT_NE(test::read_file(dir / "packed" / name), test::read_file(plain / name)) << codec;
    }
    auto a = load_all(dir / "plain");
    auto b = load_all(dir / "packed");
    ASSERT_TRUE(a[0].volume && b[0].volume) << b[0].error;
    ASSERT_EQ(a[0].volume->slice_count(), 4u);
    ASSERT_EQ(b[0].volume->slice_count(), 4u);
    for (std::size_t k = 0; k < 4; ++k) {
        const SliceView x = a[0].volume->slice(k), y = b[0].volume->slice(k);
        EXPECT_EQ(a[0].volume->info().slices[k].file, b[0].volume->info().slices[k].file);
        EXPECT_EQ(std::memcmp(x.data, y.data, x.pixels() * 2), 0) << a[0].volume->info().slices[k].file;
    }
}

}  // namespace
}  // namespace lessmore

namespace lessmore {
namespace {

// PhotometricInterpretation (docs/dicom.md, "Pixel data and transfer syntaxes"):
// MONOCHROME1 reads as MONOCHROME2 (the same values), colour interpretations are refused
// as colour even with one sample, anything else is refused naming it.
TEST(DicomReader, OnlyMonochromeInterpretationsAreRead) {
    const auto source = test::dicom_fixtures() / "philips" / "I10";
    const std::string plain = test::read_file(source);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"MONOCHROME2", ""},
        {"MONOCHROME1", ""},
        {"PALETTE COLOR", "colour DICOM image (PhotometricInterpretation PALETTE COLOR) is not supported"},
        {"RGB", "colour DICOM image (PhotometricInterpretation RGB) is not supported"},
        {"YBR_FULL_422", "colour DICOM image (PhotometricInterpretation YBR_FULL_422) is not supported"},
        {"GREY", "PhotometricInterpretation 'GREY' is not supported"},
    };
    std::vector<std::byte> reference;
    for (const auto& [pi, error] : cases) {
        SCOPED_TRACE(pi);
        test::TempDir dir;
        test::fs::create_directories(dir / "v");
        test::write_file(dir / "v" / "I10", test::with_dicom_string(plain, 0x0028, 0x0004, pi));
        auto vols = load_all(dir / "v");
        ASSERT_EQ(vols.size(), 1u);
        if (error.empty()) {
            ASSERT_TRUE(vols[0].volume) << vols[0].error;
            const SliceView s = vols[0].volume->slice(0);
            const auto* p = static_cast<const std::byte*>(s.data);
            const std::vector<std::byte> values(p, p + s.pixels() * voxel_size(s.type));
            if (reference.empty()) reference = values;
            EXPECT_TRUE(values == reference);
        } else {
            EXPECT_FALSE(vols[0].volume);
            EXPECT_NE(vols[0].error.find(error), std::string::npos) << vols[0].error;
        }
    }
}

TEST(ImageFolderReader, TruncatedPngAndJpegAreRefused) {
    test::TempDir dir;
    cv::Mat img(64, 64, CV_8UC1);
    cv::randu(img, 0, 255);
    for (const char* ext : {".png", ".jpg"}) {
        const auto folder = dir / (std::string("f") + (ext + 1));
        test::fs::create_directories(folder);
        cv::imwrite((folder / (std::string("s1") + ext)).string(), img);
        cv::imwrite((folder / (std::string("s2") + ext)).string(), img);
        const std::string whole = test::read_file(folder / (std::string("s2") + ext));
        test::write_file(folder / (std::string("s2") + ext), whole.substr(0, whole.size() / 2));
        auto vols = load_all(folder);
        ASSERT_EQ(vols.size(), 1u) << ext;
        EXPECT_FALSE(vols[0].volume) << ext;
        EXPECT_NE(vols[0].path.find(std::string("s2") + ext), std::string::npos) << vols[0].path;
        EXPECT_EQ(vols[0].error.find("0x"), std::string::npos) << vols[0].error;
    }
}

TEST(ImageFolderReader, ColourIsConvertedWithPillowsLumaFormula) {
    test::TempDir dir;
    cv::Mat bgr(2, 2, CV_8UC3);
    bgr.at<cv::Vec3b>(0, 0) = {0, 0, 255};     // red
    bgr.at<cv::Vec3b>(0, 1) = {0, 255, 0};     // green
    bgr.at<cv::Vec3b>(1, 0) = {255, 0, 0};     // blue
    bgr.at<cv::Vec3b>(1, 1) = {10, 200, 100};  // R 100, G 200, B 10
    test::fs::create_directories(dir / "c");
    cv::imwrite((dir / "c" / "x.png").string(), bgr);
    auto vols = load_all(dir / "c");
    ASSERT_TRUE(vols[0].volume) << vols[0].error;
    // Pillow 9.4: Image.convert("L") of these four pixels gives [76, 150, 29, 148].
    EXPECT_EQ(voxel<std::uint8_t>(*vols[0].volume, 0, 0, 0), 76);
    EXPECT_EQ(voxel<std::uint8_t>(*vols[0].volume, 0, 1, 0), 150);
    EXPECT_EQ(voxel<std::uint8_t>(*vols[0].volume, 0, 0, 1), 29);
    EXPECT_EQ(voxel<std::uint8_t>(*vols[0].volume, 0, 1, 1), 148);
}

}  // namespace
}  // namespace lessmore
