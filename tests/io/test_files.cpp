// The file helpers: atomic writes leave either the old file or the new one, never half;
// path containment is decided component by component.
#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include <sys/stat.h>
#include <functional>

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
        f.write(std::string(3u << 20, 'x'));      // past the buffer: written in pieces
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
    test::write_file(dir / "from" / "a.png", "pixels");
    test::write_file(dir / "out" / "deep" / "to.png", "stale");
    const Folder from = *Folder::open(dir / "from");
    const Folder out = *Folder::open(dir / "out");
    link_or_copy(from, "a.png", out, "deep/to.png");
    EXPECT_EQ(test::read_file(dir / "out" / "deep" / "to.png"), "pixels");
    EXPECT_EQ(test::fs::hard_link_count(dir / "from" / "a.png"), 2u);
    link_or_copy(from, "a.png", out, "other/x/to.png");
    EXPECT_EQ(test::read_file(dir / "out" / "other" / "x" / "to.png"), "pixels");
}

// What every test below checks: the file outside was neither read into OUT nor changed.
void expect_untouched(const test::fs::path& outside) {
    EXPECT_EQ(test::read_file(outside / "secret.png"), "secret");
    EXPECT_EQ(test::files_under(outside), (std::set<std::string>{"secret.png"}));
}

std::string refusal(const std::function<void()>& f) {
    try {
        f();
    } catch (const UsageError& e) {
        return e.what();
    }
    return "(not refused)";
}

TEST(Folder, NeverGoesThroughALinkForReadingOrWriting) {
    test::TempDir dir;
    test::write_file(dir / "outside" / "secret.png", "secret");
    test::fs::create_directories(dir / "out" / "real");
    test::fs::create_directory_symlink(dir / "outside", dir / "out" / "slices");
    test::fs::create_symlink(dir / "outside" / "secret.png", dir / "out" / "real" / "file.png");
    const Folder out = *Folder::open(dir / "out");
    EXPECT_EQ(out.kind("slices"), EntryKind::Link);
    EXPECT_EQ(out.kind("real/file.png"), EntryKind::Link);
    for (const auto& attempt : std::vector<std::function<void()>>{
             [&] { (void)out.kind("slices/secret.png"); }, [&] { (void)out.find("slices"); },
             [&] { (void)out.make("slices/v"); }, [&] { (void)out.open_file("slices/secret.png"); },
             [&] { (void)out.read_file("real/file.png"); }, [&] { out.check("slices", EntryKind::Folder); },
             [&] { out.check("real/file.png", EntryKind::File); },
             [&] { link_or_copy(out, "real/file.png", out, "real/copy.png"); }}) {
        const std::string what = refusal(attempt);
        EXPECT_NE(what.find("is a symbolic link"), std::string::npos) << what;
        EXPECT_NE(what.find("/out/"), std::string::npos) << what;
    }
    // Writing at a link's name replaces the link, never the file it points to.
    write_file_atomic(out, "slices", "new");
    EXPECT_EQ(out.kind("slices"), EntryKind::File);
    write_file_atomic(*out.find("real"), "file.png", "new");
    EXPECT_EQ(test::read_file(dir / "out" / "real" / "file.png"), "new");
    expect_untouched(dir / "outside");
}

TEST(Folder, RemovesLinksAsLinks) {
    test::TempDir dir;
    test::write_file(dir / "outside" / "secret.png", "secret");
    test::write_file(dir / "out" / "slices" / "v" / "0.png", "png");
    test::fs::create_directory_symlink(dir / "outside", dir / "out" / "slices" / "w");
    test::fs::create_symlink(dir / "outside" / "secret.png", dir / "out" / "slices" / "v" / "1.png");
    const Folder out = *Folder::open(dir / "out");
    EXPECT_TRUE(out.remove_file("slices/v/1.png"));
    EXPECT_FALSE(out.remove_file("slices/v"));  // a folder is left alone
    EXPECT_TRUE(out.remove("slices"));
    EXPECT_FALSE(test::fs::exists(dir / "out" / "slices"));
    expect_untouched(dir / "outside");
    // A link in place of a folder to remove-if-empty is left alone too.
    test::fs::create_directory_symlink(dir / "outside", dir / "out" / "gone");
    out.remove_if_empty("gone");
    EXPECT_TRUE(test::fs::is_symlink(dir / "out" / "gone"));
    expect_untouched(dir / "outside");
}

TEST(Folder, ReadsOnlyRegularFilesAndNeverBlocks) {
    test::TempDir dir;
    test::fs::create_directories(dir / "run" / "manifest.d");
    ASSERT_EQ(::mkfifo((dir / "run" / "fifo.json").c_str(), 0644), 0);
    const Folder run = *Folder::open(dir / "run");
    // A FIFO without a writer would block an open() for reading forever.
    std::string what = refusal([&] { (void)run.read_file("fifo.json"); });
    EXPECT_NE(what.find("fifo.json: is a FIFO, not a regular file"), std::string::npos) << what;
    what = refusal([&] { (void)run.read_file("manifest.d"); });
    EXPECT_NE(what.find("manifest.d: is a folder, not a regular file"), std::string::npos) << what;
    EXPECT_FALSE(run.read_file("missing.json"));
    EXPECT_FALSE(run.read_file("missing/x.json"));
    test::write_file(dir / "run" / "ok.json", "{}");
    EXPECT_EQ(run.read_file("ok.json"), std::optional<std::string>("{}"));
}

TEST(Folder, RefusesPathsThatLeaveIt) {
    test::TempDir dir;
    test::write_file(dir / "secret.png", "secret");
    test::fs::create_directories(dir / "out" / "a");
    const Folder out = *Folder::open(dir / "out");
    for (const std::string rel : {"../secret.png", "a/../../secret.png", "/etc/passwd", "a//b", "a/./b", "", "a/"}) {
        const std::string what = refusal([&] { (void)out.read_file(rel); });
        EXPECT_NE(what.find("is not a path inside it"), std::string::npos) << rel << ": " << what;
        EXPECT_EQ(refusal([&] { (void)out.make(rel); }), what);
    }
    EXPECT_EQ(test::read_file(dir / "secret.png"), "secret");
}

TEST(Paths, ReadTail) {
    test::TempDir dir;
    test::write_file(dir / "f", "abcdef");
    EXPECT_EQ(read_tail(dir / "f", 2), "ef");
    EXPECT_EQ(read_tail(dir / "f", 100), "abcdef");
    EXPECT_EQ(read_tail(dir / "missing", 4), "");
    ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0644), 0);
    EXPECT_EQ(read_tail(dir / "fifo", 4), "");  // at once: a FIFO is never read
    EXPECT_EQ(read_tail(dir.path(), 4), "");
}

}  // namespace
}  // namespace lessmore
