// The file helpers: atomic writes leave either the old file or the new one, never half;
// path containment is decided component by component.
#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

namespace lessmore {
namespace {

std::vector<std::string> names_in(const test::fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : test::fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(AtomicFile, CommitReplacesTheFileWhole) {
    test::TempDir dir;
    const auto path = dir / "a.txt";
    test::write_file(path, "old");
    {
        AtomicFile f(path);
        f.write("new ");
        f.write(std::string(3u << 20, 'x'));  // past the buffer: written in pieces
        EXPECT_EQ(test::read_file(path), "old");  // not visible before commit
        f.commit();
    }
    const std::string got = test::read_file(path);
    EXPECT_EQ(got.size(), 4u + (3u << 20));
    EXPECT_EQ(got.substr(0, 4), "new ");
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"a.txt"}));
}

TEST(AtomicFile, UncommittedLeavesNothingBehind) {
    test::TempDir dir;
    test::write_file(dir / "keep.txt", "old");
    {
        AtomicFile f(dir / "keep.txt");
        f.write("half");
    }
    {
        AtomicFile f(dir / "new.txt");
        f.write("half");
    }
    EXPECT_EQ(test::read_file(dir / "keep.txt"), "old");
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"keep.txt"}));
}

TEST(AtomicFile, ErrorsNameThePath) {
    try {
        write_file_atomic("/nonexistent-folder/x.txt", "data");
        ADD_FAILURE() << "wrote into a missing folder";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-folder/x.txt"), std::string::npos) << e.what();
    }
}

TEST(Paths, WithinComparesWholeComponents) {
    EXPECT_TRUE(path_within("/a/b/c", "/a/b"));
    EXPECT_TRUE(path_within("/a/b", "/a/b"));
    EXPECT_TRUE(path_within("/a/b", "/a/b/"));
    EXPECT_FALSE(path_within("/a/bc", "/a/b"));  // a prefix of the text is not a parent
    EXPECT_FALSE(path_within("/a", "/a/b"));
    EXPECT_FALSE(path_within("/x/b", "/a/b"));
}

TEST(Paths, ResolvedPathFollowsLinksAndDots) {
    test::TempDir dir;
    test::fs::create_directories(dir / "real" / "sub");
    test::fs::create_directory_symlink(dir / "real", dir / "link");
    EXPECT_EQ(resolved_path(dir / "link" / "sub"), resolved_path(dir / "real" / "sub"));
    EXPECT_EQ(resolved_path(dir / "real" / ".." / "real"), resolved_path(dir / "real"));
    // Not yet existing tails are kept.
    EXPECT_TRUE(path_within(resolved_path(dir / "link" / "new" / "deeper"), resolved_path(dir / "real")));
}

TEST(Paths, ExtensionKeepsDoubleExtensions) {
    EXPECT_EQ(extension_of("a/b.NII.GZ"), ".nii.gz");
    EXPECT_EQ(extension_of("x.tar.gz"), ".tar.gz");
    EXPECT_EQ(extension_of("scan.mha"), ".mha");
    EXPECT_EQ(extension_of("I10"), "");
    EXPECT_EQ(extension_of(".hidden"), "");
}

TEST(Paths, LinkOrCopyMakesFoldersAndReplaces) {
    test::TempDir dir;
    test::write_file(dir / "from.png", "pixels");
    test::write_file(dir / "out" / "deep" / "to.png", "stale");
    link_or_copy(dir / "from.png", dir / "out" / "deep" / "to.png");
    EXPECT_EQ(test::read_file(dir / "out" / "deep" / "to.png"), "pixels");
    link_or_copy(dir / "from.png", dir / "other" / "to.png");
    EXPECT_EQ(test::read_file(dir / "other" / "to.png"), "pixels");
}

TEST(Paths, ReadTail) {
    test::TempDir dir;
    test::write_file(dir / "f", "abcdef");
    EXPECT_EQ(read_tail(dir / "f", 2), "ef");
    EXPECT_EQ(read_tail(dir / "f", 100), "abcdef");
    EXPECT_EQ(read_tail(dir / "missing", 4), "");
}

}  // namespace
}  // namespace lessmore
