#include "io/metaimage_check.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include <itk_zlib.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

struct Header {
    std::map<std::string, std::string> fields;
    std::uint64_t end = 0;  // offset of the first byte after the ElementDataFile line
};

std::string trimmed(const std::string& s) {
    const auto a = s.find_first_not_of(" \t\r");
    const auto b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// MetaIO's header: "Key = Value" lines, ElementDataFile last.
Header read_header(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("cannot open: " + errno_text(errno));
    Header h;
    std::string line;
    while (std::getline(in, line)) {
        h.end += line.size() + 1;
        if (h.end > (std::uint64_t{1} << 20)) break;
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = trimmed(line.substr(0, eq));
        h.fields[key] = trimmed(line.substr(eq + 1));
        if (key == "ElementDataFile") return h;
    }
    throw InputError("not a MetaImage header (no ElementDataFile line)");
}

std::uint64_t inflated_size(std::ifstream& in, std::uint64_t compressed, std::uint64_t needed) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 32) != Z_OK) throw InputError("cannot start zlib");  // zlib or gzip header
    std::vector<unsigned char> input(1 << 16), output(1 << 16);
    std::uint64_t total = 0, left = compressed;
    int status = Z_OK;
    while (status != Z_STREAM_END && left > 0 && total < needed) {
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
                inflateEnd(&z);
                throw InputError("compressed pixel data is corrupt (zlib: " + std::string(z.msg ? z.msg : "error") + ")");
            }
            total += output.size() - z.avail_out;
        } while (z.avail_in > 0 && status != Z_STREAM_END && total < needed);
    }
    inflateEnd(&z);
    return total;
}

}  // namespace

void check_metaimage_data(const fs::path& header_path, std::uint64_t needed) {
    const Header h = read_header(header_path);
    const std::string data = h.fields.at("ElementDataFile");
    fs::path data_path = header_path;
    std::uint64_t offset = h.end;
    if (data != "LOCAL" && data != "Local" && data != "local") {
        if (data.rfind("LIST", 0) == 0 || data.find('%') != std::string::npos) {
            throw InputError("ElementDataFile '" + data + "' (a list or pattern of files) is not supported");
        }
        data_path = header_path.parent_path() / data;
        offset = 0;
    }
    std::error_code ec;
    const auto size = static_cast<std::uint64_t>(fs::file_size(data_path, ec));
    if (ec) throw InputError("pixel data file " + path_text(data_path) + ": " + ec.message());
    if (offset > size) throw InputError("pixel data is missing (the file ends inside the header)");
    const auto compressed = h.fields.find("CompressedData");
    const bool is_compressed = compressed != h.fields.end() && (compressed->second == "True" || compressed->second == "true");
    if (!is_compressed) {
        const auto header_size = h.fields.find("HeaderSize");
        if (header_size != h.fields.end() && header_size->second == "-1") offset = size >= needed ? size - needed : 0;
        if (size - offset < needed) {
            throw InputError("pixel data is truncated (" + std::to_string(size - offset) + " of " + std::to_string(needed) +
                             " bytes present)");
        }
        return;
    }
    std::ifstream in(data_path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in) throw InputError("cannot read pixel data of " + path_text(data_path));
    // MetaIO reads as much as it needs; a stream that gives less is refused.
    const std::uint64_t total = inflated_size(in, size - offset, needed);
    if (total < needed) {
        throw InputError("compressed pixel data is truncated (" + std::to_string(total) + " of " + std::to_string(needed) +
                         " bytes decompress)");
    }
}

}  // namespace lessmore
