#include <lessmore/files.hpp>

#include <lessmore/error.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

namespace fs = std::filesystem;

namespace lessmore {

std::string errno_text(int err) { return std::strerror(err); }

std::string path_text(const fs::path& path) { return path.generic_string(); }

std::string extension_of(const fs::path& path) {
    std::string name = path.filename().string();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const char* dbl : {".nii.gz", ".tar.gz", ".hdr.gz", ".img.gz"}) {
        const std::size_t n = std::strlen(dbl);
        if (name.size() > n && name.compare(name.size() - n, n, dbl) == 0) return dbl;
    }
    const auto dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0) return "";
    return name.substr(dot);
}

fs::path resolved_path(const fs::path& path) {
    std::error_code ec;
    fs::path r = fs::weakly_canonical(fs::absolute(path), ec);
    return ec ? fs::absolute(path) : r;
}

bool path_within(const fs::path& inner, const fs::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty()) continue;  // trailing separator
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

std::string read_tail(const fs::path& path, std::size_t count) {
    // Only from a regular file, opened without blocking (a FIFO has no tail to read).
    const OwnedFd file(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    struct stat st {};
    if (file.fd() < 0 || ::fstat(file.fd(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
    const auto size = static_cast<std::size_t>(st.st_size);
    std::string tail(std::min(size, count), '\0');
    const off_t from = static_cast<off_t>(size - tail.size());
    std::size_t done = 0;
    while (done < tail.size()) {
        const ssize_t r = ::pread(file.fd(), tail.data() + done, tail.size() - done, from + static_cast<off_t>(done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return {};
        done += static_cast<std::size_t>(r);
    }
    return tail;
}

OwnedFd::~OwnedFd() {
    if (m_fd >= 0) ::close(m_fd);
}

OwnedFd& OwnedFd::operator=(OwnedFd&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = other.release();
    }
    return *this;
}

namespace {

// `rel` split into its components; anything that could leave the folder is refused.
std::vector<std::string> components(const fs::path& base, const std::string& rel) {
    std::vector<std::string> out;
    bool ok = !rel.empty() && rel.front() != '/';
    for (std::size_t start = 0; ok;) {
        const std::size_t slash = rel.find('/', start);
        out.push_back(rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        ok = !out.back().empty() && out.back() != "." && out.back() != ".." &&
             out.back().find('\0') == std::string::npos;
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    if (!ok) throw UsageError(path_text(base) + ": '" + rel + "' is not a path inside it");
    return out;
}

EntryKind kind_of(mode_t mode) {
    if (S_ISREG(mode)) return EntryKind::File;
    if (S_ISDIR(mode)) return EntryKind::Folder;
    if (S_ISLNK(mode)) return EntryKind::Link;
    return EntryKind::Other;
}

EntryKind kind_at(int dir, const std::string& name, const fs::path& shown) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return kind_of(st.st_mode);
    if (errno == ENOENT) return EntryKind::Missing;
    throw Error(path_text(shown) + ": cannot read: " + errno_text(errno));
}

std::string type_name(mode_t mode) {
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

[[noreturn]] void refuse_link(const fs::path& shown) {
    throw UsageError(path_text(shown) + ": is a symbolic link (lessmore never follows a link inside an output folder)");
}

[[noreturn]] void refuse_kind(const fs::path& shown, EntryKind kind, const char* wanted) {
    if (kind == EntryKind::Link) refuse_link(shown);
    throw UsageError(path_text(shown) + ": not " + wanted);
}

// The folder `name` in `dir`, opened without following a link; -1 when it is missing.
int open_folder_at(int dir, const std::string& name, const fs::path& shown) {
    const int fd = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) return fd;
    const int err = errno;
    if (err == ENOENT) return -1;
    if (err == ENOTDIR || err == ELOOP) {
        const EntryKind kind = kind_at(dir, name, shown);
        if (kind == EntryKind::Missing) return -1;
        if (kind != EntryKind::Folder) refuse_kind(shown, kind, "a folder");
    }
    throw Error(path_text(shown) + ": cannot open: " + errno_text(err));
}

// Removes `name` in `dir`: a folder with everything below it, anything else unlinked.
bool remove_at(int dir, const std::string& name, const fs::path& shown) {
    const EntryKind kind = kind_at(dir, name, shown);
    if (kind == EntryKind::Missing) return false;
    if (kind == EntryKind::Folder) {
        // A folder swapped for a link meanwhile is refused by O_NOFOLLOW and unlinked below.
        const int sub = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            DIR* d = ::fdopendir(sub);
            if (!d) {
                ::close(sub);
                throw Error(path_text(shown) + ": cannot list: " + errno_text(errno));
            }
            std::vector<std::string> names;
            while (const dirent* e = ::readdir(d)) {
                const std::string n = e->d_name;
                if (n != "." && n != "..") names.push_back(n);
            }
            for (const std::string& n : names) remove_at(::dirfd(d), n, shown / n);
            ::closedir(d);
            if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return true;
            throw Error(path_text(shown) + ": cannot remove: " + errno_text(errno));
        }
    }
    if (::unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT) return true;
    throw Error(path_text(shown) + ": cannot remove: " + errno_text(errno));
}

// Writes all of bytes to fd (retrying short writes and EINTR); throws naming path.
void write_all(int fd, std::string_view bytes, const fs::path& path) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw Error(path_text(path) + ": cannot write: " + errno_text(errno));
        }
        done += static_cast<std::size_t>(w);
    }
}

// Reads fd to its end into `out` (in pieces, so the reader never holds more than the
// file), calling `piece` for each; throws naming path.
template <typename Piece>
void read_all(int fd, const fs::path& path, Piece&& piece) {
    std::string buffer(1 << 16, '\0');
    for (;;) {
        const ssize_t r = ::read(fd, buffer.data(), buffer.size());
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw Error(path_text(path) + ": cannot read: " + errno_text(errno));
        if (r == 0) return;
        piece(std::string_view(buffer.data(), static_cast<std::size_t>(r)));
    }
}

}  // namespace

std::optional<Folder> Folder::open(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) return Folder(fd, path);
    const int err = errno;
    if (err == ENOENT) return std::nullopt;
    if (err == ENOTDIR) throw UsageError(path_text(path) + ": not a folder");
    throw UsageError(path_text(path) + ": cannot open: " + errno_text(err));
}

Folder Folder::dup() const {
    // A new open file description (not dup()): listing one never moves the other's position.
    const int fd = ::openat(m_handle.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw Error(path_text(m_path) + ": cannot open: " + errno_text(errno));
    return Folder(fd, m_path);
}

std::optional<Folder::Parent> Folder::parent_of(const std::string& rel, bool create) const {
    std::vector<std::string> parts = components(m_path, rel);
    std::optional<Parent> out(std::in_place);
    out->name = std::move(parts.back());
    parts.pop_back();
    fs::path shown = m_path;
    for (const std::string& part : parts) {
        shown /= part;
        const int here = out->walked ? out->walked->fd() : fd();
        int next = open_folder_at(here, part, shown);
        if (next < 0 && create) {
            if (::mkdirat(here, part.c_str(), 0777) != 0 && errno != EEXIST) {
                throw Error(path_text(shown) + ": cannot create: " + errno_text(errno));
            }
            next = open_folder_at(here, part, shown);
            if (next < 0) throw Error(path_text(shown) + ": cannot create: removed meanwhile");
        }
        if (next < 0) return std::nullopt;
        out->walked = Folder(next, shown);
    }
    return out;
}

EntryKind Folder::kind(const std::string& rel) const {
    const auto parent = parent_of(rel, false);
    return parent ? kind_at(parent->in(*this).fd(), parent->name, path_of(rel)) : EntryKind::Missing;
}

void Folder::check(const std::string& rel, EntryKind wanted) const {
    const EntryKind kind = this->kind(rel);
    if (kind != EntryKind::Missing && kind != wanted) {
        refuse_kind(path_of(rel), kind, wanted == EntryKind::Folder ? "a folder" : "a regular file");
    }
}

std::optional<Folder> Folder::find(const std::string& rel) const {
    const auto parent = parent_of(rel, false);
    if (!parent) return std::nullopt;
    const int fd = open_folder_at(parent->in(*this).fd(), parent->name, path_of(rel));
    if (fd < 0) return std::nullopt;
    return Folder(fd, path_of(rel));
}

Folder Folder::make(const std::string& rel) const {
    const auto parent = parent_of(rel, true);
    int fd = open_folder_at(parent->in(*this).fd(), parent->name, path_of(rel));
    if (fd >= 0) return Folder(fd, path_of(rel));
    if (::mkdirat(parent->in(*this).fd(), parent->name.c_str(), 0777) != 0 && errno != EEXIST) {
        throw Error(path_text(path_of(rel)) + ": cannot create: " + errno_text(errno));
    }
    fd = open_folder_at(parent->in(*this).fd(), parent->name, path_of(rel));
    if (fd < 0) throw Error(path_text(path_of(rel)) + ": cannot create: removed meanwhile");
    return Folder(fd, path_of(rel));
}

std::optional<OwnedFd> Folder::open_file(const std::string& rel) const {
    const fs::path shown = path_of(rel);
    const auto parent = parent_of(rel, false);
    if (!parent) return std::nullopt;
    const int dir = parent->in(*this).fd();
    const std::string& name = parent->name;
    // Looked at before opening, so a FIFO or device is never opened at all; checked again
    // on the descriptor, which is what is read.
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return std::nullopt;
        throw Error(path_text(shown) + ": cannot read: " + errno_text(errno));
    }
    if (S_ISLNK(st.st_mode)) refuse_link(shown);
    if (!S_ISREG(st.st_mode))
        throw UsageError(path_text(shown) + ": is " + type_name(st.st_mode) + ", not a regular file");
    OwnedFd file(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (file.fd() < 0) {
        if (errno == ENOENT) return std::nullopt;
        if (errno == ELOOP) refuse_link(shown);
        throw Error(path_text(shown) + ": cannot read: " + errno_text(errno));
    }
    if (::fstat(file.fd(), &st) != 0) throw Error(path_text(shown) + ": cannot read: " + errno_text(errno));
    if (!S_ISREG(st.st_mode))
        throw UsageError(path_text(shown) + ": is " + type_name(st.st_mode) + ", not a regular file");
    const int flags = ::fcntl(file.fd(), F_GETFL);
    if (flags >= 0) ::fcntl(file.fd(), F_SETFL, flags & ~O_NONBLOCK);
    return file;
}

std::optional<std::string> Folder::read_file(const std::string& rel) const {
    const auto file = open_file(rel);
    if (!file) return std::nullopt;
    std::string out;
    read_all(file->fd(), path_of(rel), [&](std::string_view piece) { out.append(piece); });
    return out;
}

std::vector<FolderEntry> Folder::list() const {
    Folder copy = dup();
    DIR* d = ::fdopendir(copy.fd());
    if (!d) throw Error(path_text(m_path) + ": cannot list: " + errno_text(errno));
    copy.m_handle.release();  // the DIR owns it now
    std::vector<FolderEntry> out;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        EntryKind kind = EntryKind::Other;
        switch (e->d_type) {
        case DT_REG:
            kind = EntryKind::File;
            break;
        case DT_DIR:
            kind = EntryKind::Folder;
            break;
        case DT_LNK:
            kind = EntryKind::Link;
            break;
        case DT_UNKNOWN:
            kind = kind_at(::dirfd(d), name, m_path / name);
            break;
        default:
            break;
        }
        if (kind != EntryKind::Missing) out.push_back({name, kind});
        errno = 0;
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) throw Error(path_text(m_path) + ": cannot list: " + errno_text(err));
    return out;
}

bool Folder::remove(const std::string& rel) const {
    const auto parent = parent_of(rel, false);
    return parent && remove_at(parent->in(*this).fd(), parent->name, path_of(rel));
}

bool Folder::remove_file(const std::string& rel) const {
    const auto parent = parent_of(rel, false);
    // unlinkat() without AT_REMOVEDIR removes a file or a link and refuses a folder.
    if (!parent || ::unlinkat(parent->in(*this).fd(), parent->name.c_str(), 0) == 0) return bool(parent);
    if (errno == ENOENT || errno == EISDIR || errno == EPERM) return false;
    throw Error(path_text(path_of(rel)) + ": cannot remove: " + errno_text(errno));
}

void Folder::remove_if_empty(const std::string& rel) const {
    const auto parent = parent_of(rel, false);
    // rmdir never follows a link (it fails on one), nor removes a folder that is not empty.
    if (parent) ::unlinkat(parent->in(*this).fd(), parent->name.c_str(), AT_REMOVEDIR);
}

AtomicFile::AtomicFile(const fs::path& path) : m_path(path) {
    const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    m_dir = OwnedFd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (m_dir.fd() < 0) throw Error(path_text(m_path) + ": cannot create: " + errno_text(errno));
    m_name = path.filename().string();
    create();
}

AtomicFile::AtomicFile(const Folder& folder, const std::string& name) : m_name(name), m_path(folder.path_of(name)) {
    if (components(folder.path(), name).size() != 1)
        throw UsageError(path_text(m_path) + ": not a name in " + path_text(folder.path()));
    m_dir = OwnedFd(::openat(folder.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (m_dir.fd() < 0) throw Error(path_text(m_path) + ": cannot create: " + errno_text(errno));
    create();
}

void AtomicFile::create() {
    // mkstemp() has no form relative to a folder's descriptor: the same, by hand — a random
    // name created exclusively (O_EXCL, never through a link), tried again if taken.
    static constexpr char k_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::array<unsigned char, 6> random{};
        if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
            std::random_device device;
            for (unsigned char& c : random) c = static_cast<unsigned char>(device());
        }
        m_tmp = "." + m_name + ".tmp-";
        for (unsigned char c : random) m_tmp += k_chars[c % (sizeof k_chars - 1)];
        m_fd = ::openat(m_dir.fd(), m_tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (m_fd >= 0) {
            ::fchmod(m_fd, 0644);
            return;
        }
        if (errno != EEXIST) break;
    }
    throw Error(path_text(m_path) + ": cannot create: " + errno_text(errno));
}

AtomicFile::~AtomicFile() {
    if (m_fd >= 0) {
        ::close(m_fd);
        ::unlinkat(m_dir.fd(), m_tmp.c_str(), 0);
    }
}

void AtomicFile::write(std::string_view bytes) {
    // Buffered: manifests are written in many small pieces.
    m_buffer.append(bytes);
    if (m_buffer.size() < (std::size_t{1} << 20)) return;
    write_all(m_fd, m_buffer, m_path);
    m_buffer.clear();
}

void AtomicFile::finish(bool sync) {
    if (m_finished) return;
    write_all(m_fd, m_buffer, m_path);
    m_buffer.clear();
    if (sync && ::fsync(m_fd) != 0) throw Error(path_text(m_path) + ": cannot write: " + errno_text(errno));
    m_finished = true;
}

void AtomicFile::commit(bool sync) {
    finish(sync);
    const int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0 || ::renameat(m_dir.fd(), m_tmp.c_str(), m_dir.fd(), m_name.c_str()) != 0) {
        const int err = errno;
        ::unlinkat(m_dir.fd(), m_tmp.c_str(), 0);
        throw Error(path_text(m_path) + ": cannot write: " + errno_text(err));
    }
}

void write_file_atomic(const fs::path& path, std::string_view bytes, bool sync) {
    AtomicFile file(path);
    file.write(bytes);
    file.commit(sync);
}

void write_file_atomic(const Folder& folder, const std::string& name, std::string_view bytes, bool sync) {
    AtomicFile file(folder, name);
    file.write(bytes);
    file.commit(sync);
}

void link_or_copy(const Folder& from, const std::string& from_rel, const Folder& to, const std::string& to_rel) {
    const fs::path source = from.path_of(from_rel), target = to.path_of(to_rel);
    const auto src_dir = from.parent_of(from_rel, false);
    const auto file = src_dir ? from.open_file(from_rel) : std::nullopt;
    if (!file) throw Error(path_text(source) + ": missing");
    struct stat src {};
    if (::fstat(file->fd(), &src) != 0) throw Error(path_text(source) + ": cannot read: " + errno_text(errno));
    const auto dst_dir = to.parent_of(to_rel, true);
    const int dir = dst_dir->in(to).fd();
    const std::string& name = dst_dir->name;
    if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) {
        throw Error(path_text(target) + ": cannot replace: " + errno_text(errno));
    }
    // linkat() without AT_SYMLINK_FOLLOW would link a link that replaced the checked file
    // meanwhile: what was linked is compared with the descriptor, and undone if it differs.
    if (::linkat(src_dir->in(from).fd(), src_dir->name.c_str(), dir, name.c_str(), 0) == 0) {
        struct stat got {};
        if (::fstatat(dir, name.c_str(), &got, AT_SYMLINK_NOFOLLOW) == 0 && got.st_dev == src.st_dev &&
            got.st_ino == src.st_ino) {
            return;
        }
        ::unlinkat(dir, name.c_str(), 0);
        throw UsageError(path_text(source) + ": changed while being linked");
    }
    if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOTSUP && errno != EOPNOTSUPP) {
        throw Error(path_text(target) + ": cannot link from " + path_text(source) + ": " + errno_text(errno));
    }
    AtomicFile copy(dst_dir->in(to), name);
    read_all(file->fd(), source, [&](std::string_view piece) { copy.write(piece); });
    copy.commit(false);
}

void sync_file_system(const Folder& folder) {
    if (::syncfs(folder.fd()) != 0)
        throw Error(path_text(folder.path()) + ": cannot flush to disk: " + errno_text(errno));
}

}  // namespace lessmore
