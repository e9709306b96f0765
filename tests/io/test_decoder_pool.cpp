// Decoder worker processes: a decoder that crashes or hangs costs that file only, the
// worker is replaced, and a program that cannot serve as a worker is named.
#include "test_support.hpp"

#include <lessmore/decoder_pool.hpp>
#include <lessmore/error.hpp>
#include <lessmore/png_writer.hpp>

#include <sys/stat.h>

namespace lessmore {
namespace {

const char* k_self = "/proc/self/exe";  // the test program serves as a worker (tests/test_support.cpp)

test::fs::path good_png(const test::TempDir& dir) {
    Image8 img(16, 8);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i);
    test::write_file(dir / "good.png", encode_png(img));
    return dir / "good.png";
}

std::string failure(DecoderPool& pool, const std::string& task, const std::string& path) {
    try {
        pool.run(task, path);
    } catch (const InputError& e) {
        return e.what();
    }
    return "no error";
}

TEST(DecoderPool, DecodesInAWorker) {
    test::TempDir dir;
    DecoderPool pool(k_self, 2);
    const DecodedData d = pool.run("image", good_png(dir).string());
    EXPECT_EQ(d.meta, "16 8 uint8");
    ASSERT_EQ(d.bytes.size(), 128u);
    EXPECT_EQ(static_cast<int>(d.bytes[5]), 5);
    // A file the decoder refuses is its message, and the worker stays.
    test::write_file(dir / "text.png", "not a png");
    EXPECT_NE(failure(pool, "image", (dir / "text.png").string()).find("decode"), std::string::npos);
    EXPECT_EQ(pool.run("image", good_png(dir).string()).meta, "16 8 uint8");
}

TEST(DecoderPool, ACrashCostsOneFile) {
    test::TempDir dir;
    DecoderPool pool(k_self, 1);
    // GDCM (Debian builds it with asserts) aborts on a meta header with one byte changed
    // (tests/data/crashers/README.md); lessmore's parser refuses such a file before any
    // worker is asked, so the task is run on it directly here.
    std::string bytes = test::read_file(test::source_dir() / "tests" / "data" / "readers" / "signed13-j2k" / "j1.dcm");
    bytes.at(1539) = '\x7a';
    test::write_file(dir / "abort.dcm", bytes);
    const std::string message = failure(pool, "dicom-pixels", (dir / "abort.dcm").string());
#if defined(__SANITIZE_ADDRESS__)
    EXPECT_EQ(message.rfind("decoder ", 0), 0u) << message;
#else
    EXPECT_EQ(message, "decoder aborted (SIGABRT) while reading this file");
#endif
    // The worker is replaced: the next file decodes.
    EXPECT_EQ(pool.run("image", good_png(dir).string()).meta, "16 8 uint8");
}

// The JPEG that crashed ITK's JPEG reader (SIGSEGV) is refused by libjpeg-turbo, which
// decodes 2-D JPEG slices now, for its corrupt data (docs/dicom.md, "Image folders").
TEST(DecoderPool, TheJpegThatCrashedItksReaderIsRefused) {
    test::TempDir dir;
    DecoderPool pool(k_self, 1);
    const auto crasher = test::source_dir() / "tests" / "data" / "crashers" / "bitflip-segv.jpg";
    EXPECT_EQ(failure(pool, "image", crasher.string()).rfind("corrupt or unsupported JPEG: Corrupt JPEG data", 0), 0u);
    EXPECT_EQ(pool.run("image", good_png(dir).string()).meta, "16 8 uint8");
}

TEST(DecoderPool, AHangIsStoppedAfterTheTimeout) {
    test::TempDir dir;
    ASSERT_EQ(::mkfifo((dir / "fifo.png").c_str(), 0600), 0);  // opening it blocks forever
    DecoderPool pool(k_self, 1, std::chrono::milliseconds(1500));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(failure(pool, "image", (dir / "fifo.png").string()),
              "decoder hung (stopped after 1 s) while reading this file");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
    EXPECT_EQ(pool.run("image", good_png(dir).string()).meta, "16 8 uint8");
}

TEST(DecoderPool, AProgramThatIsNoWorkerIsNamed) {
    test::TempDir dir;
    DecoderPool pool("/bin/true", 1);
    try {
        pool.run("image", good_png(dir).string());
        ADD_FAILURE() << "/bin/true decoded an image";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/bin/true does not serve"), std::string::npos) << e.what();
    }
}

TEST(DecoderPool, UnknownTasksAreRefused) {
    DecoderPool pool(k_self, 1);
    EXPECT_EQ(failure(pool, "no-such-task", "/dev/null"), "unknown decoder task 'no-such-task'");
}

}  // namespace
}  // namespace lessmore
