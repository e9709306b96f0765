// Finding volumes in dataset folders as users have them.
#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/load.hpp>
#include <lessmore/natural_order.hpp>
#include <lessmore/files.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/png_writer.hpp>

namespace lessmore {
namespace {

std::vector<std::string> ids(const Discovery& d) {
    std::vector<std::string> out;
    for (const Source& s : d.sources) out.push_back(s.id);
    return out;
}

void small_nifti(const test::fs::path& p) {
    std::vector<std::int16_t> v(2 * 2 * 2, 5);
    test::write_nifti(p, {2, 2, 2}, 4, std::string(reinterpret_cast<char*>(v.data()), v.size() * 2));
}

TEST(Discovery, IdsAreRelativeToTheInputAndSorted) {
    test::TempDir dir;
    const auto root = dir / "dataset";
    small_nifti(root / "b" / "ct.nii");
    small_nifti(root / "a" / "x" / "ct.nii");
    test::write_file(root / "pngs" / "1.png", encode_png(Image8(4, 4)));
    test::write_file(root / "notes.txt", "not a volume");
    test::write_file(root / "a" / "data.raw", "detached data");
    test::write_file(root / ".hidden" / "ct.nii", "hidden folders are skipped");
    const Discovery d = discover({root.string()});
    EXPECT_EQ(ids(d), (std::vector<std::string>{"a/x/ct.nii", "b/ct.nii", "pngs"}));
    EXPECT_TRUE(d.errors.empty());
    EXPECT_EQ(d.sources[2].kind, Source::Kind::ImageFolder);
}

TEST(Discovery, AFolderInputThatIsItselfAVolumeIsNamedAfterIt) {
    test::TempDir dir;
    test::write_file(dir / "my-pngs" / "1.png", encode_png(Image8(4, 4)));
    EXPECT_EQ(ids(discover({(dir / "my-pngs").string()})), (std::vector<std::string>{"my-pngs"}));
    EXPECT_EQ(ids(discover({(dir / "my-pngs").string() + "/"})), (std::vector<std::string>{"my-pngs"}));
    small_nifti(dir / "one.nii");
    EXPECT_EQ(ids(discover({(dir / "one.nii").string()})), (std::vector<std::string>{"one.nii"}));
}

TEST(Discovery, DicomRecognisedByContentNotName) {
    test::TempDir dir;
    const auto series = dir / "philips";
    test::fs::create_directories(series);
    // Extension-less names as Philips writes them, a DIRFILE and a text file beside them.
    test::fs::copy_file(test::ct_data() / "ge-head-tilt" / "01.dcm", series / "I10");
    test::fs::copy_file(test::ct_data() / "ge-head-tilt" / "02.dcm", series / "I100");
    test::write_file(series / "DIRFILE", "not dicom");
    test::write_file(series / "info.xml", "<xml/>");
    test::write_file(series / "README", "text");
    const Discovery d = discover({series.string()});
    ASSERT_EQ(d.sources.size(), 1u);
    EXPECT_EQ(d.sources[0].kind, Source::Kind::DicomFolder);
    EXPECT_EQ(d.sources[0].files, (std::vector<std::string>{"I10", "I100"}));
    EXPECT_TRUE(d.errors.empty());
}

TEST(Discovery, SymlinkLoopIsReportedNotFatal) {
    test::TempDir dir;
    const auto root = dir / "data";
    small_nifti(root / "v1" / "ct.nii");
    test::fs::create_directory_symlink("..", root / "v1" / "loop");
    test::fs::create_symlink(root / "missing.nii", root / "dangling.nii");
    const Discovery d = discover({root.string()});
    EXPECT_EQ(ids(d), (std::vector<std::string>{"v1/ct.nii"}));
    ASSERT_EQ(d.errors.size(), 2u);
    bool loop = false, dangling = false;
    for (const auto& e : d.errors) {
        loop |= e.message.find("symbolic link loop") != std::string::npos;
        dangling |= e.message.find("broken symbolic link") != std::string::npos;
    }
    EXPECT_TRUE(loop);
    EXPECT_TRUE(dangling);
}

TEST(Discovery, MissingInputAndDuplicateIdsAreUsageErrors) {
    test::TempDir dir;
    EXPECT_THROW(discover({(dir / "nope").string()}), UsageError);
    small_nifti(dir / "a" / "ct.nii");
    small_nifti(dir / "b" / "ct.nii");
    EXPECT_THROW(discover({(dir / "a" / "ct.nii").string(), (dir / "b" / "ct.nii").string()}), UsageError);
}

TEST(Discovery, EmptyFolderHasNoSources) {
    test::TempDir dir;
    test::fs::create_directories(dir / "empty");
    const Discovery d = discover({(dir / "empty").string()});
    EXPECT_TRUE(d.sources.empty());
    EXPECT_TRUE(d.errors.empty());
}

}  // namespace
}  // namespace lessmore
