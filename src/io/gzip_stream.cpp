#include "io/gzip_stream.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace lessmore {
namespace {

// Compressed input is read in pieces of this size (256 KiB and 1 MiB measure the same).
constexpr std::size_t k_input_buffer = std::size_t{256} << 10;
// Skipped or drained content is decompressed into a scratch buffer of this size.
constexpr std::size_t k_scratch_buffer = std::size_t{64} << 10;
// zlib counts in 32-bit unsigned ints: large reads are split.
constexpr std::size_t k_max_inflate_chunk = std::size_t{1} << 30;

// One open descriptor, closed exactly once.
class FileHandle {
public:
    explicit FileHandle(const std::filesystem::path& path) {
        m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (m_fd < 0) throw InputError("cannot open: " + errno_text(errno));
        struct stat st {};
        if (::fstat(m_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close();
            throw InputError("not a regular file");
        }
        m_size = static_cast<std::uint64_t>(st.st_size);
        ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    ~FileHandle() { close(); }
    FileHandle(const FileHandle&) = delete;
    FileHandle& operator=(const FileHandle&) = delete;

    void close() {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }
    std::uint64_t size() const { return m_size; }

    // Up to `count` bytes at `offset`; fewer only at the end of the file.
    std::size_t read_at(std::uint64_t offset, void* dest, std::size_t count) const {
        if (m_fd < 0) throw std::logic_error("read from a closed file");
        std::size_t done = 0;
        while (done < count) {
            const ssize_t n =
                ::pread(m_fd, static_cast<char*>(dest) + done, count - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw InputError("cannot read: " + errno_text(errno));
            if (n == 0) break;
            done += static_cast<std::size_t>(n);
        }
        return done;
    }

private:
    int m_fd = -1;
    std::uint64_t m_size = 0;
};

// For "ends early" messages: what was needed, or that only the check was missing.
std::string expected_text(std::uint64_t expected, std::uint64_t got) {
    if (expected == 0) return "";
    if (got >= expected) return ", before the member's CRC-32 and length";
    return "; " + std::to_string(expected) + " are needed";
}

class PlainStream final : public InputStream {
public:
    explicit PlainStream(std::unique_ptr<FileHandle> file) : m_file(std::move(file)) {}

    void read(std::byte* dest, std::size_t count) override {
        const std::size_t got = m_file->read_at(m_position, dest, count);
        if (got < count) {
            throw InputError("file ends early: it has " + std::to_string(m_position + got) + " bytes" +
                             expected_text(m_expected, m_position + got));
        }
        m_position += count;
    }
    void skip(std::uint64_t count) override { m_position += count; }
    void finish() override { m_file->close(); }
    std::uint64_t position() const override { return m_position; }
    std::uint64_t file_size() const override { return m_file->size(); }
    std::uint64_t capacity() const override { return m_file->size(); }
    bool is_gzip() const override { return false; }

private:
    std::unique_ptr<FileHandle> m_file;
    std::uint64_t m_position = 0;
};

class GzipStream final : public InputStream {
public:
    explicit GzipStream(std::unique_ptr<FileHandle> file);
    ~GzipStream() override { inflateEnd(&m_z); }
    GzipStream(const GzipStream&) = delete;
    GzipStream& operator=(const GzipStream&) = delete;

    void read(std::byte* dest, std::size_t count) override;
    void skip(std::uint64_t count) override;
    void finish() override;
    std::uint64_t position() const override { return m_position; }
    std::uint64_t file_size() const override { return m_file->size(); }
    std::uint64_t capacity() const override {
        const std::uint64_t size = m_file->size();
        const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
        return size > max / k_max_deflate_ratio ? max : size * k_max_deflate_ratio;
    }
    bool is_gzip() const override { return true; }

private:
    std::size_t inflate_some(unsigned char* out, std::size_t count);
    bool refill();
    bool start_next_member();
    void require_only_zeros();
    [[noreturn]] void fail_inflate(int code) const;
    std::uint64_t compressed_offset() const { return m_file_offset - m_z.avail_in; }

    std::unique_ptr<FileHandle> m_file;
    z_stream m_z{};
    std::vector<unsigned char> m_input;
    std::vector<unsigned char> m_scratch;
    std::uint64_t m_file_offset = 0;  // compressed bytes read from the file so far
    std::uint64_t m_position = 0;     // content bytes delivered so far
    std::uint64_t m_member = 1;       // the member being decompressed, from 1
    bool m_eof = false;               // the file has no more compressed bytes
    bool m_member_ended = false;      // the current member's trailer has been checked
    bool m_ended = false;             // no member follows the last one
};

GzipStream::GzipStream(std::unique_ptr<FileHandle> file) : m_file(std::move(file)) {
    // 16 + 15: gzip wrapper only, 32 KiB window; zlib checks each member's CRC-32 and ISIZE.
    if (inflateInit2(&m_z, 16 + MAX_WBITS) != Z_OK) throw Error("cannot initialise zlib");
    m_input.resize(static_cast<std::size_t>(std::clamp<std::uint64_t>(m_file->size(), 1, k_input_buffer)));
}

// Moves the unread input to the front and reads more after it; false at the end of file.
bool GzipStream::refill() {
    if (m_eof) return false;
    if (m_z.avail_in > 0 && m_z.next_in != m_input.data()) std::memmove(m_input.data(), m_z.next_in, m_z.avail_in);
    const std::size_t room = m_input.size() - m_z.avail_in;
    const std::size_t got = m_file->read_at(m_file_offset, m_input.data() + m_z.avail_in, room);
    m_file_offset += got;
    m_z.next_in = m_input.data();
    m_z.avail_in += static_cast<uInt>(got);
    if (got == 0) m_eof = true;
    return got > 0;
}

// After a member's trailer: true when another member follows (its decoding is set up),
// false at the end of the stream (only zero bytes, if any, remain).
bool GzipStream::start_next_member() {
    while (m_z.avail_in < 2 && refill()) {}
    if (m_z.avail_in >= 2 && m_z.next_in[0] == 0x1f && m_z.next_in[1] == 0x8b) {
        if (inflateReset(&m_z) != Z_OK) throw Error("cannot reset zlib");
        m_member_ended = false;
        ++m_member;
        return true;
    }
    require_only_zeros();
    m_ended = true;
    return false;
}

void GzipStream::require_only_zeros() {
    do {
        unsigned char* end = m_z.next_in + m_z.avail_in;
        const unsigned char* bad = std::find_if(m_z.next_in, end, [](unsigned char c) { return c != 0; });
        if (bad != end) {
            throw InputError("trailing garbage after the gzip stream at byte " +
                             std::to_string(compressed_offset() + static_cast<std::uint64_t>(bad - m_z.next_in)) +
                             " of " + std::to_string(m_file->size()));
        }
        m_z.next_in = end;
        m_z.avail_in = 0;
    } while (refill());
}

void GzipStream::fail_inflate(int code) const {
    const std::string message = m_z.msg ? m_z.msg : "zlib error " + std::to_string(code);
    const std::string where =
        " in member " + std::to_string(m_member) + " (after " + std::to_string(m_position) + " decompressed bytes)";
    if (message == "incorrect data check") throw InputError("gzip CRC mismatch" + where + ": the data is corrupt");
    if (message == "incorrect length check")
        throw InputError("gzip length mismatch" + where + ": the trailer's ISIZE disagrees with the data");
    if (code == Z_MEM_ERROR) throw Error("out of memory decompressing gzip");
    throw InputError("corrupt gzip stream" + where + ": " + message);
}

// Decompresses into out until `count` bytes are produced or the stream has ended;
// returns the bytes produced. Throws when the file stops inside a member.
std::size_t GzipStream::inflate_some(unsigned char* out, std::size_t count) {
    m_z.next_out = out;
    m_z.avail_out = static_cast<uInt>(count);
    while (m_z.avail_out > 0 && !m_ended) {
        if (m_member_ended) {
            start_next_member();
            continue;
        }
        if (m_z.avail_in == 0) refill();
        const int code = inflate(&m_z, Z_NO_FLUSH);
        if (code == Z_STREAM_END) {
            m_member_ended = true;
        } else if (code == Z_BUF_ERROR && m_z.avail_in == 0 && m_eof) {
            const std::uint64_t at = m_position + (count - m_z.avail_out);
            throw InputError("gzip stream ends early: cut off in member " + std::to_string(m_member) + " after " +
                             std::to_string(at) + " decompressed bytes" + expected_text(m_expected, at));
        } else if (code != Z_OK && code != Z_BUF_ERROR) {
            m_position += count - m_z.avail_out;
            fail_inflate(code);
        }
    }
    const std::size_t produced = count - m_z.avail_out;
    m_position += produced;
    return produced;
}

void GzipStream::read(std::byte* dest, std::size_t count) {
    auto* out = reinterpret_cast<unsigned char*>(dest);
    while (count > 0) {
        const std::size_t chunk = std::min(count, k_max_inflate_chunk);
        if (inflate_some(out, chunk) < chunk) {
            throw InputError("gzip stream ends early: it holds only " + std::to_string(m_position) + " bytes (" +
                             std::to_string(m_member) + " member(s))" + expected_text(m_expected, m_position));
        }
        out += chunk;
        count -= chunk;
    }
}

void GzipStream::skip(std::uint64_t count) {
    if (m_scratch.empty()) m_scratch.resize(k_scratch_buffer);
    while (count > 0) {
        const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(count, m_scratch.size()));
        read(reinterpret_cast<std::byte*>(m_scratch.data()), chunk);
        count -= chunk;
    }
}

void GzipStream::finish() {
    if (m_scratch.empty()) m_scratch.resize(k_scratch_buffer);
    while (!m_ended) inflate_some(m_scratch.data(), m_scratch.size());
    m_file->close();
}

}  // namespace

std::unique_ptr<InputStream> open_input_stream(const std::filesystem::path& path) {
    auto file = std::make_unique<FileHandle>(path);
    unsigned char magic[2] = {0, 0};
    const bool gzip = file->read_at(0, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gzip) return std::make_unique<GzipStream>(std::move(file));
    return std::make_unique<PlainStream>(std::move(file));
}

}  // namespace lessmore
