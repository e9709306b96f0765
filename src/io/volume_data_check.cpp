#include "io/volume_data_check.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include <itk_zlib.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

struct Header {
    std::map<std::string, std::string> fields;  // keys as written (MetaImage) or lower-cased (NRRD)
    std::uint64_t end = 0;                      // offset of the first byte after the header
};

std::string trimmed(const std::string& s) {
    const auto a = s.find_first_not_of(" \t\r");
    const auto b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// MetaIO's header: "Key = Value" lines, ElementDataFile last. NRRD's: a magic line, then
// "key: value" lines (comments start with '#') up to an empty line.
Header read_header(const fs::path& path, bool nrrd) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("cannot open: " + errno_text(errno));
    Header h;
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
        h.end += line.size() + 1;
        if (h.end > (std::uint64_t{1} << 20)) break;
        if (nrrd) {
            if (first) {
                first = false;
                continue;  // NRRD000X
            }
            if (trimmed(line).empty()) return h;
            if (line[0] == '#') continue;
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            const bool keyvalue = colon + 1 < line.size() && line[colon + 1] == '=';
            h.fields[lower(trimmed(line.substr(0, colon)))] = trimmed(line.substr(colon + (keyvalue ? 2 : 1)));
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = trimmed(line.substr(0, eq));
        h.fields[key] = trimmed(line.substr(eq + 1));
        if (key == "ElementDataFile") return h;
    }
    if (nrrd) {
        if (!in.eof()) throw InputError("NRRD header too long");
        h.end = std::min<std::uint64_t>(h.end, static_cast<std::uint64_t>(fs::file_size(path)));
        return h;  // a detached header (.nhdr) may end without an empty line
    }
    throw InputError("not a MetaImage header (no ElementDataFile line)");
}

// Inflates the stream from `in` (at most `compressed` bytes) to its end; the zlib or gzip
// trailer (Adler-32 / CRC-32 and size) is checked by zlib itself. Returns the bytes it gave.
std::uint64_t inflate_to_end(std::ifstream& in, std::uint64_t compressed) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 32) != Z_OK) throw InputError("cannot start zlib");  // zlib or gzip header
    std::vector<unsigned char> input(1 << 16), output(1 << 16);
    std::uint64_t total = 0, left = compressed;
    int status = Z_OK;
    while (status != Z_STREAM_END && left > 0) {
        in.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(std::min<std::uint64_t>(input.size(), left)));
        const auto got = static_cast<std::uint64_t>(in.gcount());
        if (got == 0) break;
        left -= got;
        z.next_in = input.data();
        z.avail_in = static_cast<uInt>(got);
        do {
            z.next_out = output.data();
            z.avail_out = static_cast<uInt>(output.size());
            status = inflate(&z, Z_NO_FLUSH);
            if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
                const std::string why = z.msg ? z.msg : "error";
                inflateEnd(&z);
                throw InputError("compressed pixel data is corrupt (zlib: " + why + ")");
            }
            total += output.size() - z.avail_out;
        } while (z.avail_in > 0 && status != Z_STREAM_END);
    }
    inflateEnd(&z);
    if (status != Z_STREAM_END) throw InputError("compressed pixel data is truncated (the stream ends early)");
    return total;
}

// The data file and the offset its data starts at.
struct DataPlace {
    fs::path file;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
};

DataPlace place(const fs::path& header, const Header& h, const std::string& name, bool attached) {
    DataPlace p{attached ? header : header.parent_path() / name, attached ? h.end : 0, 0};
    std::error_code ec;
    p.size = static_cast<std::uint64_t>(fs::file_size(p.file, ec));
    if (ec) throw InputError("pixel data file " + one_line(path_text(p.file)) + ": " + ec.message());
    if (p.offset > p.size) throw InputError("pixel data is missing (the file ends inside the header)");
    return p;
}

void check_data(const DataPlace& p, bool compressed, std::uint64_t needed) {
    if (!compressed) {
        if (p.size - p.offset < needed) {
            throw InputError("pixel data is truncated (" + std::to_string(p.size - p.offset) + " of " + std::to_string(needed) +
                             " bytes present)");
        }
        return;
    }
    std::ifstream in(p.file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(p.offset));
    if (!in) throw InputError("cannot read pixel data of " + one_line(path_text(p.file)));
    const std::uint64_t total = inflate_to_end(in, p.size - p.offset);
    if (total < needed) {
        throw InputError("compressed pixel data is truncated (" + std::to_string(total) + " of " + std::to_string(needed) +
                         " bytes decompress)");
    }
}

}  // namespace

void check_metaimage_data(const fs::path& header_path, std::uint64_t needed) {
    const Header h = read_header(header_path, false);
    const std::string data = h.fields.at("ElementDataFile");
    const bool attached = lower(data) == "local";
    if (!attached && (lower(data).rfind("list", 0) == 0 || data.find('%') != std::string::npos)) {
        throw InputError("ElementDataFile '" + one_line(data) + "' (a list or pattern of files) is not supported");
    }
    DataPlace p = place(header_path, h, data, attached);
    const auto compressed = h.fields.find("CompressedData");
    const bool is_compressed = compressed != h.fields.end() && lower(compressed->second) == "true";
    const auto header_size = h.fields.find("HeaderSize");
    if (!is_compressed && header_size != h.fields.end() && header_size->second == "-1") {
        p.offset = p.size >= needed ? p.size - needed : 0;  // MetaIO: the data is the file's last `needed` bytes
    }
    check_data(p, is_compressed, needed);
}

void check_nrrd_data(const fs::path& header_path, std::uint64_t needed) {
    const Header h = read_header(header_path, true);
    auto field = [&](const char* key) {
        const auto it = h.fields.find(key);
        return it == h.fields.end() ? std::string() : it->second;
    };
    std::string data = field("data file");
    if (data.empty()) data = field("datafile");
    const std::string encoding = lower(field("encoding"));
    const bool gzip = encoding == "gzip" || encoding == "gz";
    if (encoding != "raw" && !gzip) return;  // text, hex and bzip2 are left to teem's own checks
    DataPlace p = place(header_path, h, data, data.empty());
    const std::string skip = field("byte skip").empty() ? field("byteskip") : field("byte skip");
    if (!skip.empty() && skip != "0") {
        if (skip == "-1" && !gzip) {
            p.offset = p.size >= needed ? p.size - needed : 0;  // the data is the file's last bytes
        } else {
            char* end = nullptr;
            const long long v = std::strtoll(skip.c_str(), &end, 10);
            if (*end != '\0' || v < 0) throw InputError("NRRD 'byte skip: " + one_line(skip) + "' is not supported");
            if (!gzip) p.offset += static_cast<std::uint64_t>(v);
            if (p.offset > p.size) throw InputError("NRRD 'byte skip' runs past the end of the data file");
        }
    }
    check_data(p, gzip, needed);
}

void check_detached_data(const std::string& path_text_arg, const std::string& root) {
    const fs::path path(path_text_arg);
    const std::string ext = extension_of(path);
    const bool nrrd = ext == ".nrrd" || ext == ".nhdr";
    if (!nrrd && ext != ".mha" && ext != ".mhd") return;
    const Header h = read_header(path, nrrd);
    auto field = [&](const char* key) {
        const auto it = h.fields.find(key);
        return it == h.fields.end() ? std::string() : it->second;
    };
    const std::string name = nrrd ? (field("data file").empty() ? field("datafile") : field("data file")) : field("ElementDataFile");
    if (name.empty() || (!nrrd && lower(name) == "local")) return;  // attached data
    const std::string quoted = one_line(name);  // a name may hold a CR; messages are one line
    if (name.find('%') != std::string::npos || lower(name).rfind("list", 0) == 0) {
        throw InputError("the header names a list or pattern of data files ('" + quoted + "'), which is not supported");
    }
    const fs::path data = fs::path(name).is_absolute() ? fs::path(name) : path.parent_path() / name;
    if (!path_within(resolved_path(data), resolved_path(root))) {
        throw InputError("the header names data file '" + quoted + "', outside the input " + root + "; not read");
    }
    std::error_code ec;
    if (!fs::is_regular_file(data, ec)) throw InputError("the header names data file '" + quoted + "', which is not a regular file");
}

}  // namespace lessmore
