// Finding volumes in dataset folders as users have them.
#include "test_support.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/load.hpp>
#include <lessmore/natural_order.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/png_writer.hpp>
#include <lessmore/thread_pool.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <algorithm>
#include <cstring>

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

// A NIfTI pair is one volume, found by its header; its image is not a volume, an error or
// a skipped file. An image without its header is skipped, with the reason.
TEST(Discovery, NiftiPairsAreOneSourceFoundByTheirHeader) {
    test::TempDir dir;
    const auto root = dir / "pairs";
    const auto nifti = test::source_dir() / "tests" / "data" / "nifti";
    for (const char* name : {"ct_pair.hdr", "ct_pair.img", "ct_pair_gz.hdr.gz", "ct_pair_gz.img.gz"}) {
        test::fs::create_directories(root);
        test::fs::copy_file(nifti / name, root / name);
    }
    test::fs::copy_file(nifti / "ct_pair.hdr", root / "UPPER.HDR");
    test::fs::copy_file(nifti / "ct_pair.img", root / "UPPER.IMG");
    test::fs::copy_file(nifti / "ct_pair.img", root / "orphan.img");
    const Discovery d = discover({root.string()});
    EXPECT_EQ(ids(d), (std::vector<std::string>{"UPPER.HDR", "ct_pair.hdr", "ct_pair_gz.hdr.gz"}));
    for (const Source& s : d.sources) EXPECT_EQ(s.kind, Source::Kind::VolumeFile);
    EXPECT_TRUE(d.errors.empty());
    ASSERT_EQ(d.skipped.size(), 1u);
    EXPECT_EQ(d.skipped[0].path, (root / "orphan.img").string());
    EXPECT_EQ(d.skipped[0].message, "an .img without its .hdr (a NIfTI pair needs both); not read");
    // Given directly, the image of a pair gives the volume of its header.
    const Discovery by_image = discover({(root / "ct_pair.img").string()});
    ASSERT_EQ(by_image.sources.size(), 1u);
    EXPECT_EQ(by_image.sources[0].path, (root / "ct_pair.hdr").string());
    EXPECT_EQ(by_image.sources[0].id, "ct_pair.hdr");
    const Discovery orphan = discover({(root / "orphan.img").string()});
    EXPECT_TRUE(orphan.sources.empty());
    ASSERT_EQ(orphan.errors.size(), 1u);
    EXPECT_EQ(orphan.errors[0].message, "an .img without its .hdr (a NIfTI pair needs both); not read");
    // A changed image changes its pair's fingerprint (--resume redoes the volume).
    const std::string before = source_fingerprint(d.sources[1]);
    test::write_file(root / "ct_pair.img", test::read_file(root / "ct_pair.img") + "x");
    EXPECT_NE(source_fingerprint(d.sources[1]), before);
}

// A folder's files are fingerprinted in parallel with a pool: the same fingerprint, in the
// files' order, whatever the thread count; a change to any file changes it.
TEST(Discovery, FolderFingerprintIsTheSameWithAPool) {
    test::TempDir dir;
    test::copy_tree(test::dicom_fixtures() / "padded", dir / "series");
    const Discovery d = discover({(dir / "series").string()});
    ASSERT_EQ(d.sources.size(), 1u);
    ASSERT_GE(d.sources[0].files.size(), 3u);
    const std::string alone = source_fingerprint(d.sources[0]);
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        EXPECT_EQ(source_fingerprint(d.sources[0], &pool), alone) << threads << " threads";
    }
    Source reversed = d.sources[0];  // the lines go in the listed order
    std::reverse(reversed.files.begin(), reversed.files.end());
    ThreadPool pool(2);
    EXPECT_NE(source_fingerprint(reversed, &pool), alone);
    // The last file's first 4 KB changed, its size and modification time not.
    const auto last = dir / "series" / d.sources[0].files.back();
    struct stat st {};
    ASSERT_EQ(::stat(last.c_str(), &st), 0);
    std::string bytes = test::read_file(last);
    bytes[200] = static_cast<char>(bytes[200] ^ 1);
    test::write_file(last, bytes);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, last.c_str(), times, 0), 0);
    EXPECT_NE(source_fingerprint(d.sources[0], &pool), alone);
}

// FIFOs, sockets and devices are never opened; they are listed with what they are.
TEST(Discovery, SpecialFilesAreSkippedWithWhatTheyAre) {
    test::TempDir dir;
    const auto root = dir / "data";
    small_nifti(root / "ct.nii");
    ASSERT_EQ(::mkfifo((root / "fifo.nii").c_str(), 0600), 0);
    test::fs::create_symlink("/dev/null", root / "null.dcm");
    const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(sock, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string socket_path = (root / "socket.mha").string();
    ASSERT_LT(socket_path.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const Discovery d = discover({root.string()});
    ::close(sock);
    EXPECT_EQ(ids(d), (std::vector<std::string>{"ct.nii"}));
    EXPECT_TRUE(d.errors.empty());
    ASSERT_EQ(d.skipped.size(), 3u);
    EXPECT_EQ(d.skipped[0].message, "a FIFO (not a regular file)");
    EXPECT_EQ(d.skipped[1].message, "a character device (not a regular file)");
    EXPECT_EQ(d.skipped[2].message, "a socket (not a regular file)");
    try {
        discover({(root / "fifo.nii").string()});
        ADD_FAILURE() << "a FIFO given as INPUT was accepted";
    } catch (const UsageError& e) {
        EXPECT_EQ(std::string(e.what()),
                  (root / "fifo.nii").string() + ": a FIFO (not a regular file); an INPUT must be a file or a folder");
    }
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
