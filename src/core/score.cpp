#include <lessmore/error.hpp>
#include <lessmore/score.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/writers.hpp>

#include "core/features.hpp"
#include "io/files.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

std::optional<std::size_t> parse_index(const std::string& text, const std::string& whole) {
    if (text.empty()) return std::nullopt;
    std::size_t used = 0;
    unsigned long long v = 0;
    try {
        v = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text[0] == '-') {
        throw UsageError("--range: '" + whole + "' is not A:B with slice indices (e.g. 0:100)");
    }
    return static_cast<std::size_t>(v);
}

}  // namespace

std::pair<std::optional<std::size_t>, std::optional<std::size_t>> parse_range(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) throw UsageError("--range: '" + text + "' is not A:B (e.g. 0:100)");
    return {parse_index(text.substr(0, colon), text), parse_index(text.substr(colon + 1), text)};
}

ScoreResult score(const ScoreConfig& config, const std::pair<std::optional<std::size_t>, std::optional<std::size_t>>& range,
                  ProgressSink& progress, const CancelToken& cancel) {
    const auto start = std::chrono::steady_clock::now();
    const std::string ext = extension_of(config.output);
    if (ext != ".npy" && ext != ".csv") throw UsageError("-o " + config.output + ": must end in .npy or .csv");
    if (fs::exists(config.output) && !config.force) {
        throw UsageError("-o " + config.output + ": exists (use --force to replace it)");
    }
    if (config.metric.method == "everyn") throw UsageError("--method: everyn has no scores (use hash, ssim or mi)");
    const auto metric = make_metric(config.metric);

    const Discovery found = discover({config.input});
    for (const InputFailure& w : found.warnings) progress.warning(w.path, w.message);
    for (const InputFailure& e : found.errors) progress.warning(e.path, e.message);
    ThreadPool pool(config.threads);
    LoadOptions load;
    load.order = config.order;

    // Find the volume: the only one, or the one named by --volume (a DICOM folder's
    // series ids extend the folder's id with "#...").
    auto wanted = [&](const std::string& id) {
        return config.volume.empty() || id == config.volume || config.volume.rfind(id + "#", 0) == 0;
    };
    auto too_many = [&](const std::vector<std::string>& ids) {
        std::string list;
        for (std::size_t i = 0; i < ids.size() && i < 5; ++i) list += (i ? ", " : "") + ids[i];
        return UsageError(config.input + ": holds " + std::to_string(ids.size()) + " volumes (" + list +
                          (ids.size() > 5 ? ", ..." : "") + "); pick one with --volume ID");
    };
    if (config.volume.empty() && found.sources.size() > 1) {
        std::vector<std::string> source_ids;
        for (const Source& s : found.sources) source_ids.push_back(s.id);
        throw too_many(source_ids);
    }
    std::vector<std::string> ids;
    std::unique_ptr<Volume> volume;
    for (const Source& s : found.sources) {
        if (!wanted(s.id)) continue;
        for (LoadedVolume& lv : load_source(s, load, pool, cancel)) {
            ids.push_back(lv.id);
            if (!config.volume.empty() && lv.id != config.volume) continue;
            if (!lv.volume) throw InputError(lv.path + ": " + lv.error);
            if (!volume) volume = std::move(lv.volume);
        }
    }
    if (config.volume.empty() && ids.size() > 1) throw too_many(ids);
    if (!volume) {
        throw UsageError(config.input + ": " +
                         (config.volume.empty() ? std::string("no volume found") : "no volume with id '" + config.volume + "'"));
    }
    const std::size_t n = volume->slice_count();
    const std::size_t first = range.first.value_or(0);
    const std::size_t last = range.second.value_or(n);
    if (first >= last || last > n) {
        throw UsageError("--range: " + std::to_string(first) + ":" + std::to_string(last) + " is outside the volume's " +
                         std::to_string(n) + " slices");
    }

    ScoreResult result;
    result.info = volume->info();
    result.first = first;
    progress.volume_started(result.info.id, last - first);
    const auto features =
        prepare_features(*volume, first, last - first, *metric, config.intensity, pool, progress, cancel);
    volume.reset();
    result.matrix = score_matrix(features, *metric, pool, cancel, last - first, true);
    const std::string bytes = ext == ".npy" ? encode_npy_f64(result.matrix.values.data(), result.matrix.n, result.matrix.n)
                                            : score_csv(result);
    write_file_atomic(config.output, bytes, true);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

std::string score_csv(const ScoreResult& result) {
    const std::size_t n = result.matrix.n;
    std::string out = "slice";
    for (std::size_t j = 0; j < n; ++j) out += "," + std::to_string(result.first + j);
    out += '\n';
    for (std::size_t i = 0; i < n; ++i) {
        out += std::to_string(result.first + i);
        for (std::size_t j = 0; j < n; ++j) {
            const double v = result.matrix.at(i, j);
            out += ',';
            out += std::isnan(v) ? std::string("nan") : format_number(v);
        }
        out += '\n';
    }
    return out;
}

}  // namespace lessmore
