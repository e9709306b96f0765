#pragma once
// Filesystem helpers: folders held open so that nothing below them is reached through a
// symbolic link, regular files opened without blocking, atomic writes, path containment,
// names for messages.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lessmore {

// A file descriptor, closed when destroyed.
class OwnedFd {
public:
    OwnedFd() = default;
    explicit OwnedFd(int fd) : m_fd(fd) {}
    ~OwnedFd();
    OwnedFd(OwnedFd&& other) noexcept : m_fd(other.release()) {}
    OwnedFd& operator=(OwnedFd&& other) noexcept;
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    int fd() const { return m_fd; }
    int release() {
        const int fd = m_fd;
        m_fd = -1;
        return fd;
    }

private:
    int m_fd = -1;
};

// What a name in a folder is, seen without following a link.
enum class EntryKind { Missing, File, Folder, Link, Other };

struct FolderEntry {
    std::string name;
    EntryKind kind = EntryKind::Other;
};

// A folder held open by descriptor. Everything below it is reached one name at a time,
// relative to the descriptor and with O_NOFOLLOW, so a symbolic link inside is never
// followed, for reading or writing, and a folder swapped for a link while lessmore works
// is refused rather than followed (docs/output.md, section "OUT's own state"). Paths
// below (`rel`) are relative and '/'-separated; an empty, "." or ".." component, or a
// leading '/', is refused (UsageError). A link met on the way is refused with a
// UsageError naming it, as is a file where a folder is expected.
class Folder {
public:
    // The folder the user named: links along `path` itself are followed (where OUT lives is
    // the user's choice). Nothing when it does not exist; UsageError when it is not a folder.
    static std::optional<Folder> open(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return m_path; }
    int fd() const { return m_handle.fd(); }
    std::filesystem::path path_of(const std::string& rel) const { return m_path / rel; }

    // What `rel` is (Missing also when a folder on the way is missing).
    EntryKind kind(const std::string& rel) const;
    // Refuses `rel` (UsageError naming it) when it is there but not a `wanted` (File or
    // Folder); a link is never what is wanted.
    void check(const std::string& rel, EntryKind wanted) const;
    // The folder at `rel`; nothing when it (or a folder on the way) is missing.
    std::optional<Folder> find(const std::string& rel) const;
    // The same, creating what is missing (mode 0755).
    Folder make(const std::string& rel) const;
    // A regular file, opened for reading: a FIFO, device, folder or link there is refused
    // (UsageError naming it) and never blocks, its type checked on the open descriptor.
    // Nothing when it is missing.
    std::optional<OwnedFd> open_file(const std::string& rel) const;
    // The whole of such a file.
    std::optional<std::string> read_file(const std::string& rel) const;
    // The names directly in this folder, with what each is ("." and ".." left out).
    std::vector<FolderEntry> list() const;
    // Removes `rel`: a file or a link is unlinked (the link itself, never its target), a
    // folder with everything below it (never descending through a link). False when it
    // was not there.
    bool remove(const std::string& rel) const;
    // Unlinks the file (or link) `rel`; a folder there is left alone. False when nothing
    // was removed.
    bool remove_file(const std::string& rel) const;
    // Removes the folder `rel` when it is empty (and nothing else).
    void remove_if_empty(const std::string& rel) const;

private:
    friend void link_or_copy(const Folder& from, const std::string& from_rel, const Folder& to,
                             const std::string& to_rel);
    Folder(int fd, std::filesystem::path path) : m_handle(fd), m_path(std::move(path)) {}
    // The folder holding `rel`'s last component, and that component; nothing when a
    // folder on the way is missing (and not `create`d).
    struct Parent;
    std::optional<Parent> parent_of(const std::string& rel, bool create) const;
    Folder dup() const;

    OwnedFd m_handle;
    std::filesystem::path m_path;
};

struct Folder::Parent {
    std::optional<Folder> walked;  // empty when `rel` is a name in the folder itself
    std::string name;
    const Folder& in(const Folder& self) const { return walked ? *walked : self; }
};

// A file written piece by piece under a temporary name and renamed into place by
// commit(); destroyed uncommitted, it leaves nothing behind. The temporary is created and
// renamed relative to the folder's descriptor (never through a link); the rename replaces
// a link at `name` with the file, never writing through it.
class AtomicFile {
public:
    explicit AtomicFile(const std::filesystem::path& path);
    AtomicFile(const Folder& folder, const std::string& name);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    void write(std::string_view bytes);
    // Writes out everything (and fsyncs when asked) without renaming: after finish() of
    // several files, their commits cannot fail for want of space.
    void finish(bool sync = true);
    void commit(bool sync = true);

private:
    void create();

    OwnedFd m_dir;
    std::string m_name;
    std::filesystem::path m_path;  // for messages
    std::string m_tmp;             // the temporary's name in m_dir
    int m_fd = -1;
    std::string m_buffer;
    bool m_finished = false;
};

// Writes bytes to a temporary file beside `path` and renames it over `path`, so a
// reader never sees a half-written file. `sync` also fsyncs (for the manifest).
// Throws Error naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, bool sync = false);
void write_file_atomic(const Folder& folder, const std::string& name, std::string_view bytes, bool sync = false);

// Puts a hard link to the regular file `from_rel` of `from` at `to_rel` in `to` (folders
// created, an old entry there replaced), or a copy where linking is impossible. The
// source must be a regular file (checked on its descriptor; a link or FIFO is refused,
// naming it); what was linked is checked to be that very file.
void link_or_copy(const Folder& from, const std::string& from_rel, const Folder& to, const std::string& to_rel);

// Flushes the file system holding `folder` to disk (syncfs), so the order of what was
// written before and what is done after survives a power cut.
void sync_file_system(const Folder& folder);

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
