#include <lessmore/files.hpp>

#include <lessmore/error.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lessmore {

std::string errno_text(int err) { return std::strerror(err); }

std::string path_text(const std::filesystem::path& path) { return path.generic_string(); }

std::string extension_of(const std::filesystem::path& path) {
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

std::filesystem::path resolved_path(const std::filesystem::path& path) {
    std::error_code ec;
    std::filesystem::path r = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec);
    return ec ? std::filesystem::absolute(path) : r;
}

bool path_within(const std::filesystem::path& inner, const std::filesystem::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty()) continue;  // trailing separator
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

std::string read_tail(const std::filesystem::path& path, std::size_t count) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    const std::streamoff size = in.tellg();
    if (!in || size < 0) return {};
    std::string tail(std::min(static_cast<std::size_t>(size), count), '\0');
    in.seekg(size - static_cast<std::streamoff>(tail.size()));
    in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
    return in ? tail : std::string();
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, bool sync) {
    AtomicFile file(path);
    file.write(bytes);
    file.commit(sync);
}

namespace {

// Writes all of bytes to fd (retrying short writes and EINTR); throws naming path.
void write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
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

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path path) : m_path(std::move(path)) {
    m_tmp = path_text(m_path.parent_path() / ("." + m_path.filename().string() + ".tmp-XXXXXX"));
    m_fd = ::mkstemp(m_tmp.data());
    if (m_fd < 0) throw Error(path_text(m_path) + ": cannot create: " + errno_text(errno));
    ::fchmod(m_fd, 0644);
}

AtomicFile::~AtomicFile() {
    if (m_fd >= 0) {
        ::close(m_fd);
        ::unlink(m_tmp.c_str());
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
    if (::close(fd) != 0 || ::rename(m_tmp.c_str(), m_path.c_str()) != 0) {
        const int err = errno;
        ::unlink(m_tmp.c_str());
        throw Error(path_text(m_path) + ": cannot write: " + errno_text(err));
    }
}

void link_or_copy(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::error_code ec;
    std::filesystem::create_directories(to.parent_path(), ec);
    std::filesystem::remove(to, ec);
    std::filesystem::create_hard_link(from, to, ec);
    if (!ec) return;
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) throw Error(path_text(to) + ": cannot link or copy from " + path_text(from) + ": " + ec.message());
}

}  // namespace lessmore
