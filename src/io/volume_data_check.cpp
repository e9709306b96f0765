// The data of NRRD and MetaImage files checked before ITK reads it
// (io/volume_data_check.hpp; the rules: docs/dicom.md, section "Volume files").
#include "io/volume_data_check.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include "io/gzip_stream.hpp"

#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <vector>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

using Layout = VolumeLayout;

// "4,096": byte counts in messages.
std::string count(std::uint64_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// The data file, open without blocking; closed on destruction. Messages call it "the
// file" (the header's own, which the caller names) or "data file NAME".
class DataFile {
public:
    explicit DataFile(const VolumeLayout& l) : m_name(l.attached ? "the file" : "data file " + l.data_name) {
        m_fd = ::open(l.data_file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (m_fd < 0) throw InputError(m_name + ": cannot open: " + errno_text(errno));
        struct stat st {};
        if (::fstat(m_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(m_fd);
            throw InputError(m_name + ": not a regular file");
        }
        m_size = static_cast<std::uint64_t>(st.st_size);
    }
    ~DataFile() { ::close(m_fd); }
    DataFile(const DataFile&) = delete;
    DataFile& operator=(const DataFile&) = delete;

    std::uint64_t size() const { return m_size; }
    const std::string& name() const { return m_name; }
    // " in data file NAME", or nothing for the header's own file.
    std::string in() const { return m_name == "the file" ? std::string() : " in " + m_name; }

    // Up to `n` bytes at `offset`; fewer only at the end of the file.
    std::size_t read(std::uint64_t offset, unsigned char* out, std::size_t n) const {
        std::size_t done = 0;
        while (done < n) {
            const ssize_t got = ::pread(m_fd, out + done, n - done, static_cast<off_t>(offset + done));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw InputError(m_name + ": cannot read: " + errno_text(errno));
            if (got == 0) break;
            done += static_cast<std::size_t>(got);
        }
        return done;
    }

private:
    int m_fd = -1;
    std::uint64_t m_size = 0;
    std::string m_name;
};

// teem's "line skip": the offset after `lines` lines ("\n", "\r\n" or "\r") from `from`.
// Bounded: the skipped lines must end within 1 MB.
std::uint64_t skip_lines(const DataFile& f, std::uint64_t from, std::uint64_t lines) {
    std::vector<unsigned char> buf(std::size_t{1} << 16);
    std::uint64_t at = from;
    bool after_cr = false;
    while (lines > 0) {
        if (at - from >= k_max_text_header) {
            throw InputError("the " + count(lines) + " lines 'line skip' passes over run past the first MB of " +
                             f.name());
        }
        const std::size_t got = f.read(at, buf.data(), buf.size());
        if (got == 0) throw InputError(f.name() + " ends within the lines 'line skip' passes over");
        std::size_t i = 0;
        for (; i < got && lines > 0; ++i) {
            const unsigned char c = buf[i];
            if (after_cr) {
                after_cr = false;
                if (c == '\n') continue;  // "\r\n": one line end, already counted
            }
            if (c == '\n' || c == '\r') {
                after_cr = c == '\r';
                --lines;
            }
        }
        at += i;
    }
    if (after_cr) {  // a "\r" last: teem reads a "\n" after it as part of that line end
        unsigned char c = 0;
        if (f.read(at, &c, 1) == 1 && c == '\n') ++at;
    }
    return at;
}

// Inflates [from, from + length) of `f`: gzip members one after another (gzip = true;
// teem reads concatenated members), else one zlib or gzip stream (MetaIO). Stops with
// the last stream, or as soon as the output exceeds `limit`. The CRC-32 of output bytes
// [window, window + window_size) is kept.
struct Inflated {
    std::uint64_t total = 0;
    std::uint32_t crc = 0;
    bool ended = false;  // the last stream ended (zlib checked its checksum and length)
};

Inflated inflate_data(const DataFile& f, std::uint64_t from, std::uint64_t length, bool gzip, std::uint64_t limit,
                      std::uint64_t window, std::uint64_t window_size) {
    z_stream z{};
    if (inflateInit2(&z, gzip ? 15 + 16 : 15 + 32) != Z_OK) throw InputError("cannot start zlib");
    std::vector<unsigned char> in(std::size_t{1} << 16), out(std::size_t{1} << 16);
    Inflated r;
    r.crc = static_cast<std::uint32_t>(crc32(0, nullptr, 0));
    std::uint64_t at = from;
    const std::uint64_t end = from + length;
    int status = Z_OK;
    auto fail = [&](const std::string& why) {
        inflateEnd(&z);
        throw InputError("the compressed data" + f.in() + " " + why);
    };
    while (r.total <= limit) {
        if (z.avail_in == 0) {
            if (at >= end) break;
            const std::size_t got =
                f.read(at, in.data(), static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), end - at)));
            if (got == 0) break;
            at += got;
            z.next_in = in.data();
            z.avail_in = static_cast<uInt>(got);
        }
        z.next_out = out.data();
        z.avail_out = static_cast<uInt>(out.size());
        status = inflate(&z, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
            fail("is corrupt (zlib: " + std::string(z.msg ? z.msg : "error") + ")");
        }
        const std::uint64_t produced = out.size() - z.avail_out;
        // The part of this output inside the window.
        const std::uint64_t lo = std::max(r.total, window), hi = std::min(r.total + produced, window + window_size);
        if (lo < hi)
            r.crc = static_cast<std::uint32_t>(crc32(r.crc, out.data() + (lo - r.total), static_cast<uInt>(hi - lo)));
        r.total += produced;
        if (status == Z_STREAM_END) {
            r.ended = true;
            if (!gzip) break;
            // Another gzip member follows only when its magic does.
            unsigned char magic[2] = {0, 0};
            const std::size_t have = z.avail_in;
            if (have >= 2) {
                magic[0] = z.next_in[0];
                magic[1] = z.next_in[1];
            } else if (f.read(at - have, magic, 2) < 2) {
                break;
            }
            if (magic[0] != 0x1f || magic[1] != 0x8b) break;
            inflateReset(&z);
            r.ended = false;
        } else if (status == Z_BUF_ERROR && z.avail_in == 0 && at >= end) {
            break;
        }
    }
    inflateEnd(&z);
    return r;
}

void check_raw(const Layout& l, const DataFile& f, std::uint64_t start) {
    const std::uint64_t need = l.voxel_bytes(), size = f.size();
    const bool nrrd = l.format == Layout::Format::Nrrd;
    if (l.skip < 0) {  // NRRD byte skip -N, MetaImage HeaderSize -1: counted from the end
        const std::uint64_t after = static_cast<std::uint64_t>(-(l.skip + 1));  // bytes after the voxels
        const std::uint64_t have = size - start;
        if (have < need || have - need < after) {
            const std::string field = nrrd ? "'byte skip: " + std::to_string(l.skip) + "'" : "'HeaderSize = -1'";
            throw InputError("with " + field + " the voxels are the last " + count(need) + " bytes of " + f.name() +
                             (after ? " before " + count(after) + " more" : std::string()) + ", but only " +
                             count(have) + " follow the header");
        }
        return;
    }
    std::uint64_t at = start;
    std::string from;
    if (nrrd && l.skip > 0) {
        at += static_cast<std::uint64_t>(l.skip);
        from = " after 'byte skip: " + std::to_string(l.skip) + "'";
    } else if (!nrrd && l.skip > 0) {
        at = static_cast<std::uint64_t>(l.skip);
        from = " from 'HeaderSize = " + std::to_string(l.skip) + "'";
        if (l.attached && at < l.header_end) {
            throw InputError("'HeaderSize = " + std::to_string(l.skip) +
                             "' points inside the header, which ends at byte " + count(l.header_end));
        }
    }
    const std::uint64_t have = at < size ? size - at : 0;
    if (have < need) {
        throw InputError(f.name() + " holds " + count(have) + " of the " + count(need) +
                         " bytes of voxels its header needs" + from);
    }
}

DataCheck check_gzip(const Layout& l, const DataFile& f, std::uint64_t start, bool full) {
    if (l.skip < 0)
        throw InputError("NRRD 'byte skip: " + std::to_string(l.skip) + "' with gzip data is not supported");
    const std::uint64_t skip = static_cast<std::uint64_t>(l.skip), need = skip + l.voxel_bytes();
    unsigned char magic[2] = {0, 0};
    if (f.read(start, magic, 2) < 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
        throw InputError("the data" + f.in() + " is not gzip (it does not start with the gzip magic bytes 1f 8b)");
    }
    const std::uint64_t stored = f.size() - start;
    if (!full) {
        if (stored >= (need + k_max_deflate_ratio - 1) / k_max_deflate_ratio) return {};
        throw InputError("the " + count(stored) + " bytes of gzip data" + f.in() + " cannot hold the " + count(need) +
                         " bytes its header needs");
    }
    const Inflated r = inflate_data(f, start, stored, true, need, skip, l.voxel_bytes());
    const std::string what =
        skip ? "byte skip " + count(skip) + " + " + count(l.voxel_bytes()) + " bytes of voxels" : "voxels";
    if (r.total > need)
        throw InputError("the gzip data" + f.in() + " holds more than the " + count(need) + " bytes of its " + what);
    if (r.total < need || !r.ended) {
        throw InputError("the gzip data" + f.in() + (r.ended ? " holds " : " is cut short after ") + count(r.total) +
                         " of the " + count(need) + " bytes of its " + what);
    }
    return {r.crc};
}

DataCheck check_zlib(const Layout& l, const DataFile& f, std::uint64_t start, bool full) {
    // MetaIO seeks to HeaderSize and then, without CompressedDataSize, back to byte 0.
    if (l.skip != 0) throw InputError("MetaImage 'HeaderSize' with 'CompressedData = True' is not supported");
    // MetaIO takes the whole file for the stream when the size is missing: for LOCAL data
    // that includes the header, which does not inflate.
    if (!l.compressed_size && l.attached) {
        throw InputError(
            "MetaImage 'CompressedData = True' with LOCAL data needs 'CompressedDataSize' (MetaIO cannot read it "
            "without)");
    }
    const std::uint64_t stored = l.compressed_size ? *l.compressed_size : f.size() - start;
    if (stored > f.size() - start) {
        throw InputError("'CompressedDataSize = " + std::to_string(stored) + "' runs past the end of " + f.name() +
                         ", which holds " + count(f.size() - start) + " bytes of data");
    }
    const std::uint64_t need = l.voxel_bytes();
    if (!full) {
        if (stored >= (need + k_max_deflate_ratio - 1) / k_max_deflate_ratio) return {};
        throw InputError("the " + count(stored) + " bytes of compressed data" + f.in() + " cannot hold the " +
                         count(need) + " bytes of voxels its header needs");
    }
    const Inflated r = inflate_data(f, start, stored, false, need, 0, need);
    if (r.total > need)
        throw InputError("the compressed data" + f.in() + " holds more than the " + count(need) + " bytes of voxels");
    if (r.total < need || !r.ended) {
        throw InputError("the compressed data" + f.in() + (r.ended ? " holds " : " is cut short after ") +
                         count(r.total) + " of the " + count(need) + " bytes of voxels its header needs");
    }
    return {r.crc};
}

void swap_bytes(std::byte* data, std::size_t size, std::size_t width) {
    for (std::size_t i = 0; i + width <= size; i += width) std::reverse(data + i, data + i + width);
}

}  // namespace

void check_data_location(const VolumeLayout& l, const std::string& root) {
    if (l.attached) return;
    const std::string& name = l.data_name;
    if (!path_within(resolved_path(l.data_file), resolved_path(root))) {
        throw InputError("the header names data file '" + name + "', outside the input " + root + "; not read");
    }
    std::error_code ec;
    if (!fs::is_regular_file(l.data_file, ec))
        throw InputError("the header names data file '" + name + "', which is not a regular file");
    if (fs::equivalent(l.data_file, l.header, ec))
        throw InputError("the header names itself as its data file ('" + name + "')");
}

DataCheck check_volume_data(const VolumeLayout& l, bool inflate) {
    const DataFile f(l);
    std::uint64_t start = l.attached ? l.header_end : 0;
    if (start > f.size()) throw InputError("the file ends inside the header");
    if (l.line_skip > 0) start = skip_lines(f, start, l.line_skip);
    switch (l.encoding) {
    case Layout::Encoding::Raw:
        check_raw(l, f, start);
        return {};
    case Layout::Encoding::Gzip:
        return check_gzip(l, f, start, inflate);
    case Layout::Encoding::Zlib:
        return check_zlib(l, f, start, inflate);
    case Layout::Encoding::Text:
        return {};  // teem counts text values itself and fails short data
    }
    return {};
}

void verify_voxels(const VolumeLayout& l, const DataCheck& check, std::byte* data, std::size_t size) {
    if (!check.crc32) return;
    // ITK hands back this machine's byte order; the CRC is of the file's.
    const bool swap = l.big_endian && l.element_size > 1;
    if (swap) swap_bytes(data, size, static_cast<std::size_t>(l.element_size));
    uLong crc = crc32(0, nullptr, 0);
    for (std::size_t at = 0; at < size;) {
        const std::size_t n = std::min<std::size_t>(size - at, std::size_t{1} << 30);
        crc = crc32(crc, reinterpret_cast<const Bytef*>(data + at), static_cast<uInt>(n));
        at += n;
    }
    if (swap) swap_bytes(data, size, static_cast<std::size_t>(l.element_size));
    if (static_cast<std::uint32_t>(crc) != *check.crc32) {
        throw InputError("the voxels ITK read differ from the compressed data lessmore checked (CRC-32 mismatch)");
    }
}

}  // namespace lessmore
