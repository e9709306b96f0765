#include "io/detached_data.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

std::string trimmed(const std::string& s) {
    const auto a = s.find_first_not_of(" \t\r");
    const auto b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The value of the header field naming the data file, if the header has one. NRRD:
// "data file: X" (or "datafile:"), up to the blank line ending the header; MetaImage:
// "ElementDataFile = X", its last field.
std::optional<std::string> data_file_field(const fs::path& path, bool nrrd) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("cannot open: " + errno_text(errno));
    std::string line;
    std::size_t read = 0;
    while (std::getline(in, line) && read < (std::size_t{1} << 20)) {
        read += line.size() + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (nrrd) {
            if (line.empty()) break;  // the data follows
            const auto colon = line.find(':');
            if (colon == std::string::npos || line[0] == '#') continue;
            const std::string key = lower(trimmed(line.substr(0, colon)));
            if (key == "data file" || key == "datafile") return trimmed(line.substr(colon + (line[colon + 1] == '=' ? 2 : 1)));
        } else {
            const auto eq = line.find('=');
            if (eq == std::string::npos) continue;
            if (trimmed(line.substr(0, eq)) == "ElementDataFile") return trimmed(line.substr(eq + 1));
        }
    }
    return std::nullopt;
}

}  // namespace

void check_detached_data(const std::string& path_text_arg, const std::string& root) {
    const fs::path path(path_text_arg);
    const std::string ext = extension_of(path);
    const bool nrrd = ext == ".nrrd" || ext == ".nhdr";
    if (!nrrd && ext != ".mha" && ext != ".mhd") return;
    const auto field = data_file_field(path, nrrd);
    if (!field) return;  // attached data
    const std::string& name = *field;
    if (!nrrd && lower(name) == "local") return;
    if (name.empty()) throw InputError("the header names an empty data file");
    if (name.find('%') != std::string::npos || lower(name).rfind("list", 0) == 0) {
        throw InputError("the header names a list or pattern of data files ('" + name + "'), which is not supported");
    }
    const fs::path data = fs::path(name).is_absolute() ? fs::path(name) : path.parent_path() / name;
    if (!path_within(resolved_path(data), resolved_path(root))) {
        throw InputError("the header names data file '" + name + "', outside the input " + root + "; not read");
    }
    std::error_code ec;
    if (!fs::is_regular_file(data, ec)) throw InputError("the header names data file '" + name + "', which is not a regular file");
}

}  // namespace lessmore
