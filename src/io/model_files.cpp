#include "io/model_files.hpp"
#include "io/feature_files.hpp"
#include "io/model_runtimes.hpp"

#include <lessmore/error.hpp>
#include <lessmore/files.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

std::string read_whole(const fs::path& p, const std::string& option) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) throw UsageError(option + " " + path_text(p) + ": no such file");
    // One read into a string of the file's size: models run to hundreds of MB, and a
    // stream buffer copied into a string costs twice the memory and ~0.5 s more.
    std::ifstream in(p, std::ios::binary | std::ios::ate);
    if (!in) throw UsageError(option + " " + path_text(p) + ": cannot read");
    const std::streamoff size = in.tellg();
    std::string bytes(static_cast<std::size_t>(std::max<std::streamoff>(size, 0)), '\0');
    in.seekg(0);
    if (size < 0 || !in.read(bytes.data(), size)) throw UsageError(option + " " + path_text(p) + ": cannot read");
    return bytes;
}

}  // namespace

ModelFiles read_model_files(const std::string& model_path) {
    ModelFiles files;
    files.model_bytes = read_whole(model_path, "--model");
    if (!is_torchscript(files.model_bytes)) files.runnable_bytes = normalise_onnx(files.model_bytes, model_path);
    fs::path sidecar = model_path;
    sidecar.replace_extension(".json");
    std::error_code ec;
    if (fs::is_regular_file(sidecar, ec)) {
        files.sidecar_path = path_text(sidecar);
        files.sidecar_text = read_whole(sidecar, "sidecar");
    }
    return files;
}

void open_model(ModelOptions& options) {
    if (!options.features_dir.empty()) {
        if (options.feature_rows) return;
        auto dir = std::make_shared<const FeatureDir>(open_feature_dir(options.features_dir));
        if (options.feature_size && *options.feature_size != dir->dimension) {
            throw UsageError("--features " + options.features_dir + ": embeddings of " +
                             std::to_string(dir->dimension) + " values, but this run's have " +
                             std::to_string(*options.feature_size));
        }
        options.feature_size = dir->dimension;
        options.feature_rows = [dir, unit = options.feature_unit](const std::string& id, std::size_t rows) {
            return read_volume_features(*dir, id, rows, unit);
        };
        return;
    }
    if (options.path.empty()) return;
    if (!options.files) options.files = read_model_files(options.path);
    if (!options.runner && is_torchscript(options.files->model_bytes)) {
        options.runner = load_torchscript(options.files->model_bytes, options.path);
    }
}

}  // namespace lessmore
