// `lessmore score`: the pairwise score matrix of one volume.
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/npy_writer.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/score.hpp>
#include <lessmore/thread_pool.hpp>

#include "pipeline/features.hpp"
#include "pipeline/metric_loader.hpp"
#include "pipeline/slice_window.hpp"
#include "pipeline/unit_scorers.hpp"
#include "pipeline/volume_walk.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

UsageError too_many(const std::string& input, const std::vector<std::string>& ids) {
    std::string list;
    for (std::size_t i = 0; i < ids.size() && i < 5; ++i) list += (i ? ", " : "") + ids[i];
    return UsageError(input + ": holds " + std::to_string(ids.size()) + " volumes (" + list +
                      (ids.size() > 5 ? ", ..." : "") + "); pick one with --volume ID");
}

// The source holding the volume to score: the only one, or the one whose id is --volume
// or a prefix of it (a DICOM folder's series ids extend the folder's id with "#...").
// Its volumes' ids come from their headers.
const Source& pick_source(const ScoreConfig& c, const WalkPlan& plan, const VolumeWalk& headers) {
    std::vector<const Source*> candidates;
    for (const Source& s : plan.sources) {
        if (c.volume.empty() || s.id == c.volume || c.volume.rfind(s.id + "#", 0) == 0) candidates.push_back(&s);
    }
    if (c.volume.empty() && candidates.size() > 1) {
        std::vector<std::string> ids;
        for (const Source* s : candidates) ids.push_back(s->id);
        throw too_many(c.input, ids);
    }
    std::vector<std::vector<std::string>> ids(candidates.size());
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t k, Volume& v) { ids[k].push_back(v.info().id); };
    headers.run(candidates, visitor, true);
    for (std::size_t k = 0; k < candidates.size(); ++k) {
        std::sort(ids[k].begin(), ids[k].end());
        if (c.volume.empty() && ids[k].size() > 1) throw too_many(c.input, ids[k]);
        for (const std::string& id : ids[k])
            if (c.volume.empty() || id == c.volume) return *candidates[k];
    }
    throw UsageError(c.input + ": " +
                     (c.volume.empty() ? std::string("no volume found") : "no volume with id '" + c.volume + "'"));
}

// A unit matrix has units x units doubles: 16384 units are 2 GiB (reduce's pairs limit).
constexpr std::int64_t k_max_score_units = 16384;

// --unit: the volume's units (the grid reduce --unit lists, docs/methods.md, section "3-D
// units") scored pairwise by the unit metric reduce uses, the diagonal included.
ScoreMatrix unit_matrix(const ScoreConfig& c, const Metric& metric, const Volume& volume, ThreadPool& pool,
                        ProgressSink& progress, const CancelToken& cancel) {
    const VolumeInfo& info = volume.info();
    const std::array<int, 3> shape{static_cast<int>(info.slice_count()), info.height, info.width};
    const UnitSpec spec = resolve_unit_spec(c.unit, shape, info.spacing[2]);
    const std::string unit = "--unit " + c.unit.to_string();
    const std::int64_t listed = count_units(spec, shape)[0];
    if (listed > k_max_score_units) {
        throw InputError(info.id + ": " + unit + " gives " + std::to_string(listed) + " units, more than " +
                         std::to_string(k_max_score_units) + " for a score matrix (use larger units or strides)");
    }
    const UnitGrid grid = enumerate_units(spec, shape);
    if (grid.units.empty()) throw InputError(info.id + ": smaller than one unit (" + unit + ")");
    const std::size_t n = grid.units.size();
    SliceWindow window(volume, progress);
    const auto scorer = make_unit_scorer(c.metric, c.intensity, metric, spec, grid.units, window);
    window.hold(0, info.slice_count(), cancel);
    scorer->prepare(0, n, pool, cancel);
    ScoreMatrix m(n);
    pool.parallel_for(n, [&](std::size_t i) {
        cancel.check();
        for (std::size_t j = i; j < n; ++j) m.set(i, j, scorer->score(i, j));
    });
    return m;
}

}  // namespace

ScoreResult score(const ScoreConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    const auto start = std::chrono::steady_clock::now();
    const std::string ext = extension_of(config.output);
    if (ext != ".npy" && ext != ".csv") throw UsageError("-o " + config.output + ": must end in .npy or .csv");
    std::error_code ec;
    if (fs::exists(config.output, ec) && !config.force) {
        throw UsageError("-o " + config.output + ": exists (use --force to replace it)");
    }
    if (config.metric.method == "everyn")
        throw UsageError("--method: everyn has no scores (use hash, ssim, mi or deepnet)");
    const bool units = config.unit.kind != UnitSpec::Kind::Slice;
    if (units) {
        if (config.first || config.last)
            throw UsageError("--range: slices; with --unit " + config.unit.to_string() + " every unit is scored");
        check_unit_metric(config.unit, config.metric, config.order);
    }
    MetricOptions options = config.metric;
    if (units && !config.unit.size_mm) options.model.unit_depth = config.unit.size[0];
    const auto metric = load_metric(options);
    if (units) check_unit_model(config.unit, *metric);

    const WalkPlan plan = plan_walk({{config.input}, std::nullopt}, progress);
    ThreadPool pool(config.threads);
    LoadOptions load;
    load.order = config.order;
    load.include_localizers = config.include_localizers;
    NullProgress quiet;
    const Source& source = pick_source(config, plan, VolumeWalk(load, 0, pool, quiet, cancel));

    // Read the source; score the picked volume (checking the range before any scoring).
    ScoreResult result;
    bool found = false;
    std::vector<std::unique_ptr<Feature>> features;
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t, Volume& volume) {
        if (!config.volume.empty() && volume.info().id != config.volume) return;
        if (units) {  // a failure (no whole unit, too many) is the volume's, reported below
            progress.volume_started(volume.info().id, volume.slice_count());
            result.matrix = unit_matrix(config, *metric, volume, pool, progress, cancel);
            result.info = volume.info();
            result.units = true;
            found = true;
            return;
        }
        const std::size_t n = volume.slice_count();
        const std::size_t first = config.first.value_or(0);
        const std::size_t last = config.last.value_or(n);
        if (first >= last || last > n) {
            throw UsageError("--range: " + std::to_string(first) + ":" + std::to_string(last) +
                             " is outside the volume's " + std::to_string(n) + " slices");
        }
        found = true;
        result.info = volume.info();
        result.first = first;
        progress.volume_started(result.info.id, last - first);
        features = prepare_features(volume, first, last - first, *metric, config.intensity, pool, progress, cancel);
    };
    std::vector<InputFailure> failures;
    visitor.source_done = [&](std::size_t, SourceOutcome outcome) { failures = std::move(outcome.failures); };
    // Failures are thrown (once), not reported as they happen.
    VolumeWalk(load, 0, pool, quiet, cancel).run({&source}, visitor);
    if (!found)
        throw InputError(failures.empty() ? config.input + ": the volume could not be read"
                                          : failures.front().path + ": " + failures.front().message);
    if (!units) result.matrix = score_matrix(features, *metric, pool, cancel, features.size(), true);
    features.clear();

    const std::string bytes = ext == ".npy"
                                  ? encode_npy_f64(result.matrix.values.data(), result.matrix.n, result.matrix.n)
                                  : score_csv(result);
    write_file_atomic(config.output, bytes, true);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

std::string score_csv(const ScoreResult& result) {
    const std::size_t n = result.matrix.n;
    std::string out = result.units ? "unit" : "slice";
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
