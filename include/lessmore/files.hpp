#pragma once
// Filesystem helpers: atomic writes, path containment, names for messages.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>


namespace lessmore {

// A file written piece by piece under a temporary name and renamed into place by
// commit(); destroyed uncommitted, it leaves nothing behind.
class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    void write(std::string_view bytes);
    // Writes out everything (and fsyncs when asked) without renaming: after finish() of
    // several files, their commits cannot fail for want of space.
    void finish(bool sync = true);
    void commit(bool sync = true);

private:
    std::filesystem::path m_path;
    std::string m_tmp;
    int m_fd = -1;
    std::string m_buffer;
    bool m_finished = false;
};

// Writes bytes to a temporary file beside `path` and renames it over `path`, so a
// reader never sees a half-written file. `sync` also fsyncs (for the manifest).
// Throws Error naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, bool sync = false);

// Hard-links `from` to `to` (creating folders), or copies when linking is impossible.
void link_or_copy(const std::filesystem::path& from, const std::filesystem::path& to);

// The absolute path, with symlinks and dot segments resolved as far as it exists.
std::filesystem::path resolved_path(const std::filesystem::path& path);
// True when `inner` is `outer` or lies below it, component by component (give both
// through resolved_path).
bool path_within(const std::filesystem::path& inner, const std::filesystem::path& outer);

// The last `count` bytes of a file (all of a shorter one; empty when it cannot be read).
std::string read_tail(const std::filesystem::path& path, std::size_t count);

// The lower-cased extension, with the double extensions .nii.gz, .hdr.gz, .img.gz and
// .tar.gz kept whole.
std::string extension_of(const std::filesystem::path& path);

// strerror(errno) as a std::string.
std::string errno_text(int err);

// Path text for messages and the manifest (generic form, no quotes).
std::string path_text(const std::filesystem::path& path);

}  // namespace lessmore
