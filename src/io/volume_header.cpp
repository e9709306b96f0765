// NRRD and MetaImage headers read from a bounded prefix (io/volume_header.hpp). The
// parsing rules follow what teem (NrrdIO) and MetaIO do with the same bytes, as observed
// with ITK 5.2's copies of them: see docs/dicom.md, section "Volume files".
#include "io/volume_header.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <map>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

// The first read: enough for any header written by a tool, and what sniffing costs.
constexpr std::size_t k_first_read = 8192;
// MetaIO reads each header line into a 500-byte buffer; a longer line is misread.
constexpr std::size_t k_metaio_line = 500;

// The start of a file: at most `size` bytes, read with pread on a descriptor opened
// without blocking (a FIFO swapped in after discovery is refused, not waited on).
struct Prefix {
    std::string bytes;
    std::uint64_t file_size = 0;
    bool whole() const { return bytes.size() == file_size; }
};

Prefix read_prefix(const fs::path& path, std::size_t size) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw InputError("cannot open: " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw InputError("not a regular file");
    }
    Prefix p;
    p.file_size = static_cast<std::uint64_t>(st.st_size);
    p.bytes.resize(static_cast<std::size_t>(std::min<std::uint64_t>(size, p.file_size)));
    std::size_t done = 0;
    while (done < p.bytes.size()) {
        const ssize_t n = ::pread(fd, p.bytes.data() + done, p.bytes.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    const int err = errno;
    ::close(fd);
    if (done < p.bytes.size()) throw InputError("cannot read the header: " + (done ? "file shrank" : errno_text(err)));
    return p;
}

std::string trimmed(const std::string& s) {
    const auto a = s.find_first_not_of(" \t\r");
    const auto b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Whole-text integers only: readers that take "12abc" as 12 or "1e3" as 1000 could read
// a number other than the one checked here.
std::optional<std::int64_t> integer(const std::string& text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    std::size_t i = text[0] == '-' ? 1 : 0;
    if (i == text.size()) return std::nullopt;
    std::int64_t v = 0;
    for (; i < text.size(); ++i) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
        v = v * 10 + (text[i] - '0');
    }
    return text[0] == '-' ? -v : v;
}

std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto a = text.find_first_not_of(" \t", i);
        if (a == std::string::npos) break;
        const auto b = text.find_first_of(" \t", a);
        out.push_back(text.substr(a, b == std::string::npos ? std::string::npos : b - a));
        i = b == std::string::npos ? text.size() : b;
    }
    return out;
}

// Sizes checked one by one and multiplied without overflow (at most 2^62 bytes).
void set_sizes(VolumeLayout& l, const std::vector<std::string>& values, std::size_t count, const std::string& name) {
    if (values.size() < count) {
        throw InputError(name + " gives " + std::to_string(values.size()) + " sizes for " + std::to_string(count) +
                         " axes");
    }
    std::uint64_t bytes = std::max<std::uint64_t>(l.element_size, 1);
    for (std::size_t i = 0; i < count; ++i) {
        const auto v = integer(values[i]);
        if (!v || *v < 1 || *v > INT_MAX)
            throw InputError(name + " '" + values[i] + "' is not a size (a whole number from 1)");
        if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(*v), &bytes) || bytes > (std::uint64_t{1} << 62)) {
            throw InputError(name + " describes more bytes of voxels than any file holds");
        }
        l.sizes.push_back(static_cast<std::uint64_t>(*v));
    }
}

// ---- NRRD ------------------------------------------------------------------------

// teem's type names (NrrdIO enumsNrrd.c), compared without case as teem does.
std::uint64_t nrrd_type_size(const std::string& type) {
    static const std::map<std::string, std::uint64_t> sizes = {{"signed char", 1},
                                                               {"int8", 1},
                                                               {"int8_t", 1},
                                                               {"uchar", 1},
                                                               {"unsigned char", 1},
                                                               {"uint8", 1},
                                                               {"uint8_t", 1},
                                                               {"short", 2},
                                                               {"short int", 2},
                                                               {"signed short", 2},
                                                               {"signed short int", 2},
                                                               {"int16", 2},
                                                               {"int16_t", 2},
                                                               {"ushort", 2},
                                                               {"unsigned short", 2},
                                                               {"unsigned short int", 2},
                                                               {"uint16", 2},
                                                               {"uint16_t", 2},
                                                               {"int", 4},
                                                               {"signed int", 4},
                                                               {"int32", 4},
                                                               {"int32_t", 4},
                                                               {"uint", 4},
                                                               {"unsigned int", 4},
                                                               {"uint32", 4},
                                                               {"uint32_t", 4},
                                                               {"longlong", 8},
                                                               {"long long", 8},
                                                               {"long long int", 8},
                                                               {"signed long long", 8},
                                                               {"signed long long int", 8},
                                                               {"int64", 8},
                                                               {"int64_t", 8},
                                                               {"ulonglong", 8},
                                                               {"unsigned long long", 8},
                                                               {"unsigned long long int", 8},
                                                               {"uint64", 8},
                                                               {"uint64_t", 8},
                                                               {"float", 4},
                                                               {"double", 8}};
    const auto it = sizes.find(lower(type));
    if (it == sizes.end()) throw InputError("NRRD type '" + type + "' is not supported");
    return it->second;
}

// teem's line ends: "\n", "\r\n" or "\r". Returns the offset after the terminator of the
// line starting at `at` and sets `length`; npos when the prefix ends first.
std::size_t line_end(const Prefix& p, std::size_t at, std::size_t& length) {
    const auto t = p.bytes.find_first_of("\r\n", at);
    if (t == std::string::npos) {
        if (!p.whole()) return std::string::npos;
        length = p.bytes.size() - at;
        return p.bytes.size();
    }
    length = t - at;
    if (p.bytes[t] == '\r') {
        if (t + 1 == p.bytes.size() && !p.whole()) return std::string::npos;
        if (t + 1 < p.bytes.size() && p.bytes[t + 1] == '\n') return t + 2;
    }
    return t + 1;
}

void check_text(const std::string& line, std::size_t offset, const char* what) {
    const auto nul = line.find('\0');
    if (nul != std::string::npos) {
        throw InputError(std::string("not a ") + what + " header: a NUL byte at byte " + std::to_string(offset + nul) +
                         " (binary data where the header's text should be)");
    }
}

// Header lines up to the blank line (or the end of the file); false: the prefix ends first.
bool nrrd_lines(const Prefix& p, std::map<std::string, std::string>& fields, std::uint64_t& end, bool& blank) {
    std::size_t at = 0, length = 0;
    bool first = true;
    while (at < p.bytes.size()) {
        const std::size_t next = line_end(p, at, length);
        if (next == std::string::npos) {
            check_text(p.bytes.substr(at), at, "NRRD");  // binary data ends the search at once
            return false;
        }
        const std::string line = p.bytes.substr(at, length);
        check_text(line, at, "NRRD");
        if (first) {
            const bool magic = line == "NRRD00.01" || (line.size() == 8 && line.compare(0, 7, "NRRD000") == 0 &&
                                                       line[7] >= '1' && line[7] <= '5');
            if (!magic) throw InputError("not a NRRD file: its first line is not NRRD0001..NRRD0005");
            first = false;
        } else if (line.empty()) {
            end = next;
            blank = true;
            return true;
        } else if (line[0] != '#' && line.find(":=") == std::string::npos) {  // comments, key/value pairs
            const auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string key = lower(trimmed(line.substr(0, colon)));
                key.erase(std::remove(key.begin(), key.end(), ' '), key.end());  // "byte skip" = "byteskip"
                if (!fields.emplace(key, trimmed(line.substr(colon + 1))).second) {
                    throw InputError("the NRRD header sets '" + trimmed(line.substr(0, colon)) + "' twice");
                }
            }
        }
        at = next;
    }
    if (!p.whole()) return false;
    end = p.bytes.size();  // a detached header may end with the file
    return true;
}

void nrrd_data_file(VolumeLayout& l, const std::string& name) {
    if (lower(name).rfind("list", 0) == 0)
        throw InputError("a list of data files ('data file: " + name + "') is not supported");
    if (name.find('%') != std::string::npos || words(name).size() > 1) {
        throw InputError("a numbered pattern of data files ('data file: " + name + "') is not supported");
    }
    // teem reads "-" as standard input and takes "x:..." for a full (Windows) path.
    if (name == "-") throw InputError("'data file: -' (standard input) is not supported");
    if (name.size() > 1 && name[1] == ':')
        throw InputError("'data file: " + name + "' is not a file name lessmore reads");
    l.attached = false;
    l.data_name = name;
    l.data_file = fs::path(name).is_absolute() ? fs::path(name) : l.header.parent_path() / name;
}

// Empty when the prefix ends inside the header.
std::optional<VolumeLayout> parse_nrrd(VolumeLayout l, const Prefix& p) {
    std::map<std::string, std::string> f;
    bool blank = false;
    if (!nrrd_lines(p, f, l.header_end, blank)) return std::nullopt;
    auto get = [&](const char* key) {
        const auto it = f.find(key);
        return it == f.end() ? std::optional<std::string>() : it->second;
    };
    const auto type = get("type"), dimension = get("dimension"), sizes = get("sizes"), encoding = get("encoding");
    for (const auto& [key, value] :
         {std::pair{"type", type}, {"dimension", dimension}, {"sizes", sizes}, {"encoding", encoding}}) {
        if (!value) throw InputError(std::string("the NRRD header has no '") + key + ":' field");
    }
    l.element_type = *type;
    if (lower(*type) == "block") throw InputError("NRRD type 'block' is not supported");
    l.element_size = nrrd_type_size(*type);
    const auto dims = integer(*dimension);
    if (!dims || *dims < 1 || *dims > 16) throw InputError("NRRD 'dimension: " + *dimension + "' is not 1 to 16");
    set_sizes(l, words(*sizes), static_cast<std::size_t>(*dims), "NRRD 'sizes:'");
    const std::string enc = lower(*encoding);
    if (enc == "raw") {
        l.encoding = VolumeLayout::Encoding::Raw;
    } else if (enc == "gzip" || enc == "gz") {
        l.encoding = VolumeLayout::Encoding::Gzip;
    } else if (enc == "ascii" || enc == "text" || enc == "txt" || enc == "hex") {
        l.encoding = VolumeLayout::Encoding::Text;
    } else {
        throw InputError("NRRD 'encoding: " + *encoding + "' is not supported (raw, gzip, ascii or hex)");
    }
    if (const auto endian = get("endian")) {
        const std::string e = lower(*endian);
        if (e != "little" && e != "big") throw InputError("NRRD 'endian: " + *endian + "' is neither little nor big");
        l.big_endian = e == "big";
    }
    if (const auto skip = get("byteskip")) {
        const auto v = integer(*skip);
        if (!v) throw InputError("NRRD 'byte skip: " + *skip + "' is not a whole number");
        l.skip = *v;
    }
    if (const auto lines = get("lineskip")) {
        const auto v = integer(*lines);
        if (!v || *v < 0) throw InputError("NRRD 'line skip: " + *lines + "' is not a whole number from 0");
        l.line_skip = static_cast<std::uint64_t>(*v);
    }
    const auto data = get("datafile");
    if (data) nrrd_data_file(l, *data);
    if (l.attached && !blank)
        throw InputError("the NRRD header ends with the file, without a blank line, and names no data file");
    return l;
}

// ---- MetaImage ----------------------------------------------------------------------

// MetaIO's element types (metaTypes.h) and their sizes.
std::uint64_t metaio_type_size(const std::string& type) {
    static const std::map<std::string, std::uint64_t> sizes = {
        {"MET_CHAR", 1},      {"MET_UCHAR", 1},      {"MET_SHORT", 2}, {"MET_USHORT", 2},
        {"MET_INT", 4},       {"MET_UINT", 4},       {"MET_LONG", 4},  {"MET_ULONG", 4},
        {"MET_LONG_LONG", 8}, {"MET_ULONG_LONG", 8}, {"MET_FLOAT", 4}, {"MET_DOUBLE", 8}};
    const auto it = sizes.find(type);
    if (it == sizes.end())
        throw InputError("MetaImage ElementType '" + type + "' is not supported (a scalar MET_ type)");
    return it->second;
}

// MetaIO's booleans: true when the value starts with T, t or 1.
bool metaio_true(const std::string& value) {
    return !value.empty() && (value[0] == 'T' || value[0] == 't' || value[0] == '1');
}

// Lines "Key = Value" (or "Key : Value") up to the ElementDataFile line, which ends the
// header; false: the prefix ends first. MetaIO matches keys with their case.
bool metaimage_lines(const Prefix& p, std::map<std::string, std::string>& fields, std::uint64_t& end) {
    std::size_t at = 0, number = 0;
    while (at < p.bytes.size()) {
        ++number;
        auto nl = p.bytes.find('\n', at);
        if (nl == std::string::npos && !p.whole() && p.bytes.size() - at <= k_metaio_line) {
            check_text(p.bytes.substr(at), at, "MetaImage");  // binary data ends the search at once
            return false;
        }
        if (nl == std::string::npos) nl = p.bytes.size();
        std::string line = p.bytes.substr(at, std::min(nl - at, k_metaio_line + 1));
        check_text(line, at, "MetaImage");
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.size() >= k_metaio_line) {
            throw InputError("line " + std::to_string(number) + " of the MetaImage header is longer than " +
                             std::to_string(k_metaio_line - 1) + " characters (MetaIO would misread it)");
        }
        at = nl + 1;
        if (trimmed(line).empty()) continue;
        const auto sep = line.find_first_of("=:");
        if (sep == std::string::npos || line.find('\r') != std::string::npos) {
            throw InputError("line " + std::to_string(number) +
                             " of the MetaImage header is not 'Key = Value' (MetaIO would misread it)");
        }
        const std::string key = trimmed(line.substr(0, sep));
        const auto value_at = line.find_first_not_of("=: \t", sep);
        const std::string value = value_at == std::string::npos ? std::string() : trimmed(line.substr(value_at));
        if (!fields.emplace(key, value).second) throw InputError("the MetaImage header sets '" + key + "' twice");
        if (key == "ElementDataFile") {
            end = std::min<std::uint64_t>(at, p.file_size);
            return true;
        }
    }
    if (!p.whole()) return false;
    throw InputError("not a MetaImage header: no 'ElementDataFile' line");
}

void metaimage_data_file(VolumeLayout& l, const std::string& name) {
    if (name.empty()) throw InputError("the MetaImage header's 'ElementDataFile' is empty");
    if (name == "LOCAL" || name == "Local" || name == "local") return;  // MetaIO's spellings, no others
    if (name.compare(0, 4, "LIST") == 0)
        throw InputError("a list of data files ('ElementDataFile = " + name + "') is not supported");
    if (name.find('%') != std::string::npos) {
        throw InputError("a numbered pattern of data files ('ElementDataFile = " + name + "') is not supported");
    }
    if (name.find('\\') != std::string::npos || (name.size() > 1 && name[1] == ':')) {
        throw InputError("'ElementDataFile = " + name + "' is not a file name lessmore reads");
    }
    l.attached = false;
    l.data_name = name;
    l.data_file = fs::path(name).is_absolute() ? fs::path(name) : l.header.parent_path() / name;
}

// Empty when the prefix ends inside the header.
std::optional<VolumeLayout> parse_metaimage(VolumeLayout l, const Prefix& p) {
    std::map<std::string, std::string> f;
    if (!metaimage_lines(p, f, l.header_end)) return std::nullopt;
    auto get = [&](const char* key) {
        const auto it = f.find(key);
        return it == f.end() ? std::optional<std::string>() : it->second;
    };
    const auto ndims = get("NDims"), dim_size = get("DimSize"), type = get("ElementType");
    for (const auto& [key, value] : {std::pair{"NDims", ndims}, {"DimSize", dim_size}, {"ElementType", type}}) {
        if (!value) throw InputError(std::string("the MetaImage header has no '") + key + "' field");
    }
    l.element_type = *type;
    l.element_size = metaio_type_size(*type);
    const auto n = integer(*ndims);
    if (!n || *n < 1 || *n > 10) throw InputError("MetaImage 'NDims = " + *ndims + "' is not 1 to 10");
    set_sizes(l, words(*dim_size), static_cast<std::size_t>(*n), "MetaImage 'DimSize'");
    if (const auto channels = get("ElementNumberOfChannels"); channels && *channels != "1") {
        throw InputError("MetaImage 'ElementNumberOfChannels = " + *channels +
                         "': only scalar volumes (1 channel) are supported");
    }
    if (const auto binary = get("BinaryData"); binary && !metaio_true(*binary)) {
        throw InputError("MetaImage 'BinaryData = " + *binary + "' (voxels as text) is not supported");
    }
    const auto msb = get("BinaryDataByteOrderMSB"), element_msb = get("ElementByteOrderMSB");
    if (msb && element_msb)
        throw InputError("the MetaImage header sets both BinaryDataByteOrderMSB and ElementByteOrderMSB");
    l.big_endian = (msb && metaio_true(*msb)) || (element_msb && metaio_true(*element_msb));
    const auto compressed = get("CompressedData");
    l.encoding = compressed && metaio_true(*compressed) ? VolumeLayout::Encoding::Zlib : VolumeLayout::Encoding::Raw;
    if (const auto size = get("CompressedDataSize")) {
        const auto v = integer(*size);
        if (!v || *v < 1) throw InputError("MetaImage 'CompressedDataSize = " + *size + "' is not a size in bytes");
        l.compressed_size = static_cast<std::uint64_t>(*v);
    }
    if (const auto header_size = get("HeaderSize")) {
        const auto v = integer(*header_size);
        if (!v || *v < -1 || *v > INT_MAX)
            throw InputError("MetaImage 'HeaderSize = " + *header_size + "' is not -1 or a byte offset");
        l.skip = *v;
    }
    metaimage_data_file(l, *get("ElementDataFile"));
    return l;
}

}  // namespace

std::uint64_t VolumeLayout::voxel_count() const {
    std::uint64_t n = 1;
    for (std::uint64_t s : sizes) n *= s;
    return n;
}

VolumeLayout read_volume_layout(const fs::path& header) {
    const std::string ext = extension_of(header);
    VolumeLayout l;
    l.format = ext == ".nrrd" || ext == ".nhdr" ? VolumeLayout::Format::Nrrd : VolumeLayout::Format::MetaImage;
    l.header = header;
    l.data_file = header;
    const bool nrrd = l.format == VolumeLayout::Format::Nrrd;
    Prefix p = read_prefix(header, k_first_read);
    if (nrrd && p.bytes.compare(0, 4, "NRRD") != 0) throw InputError("not a NRRD file: it does not start with 'NRRD'");
    if (!nrrd && !p.bytes.empty() && p.bytes[0] == '\0') check_text(p.bytes.substr(0, 1), 0, "MetaImage");
    auto parse = [&] { return nrrd ? parse_nrrd(l, p) : parse_metaimage(l, p); };
    // Most headers end within the first read; a longer one is read once more, up to 1 MB.
    std::optional<VolumeLayout> out = parse();
    if (!out && !p.whole()) {
        p = read_prefix(header, k_max_text_header);
        out = parse();
    }
    if (out) return *out;
    throw InputError(
        nrrd ? "the NRRD header is longer than 1 MB (no blank line ends it within the first 1,048,576 bytes)"
             : "the MetaImage header is longer than 1 MB (no 'ElementDataFile' line within the first 1,048,576 bytes)");
}

}  // namespace lessmore
