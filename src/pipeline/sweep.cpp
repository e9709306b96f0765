// `lessmore sweep`: kept counts for many thresholds from one pass per volume.
#include <lessmore/error.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/sweep.hpp>
#include <lessmore/thread_pool.hpp>

#include "pipeline/features.hpp"
#include "pipeline/metric_loader.hpp"
#include "pipeline/run_record.hpp"
#include "pipeline/unit_reducer.hpp"
#include "pipeline/volume_walk.hpp"

#include <lessmore/number_format.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

namespace lessmore {
namespace {

// Kept count per threshold for one volume.
std::vector<std::size_t> sweep_volume(const Volume& volume, const SweepConfig& c, const Metric* metric,
                                      ThreadPool& pool, ProgressSink& progress, const CancelToken& cancel) {
    const std::size_t n = volume.slice_count();
    std::vector<std::size_t> kept;
    if (!metric) {  // everyn: thresholds are N
        progress.slices_done(n);
        for (double t : c.thresholds)
            kept.push_back(prune_every_n(n, static_cast<std::size_t>(std::max(1.0, std::round(t)))).kept_count());
        return kept;
    }
    const auto features = prepare_features(volume, 0, n, *metric, c.intensity, pool, progress, cancel);
    if (c.strategy == Strategy::Pairs) {
        const ScoreMatrix m = score_matrix(features, *metric, pool, cancel, c.neighbours.value_or(n), false);
        for (double t : c.thresholds) {
            PairsTarget target;
            target.threshold = t;
            kept.push_back(prune_pairs(m, metric->sense(), target).kept_count());
        }
        return kept;
    }
    // Leader: each threshold walks again, but a pair is scored at most once.
    std::vector<double> cache(n * n, std::numeric_limits<double>::quiet_NaN());
    std::vector<char> known(n * n, 0);
    LeaderOptions options;
    options.block = metric->cheap_compare() ? 1 : static_cast<std::size_t>(2 * pool.size());
    options.neighbours = c.neighbours;
    const ScoresAgainst scores = [&](std::size_t i, const std::vector<std::size_t>& cand, std::vector<double>& out) {
        cancel.check();
        std::vector<std::size_t> missing;
        for (std::size_t k = 0; k < cand.size(); ++k)
            if (!known[i * n + cand[k]]) missing.push_back(k);
        auto score_one = [&](std::size_t k) {
            const std::size_t j = cand[missing[k]];
            cache[i * n + j] = metric->compare(*features[i], *features[j]);
            known[i * n + j] = 1;
        };
        if (metric->cheap_compare() || missing.size() <= 1) {
            for (std::size_t k = 0; k < missing.size(); ++k) score_one(k);
        } else {
            pool.parallel_for(missing.size(), score_one);
        }
        for (std::size_t k = 0; k < cand.size(); ++k) out[k] = cache[i * n + cand[k]];
    };
    for (double t : c.thresholds) kept.push_back(prune_leader(n, scores, metric->sense(), t, options).kept_count());
    return kept;
}

// What reduce --unit would be given at threshold `t` (everyn: N), writing nothing.
ReduceConfig unit_reduce_config(const SweepConfig& c, double t) {
    ReduceConfig r;
    r.inputs = c.inputs;
    r.output = "<sweep>";
    r.metric = c.metric;
    if (c.metric.method == "everyn")
        r.every = static_cast<int>(std::max(1.0, std::round(t)));
    else
        r.threshold = t;
    if (c.metric.method != "everyn") r.strategy = c.strategy;  // everyn has none (reduce refuses one)
    r.neighbours = c.neighbours;
    r.order = c.order;
    r.include_localizers = c.include_localizers;
    r.intensity = c.intensity;
    r.unit = c.unit;
    r.format = OutputFormat::None;
    r.threads = c.threads;
    return r;
}

// A unit sweep: the unit reduction reduce runs (UnitReducer), once per threshold with
// nothing written, so each count is what reduce --unit keeps at that threshold. Unit
// features are not shared between thresholds (they live inside the reducer): a unit sweep
// costs one reduction per threshold. Returns the volume's unit count and kept counts.
std::pair<std::size_t, std::vector<std::size_t>> sweep_units(const Volume& volume,
                                                             const std::vector<ReduceConfig>& configs,
                                                             const Metric* metric, ThreadPool& pool,
                                                             ProgressSink& progress, const CancelToken& cancel) {
    NullProgress quiet;
    std::pair<std::size_t, std::vector<std::size_t>> out;
    for (const ReduceConfig& config : configs) {
        VolumeRecord record;
        record.info = volume.info();
        UnitReducer(config, metric, {}).run(volume, record, pool, quiet, cancel);
        out.first = record.units.size();
        out.second.push_back(record.kept);
    }
    progress.slices_done(volume.slice_count());
    return out;
}

}  // namespace

std::vector<double> threshold_range(double first, double last, double step) {
    if (!(step > 0) || !(last >= first)) throw UsageError("--thresholds: A:B:STEP needs A <= B and STEP > 0");
    const double steps = std::floor((last - first) / step + 1e-9);
    if (steps > 10000) throw UsageError("--thresholds: more than 10000 thresholds");
    std::vector<double> out;
    for (double k = 0; k <= steps; ++k) {
        // Rounded to the step's decimals so 0.9 + 3 * 0.01 prints (and compares) as 0.93.
        const double v = first + k * step;
        out.push_back(std::round(v * 1e9) / 1e9);
    }
    return out;
}

std::vector<double> default_thresholds(const std::string& method, int hash_size) {
    if (method == "hash") return threshold_range(0, hash_size * hash_size, 1);
    if (method == "ssim") return threshold_range(0.5, 1, 0.02);
    if (method == "mi") return threshold_range(1.1, 2, 0.02);
    if (method == "deepnet") return threshold_range(0.8, 1, 0.005);
    return threshold_range(1, 20, 1);  // everyn: N
}

SweepResult sweep(const SweepConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    SweepConfig c = config;
    const std::string& method = c.metric.method;
    if (c.inputs.empty()) throw UsageError("INPUT: give at least one volume file or folder");
    if (method == "everyn" && c.strategy == Strategy::Pairs)
        throw UsageError("--strategy: --method everyn has no strategy");
    const std::unique_ptr<Metric> metric = load_metric(c.metric);
    if (c.thresholds.empty()) c.thresholds = default_thresholds(method, c.metric.hash_size);
    if (metric) {
        for (double t : c.thresholds) metric->check_threshold(t);
    } else {
        for (double t : c.thresholds)
            if (t < 1) throw UsageError("--thresholds: for everyn they are N, each at least 1");
    }
    if (c.neighbours && *c.neighbours < 1) throw UsageError("--neighbours: must be at least 1");
    const bool units = c.unit.kind != UnitSpec::Kind::Slice;
    std::vector<ReduceConfig> unit_configs;
    if (units) {
        // Each threshold's reduction checked as reduce checks it (the unit rules included).
        for (double t : c.thresholds) {
            unit_configs.push_back(unit_reduce_config(c, t));
            validate(unit_configs.back());
        }
    }

    const WalkPlan plan = plan_walk({c.inputs, std::nullopt}, progress);
    ThreadPool pool(c.threads);
    LoadOptions load;
    load.order = c.order;
    load.include_localizers = c.include_localizers;
    load.decoder_program = c.decoder_program;
    SweepResult result;
    result.method = method;
    result.strategy = method == "everyn" ? "everyn" : strategy_name(c.strategy);
    result.errors = plan.errors;
    result.unit = c.unit.to_string();
    for (double t : c.thresholds) result.rows.push_back({t, 0, 0, {}});
    // Per volume id (so the totals never depend on which source finished first).
    std::map<std::string, std::pair<std::size_t, std::vector<std::size_t>>> counts;
    std::mutex mutex;
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t, Volume& volume) {
        const std::string id = volume.info().id;
        progress.volume_started(id, volume.slice_count());
        if (units) {
            try {
                auto entry = sweep_units(volume, unit_configs, metric.get(), pool, progress, cancel);
                std::lock_guard<std::mutex> lock(mutex);
                counts[id] = std::move(entry);
            } catch (const VolumeSkipped& e) {
                // As reduce --unit: listed as skipped, not a failure.
                std::lock_guard<std::mutex> lock(mutex);
                result.skipped.push_back({volume.info().source, e.what()});
            }
            return;
        }
        auto kept = sweep_volume(volume, c, metric.get(), pool, progress, cancel);
        std::lock_guard<std::mutex> lock(mutex);
        counts[id] = {volume.slice_count(), std::move(kept)};
    };
    visitor.source_done = [&](std::size_t, SourceOutcome outcome) {
        std::lock_guard<std::mutex> lock(mutex);
        result.errors.insert(result.errors.end(), outcome.failures.begin(), outcome.failures.end());
    };
    VolumeWalk(load, c.max_memory, pool, progress, cancel).run(all_sources(plan), visitor);
    for (const auto& [id, entry] : counts) {
        result.slices[id] = entry.first;
        for (std::size_t k = 0; k < entry.second.size(); ++k) {
            result.rows[k].volumes[id] = entry.second[k];
            result.rows[k].kept += entry.second[k];
            result.rows[k].slices += entry.first;
        }
    }
    const auto by_path = [](const InputFailure& a, const InputFailure& b) {
        return a.path != b.path ? a.path < b.path : a.message < b.message;
    };
    std::sort(result.errors.begin(), result.errors.end(), by_path);
    std::sort(result.skipped.begin(), result.skipped.end(), by_path);
    return result;
}

std::string sweep_json(const SweepResult& r) {
    OrderedJson j;
    j["method"] = r.method;
    j["strategy"] = r.strategy;
    if (r.unit != "slice") j["unit"] = r.unit;  // then "slices" below count units
    j["thresholds"] = OrderedJson::array();
    for (const SweepRow& row : r.rows) {
        OrderedJson t;
        t["threshold"] = row.threshold;
        t["slices"] = row.slices;
        t["kept"] = row.kept;
        t["volumes"] = row.volumes;
        j["thresholds"].push_back(std::move(t));
    }
    j["errors"] = to_json(r.errors);
    if (r.unit != "slice") j["skipped"] = skipped_json(r.skipped);
    return dump_json(j) + "\n";
}

std::string sweep_csv(const SweepResult& r) {
    std::string out = "threshold,volume,slices,kept,fraction\n";
    for (const SweepRow& row : r.rows) {
        for (const auto& [id, kept] : row.volumes) {
            const std::size_t n = r.slices.at(id);
            out += format_number(row.threshold) + "," + csv_field(id) + "," + std::to_string(n) + "," +
                   std::to_string(kept) + "," + format_number(n ? static_cast<double>(kept) / n : 0.0) + "\n";
        }
        out += format_number(row.threshold) + ",(all)," + std::to_string(row.slices) + "," + std::to_string(row.kept) +
               "," + format_number(row.slices ? static_cast<double>(row.kept) / row.slices : 0.0) + "\n";
    }
    return out;
}

}  // namespace lessmore
