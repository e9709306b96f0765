// Feature files: DIR/index.csv and one .npy per volume. The .npy header is parsed by hand
// (format 1.0/2.0/3.0, a Python dict literal of three keys): no Debian C++ library reads it,
// and the writer beside it (npy_writer.cpp) is hand-written for the same reason.
#include "io/feature_files.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/half_float.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/sha256.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

const char* const k_index = "index.csv";

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string csv_quote(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
}

// The CSV's records (quoted fields may hold line breaks); nullopt-like failure as false.
bool parse_csv(const std::string& text, std::vector<std::vector<std::string>>& rows) {
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (quoted) {
            if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (ch == '"') {
                quoted = false;
            } else {
                field += ch;
            }
            continue;
        }
        if (ch == '"' && field.empty()) {
            quoted = any = true;
        } else if (ch == ',') {
            row.push_back(std::move(field));
            field.clear();
            any = true;
        } else if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            if (any || !field.empty()) {
                row.push_back(std::move(field));
                rows.push_back(std::move(row));
            }
            row.clear();
            field.clear();
            any = false;
        } else {
            field += ch;
            any = true;
        }
    }
    if (quoted) return false;
    if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
    }
    return true;
}

struct NpyArray {
    bool half = false;  // float16, else float32
    std::size_t rows = 0, cols = 0;
    std::size_t data_offset = 0;
};

// The header of a 2-D little-endian float32/float16 C-order .npy; throws InputError naming
// `where` otherwise.
NpyArray parse_npy_header(std::istream& in, const std::string& where) {
    char magic[8];
    if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw InputError(where + ": not a .npy file");
    const int major = static_cast<unsigned char>(magic[6]);
    std::size_t len = 0;
    if (major == 1) {
        unsigned char b[2];
        if (!in.read(reinterpret_cast<char*>(b), 2)) throw InputError(where + ": truncated .npy header");
        len = b[0] | (std::size_t{b[1]} << 8);
    } else if (major == 2 || major == 3) {
        unsigned char b[4];
        if (!in.read(reinterpret_cast<char*>(b), 4)) throw InputError(where + ": truncated .npy header");
        len = b[0] | (std::size_t{b[1]} << 8) | (std::size_t{b[2]} << 16) | (std::size_t{b[3]} << 24);
        if (len > (1u << 20)) throw InputError(where + ": .npy header too long");
    } else {
        throw InputError(where + ": unknown .npy version " + std::to_string(major));
    }
    std::string header(len, '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(len))) throw InputError(where + ": truncated .npy header");
    NpyArray a;
    a.data_offset = (major == 1 ? 10 : 12) + len;
    auto value_of = [&](const std::string& key) {
        const std::size_t k = header.find("'" + key + "'");
        if (k == std::string::npos) throw InputError(where + ": .npy header has no '" + key + "'");
        const std::size_t colon = header.find(':', k);
        return colon == std::string::npos ? std::string() : header.substr(colon + 1);
    };
    const std::string descr = value_of("descr");
    if (descr.find("'<f4'") != std::string::npos) {
        a.half = false;
    } else if (descr.find("'<f2'") != std::string::npos) {
        a.half = true;
    } else {
        throw InputError(where + ": features must be float32 or float16 (<f4, <f2); the .npy holds " +
                         descr.substr(0, descr.find(',')));
    }
    const std::string order = value_of("fortran_order");
    if (order.compare(order.find_first_not_of(' ') == std::string::npos ? 0 : order.find_first_not_of(' '), 5,
                      "False") != 0) {
        throw InputError(where + ": features must be in C order (fortran_order False)");
    }
    std::string shape = value_of("shape");
    const std::size_t open = shape.find('('), close = shape.find(')');
    if (open == std::string::npos || close == std::string::npos) throw InputError(where + ": .npy shape unreadable");
    std::vector<std::size_t> dims;
    std::stringstream s(shape.substr(open + 1, close - open - 1));
    std::string part;
    while (std::getline(s, part, ',')) {
        part.erase(std::remove(part.begin(), part.end(), ' '), part.end());
        if (part.empty()) continue;
        if (part.find_first_not_of("0123456789") != std::string::npos || part.size() > 12) {
            throw InputError(where + ": .npy shape unreadable");
        }
        dims.push_back(std::stoull(part));
    }
    if (dims.size() != 2) {
        throw InputError(where + ": features must be a 2-D array (slices x dimension); the .npy has " +
                         std::to_string(dims.size()) + " dimension" + (dims.size() == 1 ? "" : "s"));
    }
    a.rows = dims[0];
    a.cols = dims[1];
    return a;
}

std::string index_path_text(const std::string& dir) { return path_text(fs::path(dir) / k_index); }

}  // namespace

std::string feature_file_name(const std::string& id) {
    std::string name = id;
    std::replace(name.begin(), name.end(), '/', '+');
    // A file name holds at most 255 bytes: a long id keeps its start and a hash of the whole.
    if (name.size() > 200) {
        std::size_t cut = 180;
        while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
        name = name.substr(0, cut) + "~" + sha256_hex(id.data(), id.size()).substr(0, 16);
    }
    return name + ".npy";
}

FeatureDir open_feature_dir(const std::string& dir) {
    const fs::path index = fs::path(dir) / k_index;
    const std::string where = "--features " + index_path_text(dir);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw UsageError("--features " + dir + ": no such folder");
    if (!fs::is_regular_file(index, ec)) {
        throw UsageError(
            where + ": no index (a features folder holds index.csv with volume,file,slices and one .npy per volume)");
    }
    std::ifstream in(index, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::vector<std::string>> rows;
    if (!parse_csv(text.str(), rows)) throw UsageError(where + ": a quoted field is not closed");
    if (rows.empty() || rows[0].size() < 2 || rows[0][0] != "volume" || rows[0][1] != "file") {
        throw UsageError(where + ": the first row must be the header volume,file,slices");
    }
    FeatureDir out;
    out.dir = dir;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const auto& row = rows[r];
        const std::string at = where + " row " + std::to_string(r + 1);
        if (row.size() < 2 || row[0].empty()) throw UsageError(at + ": needs a volume id and a file");
        const std::string expected = feature_file_name(row[0]);
        if (row[1] != expected) {
            throw UsageError(at + ": volume '" + row[0] + "' has its features in '" + expected + "', not '" + row[1] +
                             "'");
        }
        if (!out.files.emplace(row[0], row[1]).second)
            throw UsageError(at + ": volume '" + row[0] + "' is listed twice");
    }
    if (out.files.empty()) throw UsageError(where + ": lists no volume");
    // The dimension: the one most readable files have.
    std::map<std::size_t, std::size_t> widths;
    std::size_t first_width = 0;
    for (const auto& [id, file] : out.files) {
        std::ifstream f(fs::path(dir) / file, std::ios::binary);
        if (!f) continue;
        try {
            const std::size_t w = parse_npy_header(f, file).cols;
            if (w == 0) continue;
            if (widths.empty()) first_width = w;
            ++widths[w];
        } catch (const InputError&) {}
    }
    if (widths.empty())
        throw UsageError(where + ": none of the " + std::to_string(out.files.size()) +
                         " files it lists is a readable 2-D float32/float16 .npy");
    out.dimension = first_width;
    for (const auto& [w, count] : widths)
        if (count > widths[out.dimension]) out.dimension = w;
    return out;
}

std::vector<std::vector<float>> read_volume_features(const FeatureDir& dir, const std::string& id, std::size_t slices,
                                                     const std::string& unit) {
    const std::string row_of = unit.empty() ? "slice" : "unit";
    const auto it = dir.files.find(id);
    if (it == dir.files.end()) {
        throw InputError(index_path_text(dir.dir) + ": no row for volume '" + id + "' (its features are missing)");
    }
    const fs::path path = fs::path(dir.dir) / it->second;
    const std::string where = path_text(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(where + ": cannot read the features of volume '" + id + "'");
    const NpyArray a = parse_npy_header(in, where);
    if (a.rows != slices) {
        throw InputError(where + ": " + std::to_string(a.rows) + " rows, but volume '" + id + "' has " +
                         std::to_string(slices) + " " + row_of + "s" +
                         (unit.empty() ? " (one row per slice, in lessmore's slice order)"
                                       : " of --unit " + unit + " (one row per unit, in the manifest's unit order)"));
    }
    if (a.cols != dir.dimension) {
        throw InputError(where + ": rows of " + std::to_string(a.cols) + " values, but the features in " + dir.dir +
                         " have " + std::to_string(dir.dimension));
    }
    const std::size_t elem = a.half ? 2 : 4;
    std::string data(a.rows * a.cols * elem, '\0');
    if (!in.read(data.data(), static_cast<std::streamsize>(data.size())))
        throw InputError(where + ": truncated (fewer values than its shape)");
    std::vector<std::vector<float>> rows(a.rows);
    for (std::size_t r = 0; r < a.rows; ++r) {
        rows[r].resize(a.cols);
        const char* row = data.data() + r * a.cols * elem;
        if (a.half) {
            for (std::size_t c = 0; c < a.cols; ++c) {
                std::uint16_t bits = 0;
                std::memcpy(&bits, row + c * 2, 2);
                rows[r][c] = half_to_float(bits);
            }
        } else {
            std::memcpy(rows[r].data(), row, a.cols * 4);
        }
        const float* p = rows[r].data();
        for (std::size_t c = 0; c < a.cols; ++c)
            if (!std::isfinite(p[c])) {
                throw InputError(where + ": row " + std::to_string(r) + " (" + row_of + " " + std::to_string(r) +
                                 "), value " + std::to_string(c) + " is not finite");
            }
    }
    return rows;
}

void write_volume_features(const std::string& dir, const std::string& id, const std::vector<std::vector<float>>& rows) {
    const std::size_t cols = rows.empty() ? 0 : rows.front().size();
    std::vector<float> flat;
    flat.reserve(rows.size() * cols);
    for (const auto& r : rows) {
        if (r.size() != cols) throw std::logic_error("write_volume_features: rows of different lengths");
        flat.insert(flat.end(), r.begin(), r.end());
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error("--save-features " + dir + ": cannot create: " + ec.message());
    write_file_atomic(fs::path(dir) / feature_file_name(id), encode_npy_f32(flat.data(), rows.size(), cols));
}

void write_feature_index(const std::string& dir, std::vector<std::pair<std::string, std::size_t>> volumes) {
    std::sort(volumes.begin(), volumes.end());
    std::string text = "volume,file,slices\n";
    for (const auto& [id, slices] : volumes)
        text += csv_quote(id) + "," + csv_quote(feature_file_name(id)) + "," + std::to_string(slices) + "\n";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error("--save-features " + dir + ": cannot create: " + ec.message());
    write_file_atomic(fs::path(dir) / k_index, text);
}

}  // namespace lessmore
