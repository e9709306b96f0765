#pragma once
// Small filesystem helpers shared by readers and writers.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace lessmore {

// Writes bytes to a temporary file beside `path` and renames it over `path`, so a
// reader never sees a half-written file. `sync` also fsyncs (for the manifest).
// Throws Error naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, bool sync = false);

// A file written piece by piece under a temporary name and renamed into place by
// commit(); destroyed uncommitted, it leaves nothing behind.
class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    void write(std::string_view bytes);
    void commit(bool sync = true);

private:
    std::filesystem::path m_path;
    std::string m_tmp;
    int m_fd = -1;
    std::string m_buffer;
};

// Hard-links `from` to `to` (creating folders), or copies when linking is impossible.
void link_or_copy(const std::filesystem::path& from, const std::filesystem::path& to);

// The lower-cased extension, with ".nii.gz"-style double extensions kept whole.
std::string extension_of(const std::filesystem::path& path);

// strerror(errno) as a std::string.
std::string errno_text(int err);

// Path text for messages and the manifest (generic form, no quotes).
std::string path_text(const std::filesystem::path& path);

}  // namespace lessmore
