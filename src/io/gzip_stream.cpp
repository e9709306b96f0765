#include "io/gzip_stream.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include <isa-l/igzip_lib.h>

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
// ISA-L counts in 32-bit unsigned ints: large reads are split.
constexpr std::size_t k_max_inflate_chunk = std::size_t{1} << 30;
// Consumed input kept in front of the unread input when the buffer is refilled: a member's
// trailer (CRC-32, ISIZE) stays readable after the inflater has passed it.
constexpr std::size_t k_trailer = 8;

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

std::string member_where(std::uint64_t member, std::uint64_t position) {
    return " in member " + std::to_string(member) + " (after " + std::to_string(position) + " decompressed bytes)";
}

// Decision: ISA-L's inflate (igzip) rather than zlib's, because decompressing is what
// reading a .nii.gz costs: on a 315 MB CT volume it inflates at 740 MB/s against zlib's
// 345 (2.1x; CPU time, docs/performance.md, "Reading .nii.gz"). ISA-L parses each member's
// header and checks its CRC-32 and ISIZE; which of the two failed is told from the trailer,
// which refill() keeps readable.
class GzipStream final : public InputStream {
public:
    explicit GzipStream(std::unique_ptr<FileHandle> file);
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
    void check_flags(std::uint64_t delivered);  // delivered: content bytes produced before it
    [[noreturn]] void fail_inflate(int code) const;
    [[noreturn]] void fail_check() const;
    [[noreturn]] void fail_early(std::uint64_t at) const;
    std::uint64_t compressed_offset() const { return m_file_offset - m_z->avail_in; }

    std::unique_ptr<FileHandle> m_file;
    std::unique_ptr<inflate_state> m_z;  // ~40 KB of tables: on the heap
    std::vector<unsigned char> m_input;
    std::vector<unsigned char> m_scratch;
    std::uint64_t m_file_offset = 0;  // compressed bytes read from the file so far
    std::uint64_t m_position = 0;     // content bytes delivered so far
    std::uint64_t m_member = 1;       // the member being decompressed, from 1
    bool m_eof = false;               // the file has no more compressed bytes
    bool m_member_ended = false;      // the current member's trailer has been checked
    bool m_flags_checked = false;     // the current member's FLG byte has been looked at
    bool m_ended = false;             // no member follows the last one
};

GzipStream::GzipStream(std::unique_ptr<FileHandle> file)
    : m_file(std::move(file)), m_z(std::make_unique<inflate_state>()) {
    isal_inflate_init(m_z.get());
    m_z->crc_flag = ISAL_GZIP;  // the gzip wrapper: header parsed, CRC-32 and ISIZE checked
    m_input.resize(k_trailer + static_cast<std::size_t>(std::clamp<std::uint64_t>(m_file->size(), 1, k_input_buffer)));
    m_z->next_in = m_input.data();
    m_z->avail_in = 0;
}

// Moves the unread input (and the k_trailer bytes consumed before it) to the front and reads
// more after it; false at the end of file.
bool GzipStream::refill() {
    if (m_eof) return false;
    const std::size_t keep = std::min<std::size_t>(k_trailer, static_cast<std::size_t>(m_z->next_in - m_input.data()));
    const std::size_t unread = m_z->avail_in;
    std::memmove(m_input.data(), m_z->next_in - keep, keep + unread);
    const std::size_t room = m_input.size() - keep - unread;
    const std::size_t got = m_file->read_at(m_file_offset, m_input.data() + keep + unread, room);
    m_file_offset += got;
    m_z->next_in = m_input.data() + keep;
    m_z->avail_in = static_cast<std::uint32_t>(unread + got);
    if (got == 0) m_eof = true;
    return got > 0;
}

// After a member's trailer: true when another member follows (its decoding is set up),
// false at the end of the stream (only zero bytes, if any, remain).
bool GzipStream::start_next_member() {
    while (m_z->avail_in < 2 && refill()) {}
    if (m_z->avail_in >= 2 && m_z->next_in[0] == 0x1f && m_z->next_in[1] == 0x8b) {
        unsigned char* next = m_z->next_in;
        const std::uint32_t avail = m_z->avail_in;
        isal_inflate_reset(m_z.get());
        m_z->crc_flag = ISAL_GZIP;
        m_z->next_in = next;
        m_z->avail_in = avail;
        m_member_ended = false;
        m_flags_checked = false;
        ++m_member;
        return true;
    }
    require_only_zeros();
    m_ended = true;
    return false;
}

void GzipStream::require_only_zeros() {
    do {
        unsigned char* end = m_z->next_in + m_z->avail_in;
        const unsigned char* bad = std::find_if(m_z->next_in, end, [](unsigned char c) { return c != 0; });
        if (bad != end) {
            throw InputError("trailing garbage after the gzip stream at byte " +
                             std::to_string(compressed_offset() + static_cast<std::uint64_t>(bad - m_z->next_in)) +
                             " of " + std::to_string(m_file->size()));
        }
        m_z->next_in = end;
        m_z->avail_in = 0;
    } while (refill());
}

// RFC 1952 (section 2.3.1.2): a decompressor must refuse a member whose reserved FLG bits
// are set, since they could mean a field it would misread. ISA-L reads past them (zlib did
// not), so the FLG byte is checked here before the member is inflated.
void GzipStream::check_flags(std::uint64_t delivered) {
    while (m_z->avail_in < 4 && refill()) {}
    m_flags_checked = true;
    if (m_z->avail_in >= 4 && (m_z->next_in[3] & 0xe0) != 0)
        throw InputError("corrupt gzip stream" + member_where(m_member, delivered) + ": unknown header flags set");
}

void GzipStream::fail_inflate(int code) const {
    std::string message;
    switch (code) {
    case ISAL_INVALID_BLOCK:
        message = "invalid block";
        break;
    case ISAL_INVALID_SYMBOL:
        message = "invalid code";
        break;
    case ISAL_INVALID_LOOKBACK:
        message = "invalid distance too far back";
        break;
    case ISAL_INVALID_WRAPPER:
        message = "incorrect header";
        break;
    case ISAL_UNSUPPORTED_METHOD:
        message = "unknown compression method";
        break;
    default:
        message = "ISA-L inflate error " + std::to_string(code);
    }
    throw InputError("corrupt gzip stream" + member_where(m_member, m_position) + ": " + message);
}

// ISA-L found a checksum wrong: the header's CRC-16 (while the header is read), or the
// trailer's CRC-32 or ISIZE (the 8 bytes before next_in, kept there by refill()).
void GzipStream::fail_check() const {
    const std::string where = member_where(m_member, m_position);
    if (m_z->block_state != ISAL_BLOCK_FINISH)
        throw InputError("corrupt gzip stream" + where + ": header CRC mismatch");
    const unsigned char* t = m_z->next_in - k_trailer;
    const std::uint32_t stored_crc = static_cast<std::uint32_t>(t[0]) | static_cast<std::uint32_t>(t[1]) << 8 |
                                     static_cast<std::uint32_t>(t[2]) << 16 | static_cast<std::uint32_t>(t[3]) << 24;
    if (stored_crc != m_z->crc) throw InputError("gzip CRC mismatch" + where + ": the data is corrupt");
    throw InputError("gzip length mismatch" + where + ": the trailer's ISIZE disagrees with the data");
}

void GzipStream::fail_early(std::uint64_t at) const {
    throw InputError("gzip stream ends early: cut off in member " + std::to_string(m_member) + " after " +
                     std::to_string(at) + " decompressed bytes" + expected_text(m_expected, at));
}

// Decompresses into out until `count` bytes are produced or the stream has ended;
// returns the bytes produced. Throws when the file stops inside a member.
std::size_t GzipStream::inflate_some(unsigned char* out, std::size_t count) {
    m_z->next_out = out;
    m_z->avail_out = static_cast<std::uint32_t>(count);
    while (m_z->avail_out > 0 && !m_ended) {
        if (m_member_ended) {
            start_next_member();
            continue;
        }
        if (!m_flags_checked) check_flags(m_position + (count - m_z->avail_out));
        if (m_z->avail_in == 0) refill();
        const std::uint32_t in_before = m_z->avail_in, out_before = m_z->avail_out;
        const int code = isal_inflate(m_z.get());
        if (code == ISAL_INCORRECT_CHECKSUM) {
            m_position += count - m_z->avail_out;
            fail_check();
        }
        if (code < 0) {
            m_position += count - m_z->avail_out;
            fail_inflate(code);
        }
        if (m_z->block_state == ISAL_BLOCK_FINISH) {
            m_member_ended = true;
        } else if (m_z->avail_in == in_before && m_z->avail_out == out_before && !refill()) {
            // Nothing decoded from the input held (its bits kept inside ISA-L included), and
            // the file has no more: the member is cut off.
            fail_early(m_position + (count - m_z->avail_out));
        }
    }
    const std::size_t produced = count - m_z->avail_out;
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
