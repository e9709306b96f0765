#include "io/model_files.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

std::string read_whole(const fs::path& p, const std::string& option) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) throw UsageError(option + " " + path_text(p) + ": no such file");
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    if (!in && !in.eof()) throw UsageError(option + " " + path_text(p) + ": cannot read");
    return s.str();
}

}  // namespace

ModelFiles read_model_files(const std::string& model_path) {
    ModelFiles files;
    files.model_bytes = read_whole(model_path, "--model");
    fs::path sidecar = model_path;
    sidecar.replace_extension(".json");
    std::error_code ec;
    if (fs::is_regular_file(sidecar, ec)) {
        files.sidecar_path = path_text(sidecar);
        files.sidecar_text = read_whole(sidecar, "sidecar");
    }
    return files;
}

}  // namespace lessmore
