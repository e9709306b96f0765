// `lessmore sweep`: kept counts for many thresholds from one pass per volume.
#include <lessmore/error.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/sweep.hpp>
#include <lessmore/thread_pool.hpp>

#include "core/features.hpp"
#include "core/output_store.hpp"
#include "core/parse_number.hpp"
#include "io/image_codec.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <limits>
#include <sstream>

namespace lessmore {
namespace {

double parse_number(const std::string& text, const std::string& whole) {
    const auto v = parse_finite_number(text);
    if (!v) throw UsageError("--thresholds: '" + whole + "' is not a list (0.9,0.95) or a range A:B:STEP (0:12:1)");
    return *v;
}

// Kept count per threshold for one volume.
std::vector<std::size_t> sweep_volume(const Volume& volume, const SweepConfig& c, const Metric* metric, ThreadPool& pool,
                                      ProgressSink& progress, const CancelToken& cancel) {
    const std::size_t n = volume.slice_count();
    std::vector<std::size_t> kept;
    if (!metric) {  // everyn: thresholds are N
        progress.slices_done(n);
        for (double t : c.thresholds) kept.push_back(prune_every_n(n, static_cast<std::size_t>(std::max(1.0, std::round(t)))).kept_count());
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

}  // namespace

std::vector<double> parse_thresholds(const std::string& text) {
    std::vector<double> out;
    if (text.find(':') != std::string::npos) {
        std::vector<double> parts;
        std::stringstream ss(text);
        for (std::string part; std::getline(ss, part, ':');) parts.push_back(parse_number(part, text));
        if (parts.size() != 3 || !(parts[2] > 0) || parts[1] < parts[0]) {
            throw UsageError("--thresholds: '" + text + "' is not A:B:STEP with A <= B and STEP > 0");
        }
        const double steps = std::floor((parts[1] - parts[0]) / parts[2] + 1e-9);
        if (steps > 10000) throw UsageError("--thresholds: '" + text + "' gives more than 10000 thresholds");
        for (double k = 0; k <= steps; ++k) {
            // Rounded to the step's decimals so 0.9 + 3 * 0.01 prints (and compares) as 0.93.
            const double v = parts[0] + k * parts[2];
            out.push_back(std::round(v * 1e9) / 1e9);
        }
    } else {
        std::stringstream ss(text);
        for (std::string part; std::getline(ss, part, ',');) out.push_back(parse_number(part, text));
    }
    if (out.empty()) throw UsageError("--thresholds: empty");
    return out;
}

std::vector<double> default_thresholds(const std::string& method, int hash_size) {
    if (method == "hash") return parse_thresholds("0:" + std::to_string(hash_size * hash_size) + ":1");
    if (method == "ssim") return parse_thresholds("0.5:1:0.02");
    if (method == "mi") return parse_thresholds("1.1:2:0.02");
    if (method == "deepnet") return parse_thresholds("0.8:1:0.005");
    return parse_thresholds("1:20:1");  // everyn: N
}

SweepResult sweep(const SweepConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    SweepConfig c = config;
    if (c.inputs.empty()) throw UsageError("INPUT: give at least one volume file or folder");
    std::unique_ptr<Metric> metric;
    if (c.method != "everyn") {
        MetricOptions options = c.metric;
        options.method = c.method;
        metric = make_metric(options);
    } else if (c.strategy == Strategy::Pairs) {
        throw UsageError("--strategy: --method everyn has no strategy");
    }
    if (c.thresholds.empty()) c.thresholds = default_thresholds(c.method, c.metric.hash_size);
    if (metric) {
        for (double t : c.thresholds) metric->check_threshold(t);
    } else {
        for (double t : c.thresholds)
            if (t < 1) throw UsageError("--thresholds: for everyn they are N, each at least 1");
    }
    if (c.neighbours && *c.neighbours < 1) throw UsageError("--neighbours: must be at least 1");

    const Discovery found = discover(c.inputs);
    ThreadPool pool(c.threads);
    LoadOptions load;
    load.order = c.order;
    SweepResult result;
    result.method = c.method;
    result.strategy = c.method == "everyn" ? "everyn" : strategy_name(c.strategy);
    result.errors = found.errors;
    for (double t : c.thresholds) result.rows.push_back({t, 0, 0, {}});
    std::size_t estimated = 0;
    for (const Source& s : found.sources) estimated += s.files.size();
    progress.sources_found(found.sources.size(), estimated);
    for (const Source& source : found.sources) {
        for (LoadedVolume& lv : load_source(source, load, pool, cancel)) {
            if (!lv.volume || lv.volume->slice_count() == 0) {
                const std::string message = lv.volume ? "volume has no slices" : lv.error;
                result.errors.push_back({lv.path, message});
                progress.volume_failed(lv.path, message);
                continue;
            }
            try {
                const std::string id = lv.volume->info().id;
                progress.volume_started(id, lv.volume->slice_count());
                const auto kept = sweep_volume(*lv.volume, c, metric.get(), pool, progress, cancel);
                result.slices[id] = lv.volume->slice_count();
                for (std::size_t k = 0; k < kept.size(); ++k) {
                    result.rows[k].volumes[id] = kept[k];
                    result.rows[k].kept += kept[k];
                    result.rows[k].slices += lv.volume->slice_count();
                }
            } catch (const InputError& e) {
                result.errors.push_back({lv.path, e.what()});
                progress.volume_failed(lv.path, e.what());
            }
        }
        progress.source_done();
    }
    if (found.sources.empty() && found.errors.empty()) {
        for (const std::string& input : c.inputs) result.errors.push_back({input, "no volumes found"});
    }
    return result;
}

std::string sweep_json(const SweepResult& r) {
    OrderedJson j;
    j["method"] = r.method;
    j["strategy"] = r.strategy;
    j["thresholds"] = OrderedJson::array();
    for (const SweepRow& row : r.rows) {
        OrderedJson t;
        t["threshold"] = row.threshold;
        t["slices"] = row.slices;
        t["kept"] = row.kept;
        t["volumes"] = row.volumes;
        j["thresholds"].push_back(std::move(t));
    }
    j["errors"] = errors_json(r.errors);
    return dump_json(j) + "\n";
}

std::string sweep_csv(const SweepResult& r) {
    std::string out = "threshold,volume,slices,kept,fraction\n";
    for (const SweepRow& row : r.rows) {
        for (const auto& [id, kept] : row.volumes) {
            const std::size_t n = r.slices.at(id);
            out += format_number(row.threshold) + "," + csv_field(id) + "," + std::to_string(n) + "," + std::to_string(kept) + "," +
                   format_number(n ? static_cast<double>(kept) / n : 0.0) + "\n";
        }
        out += format_number(row.threshold) + ",(all)," + std::to_string(row.slices) + "," + std::to_string(row.kept) + "," +
               format_number(row.slices ? static_cast<double>(row.kept) / row.slices : 0.0) + "\n";
    }
    return out;
}

std::string sweep_plot_png(const SweepResult& r) {
    const int w = 1100, h = 700, left = 90, right = 260, top = 60, bottom = 80;
    cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
    const int pw = w - left - right, ph = h - top - bottom;
    double lo = r.rows.front().threshold, hi = r.rows.front().threshold;
    for (const SweepRow& row : r.rows) {
        lo = std::min(lo, row.threshold);
        hi = std::max(hi, row.threshold);
    }
    if (hi == lo) hi = lo + 1;
    auto px = [&](double t) { return left + static_cast<int>(std::lround((t - lo) / (hi - lo) * pw)); };
    auto py = [&](double f) { return top + static_cast<int>(std::lround((1.0 - f) * ph)); };
    const auto font = cv::FONT_HERSHEY_SIMPLEX;
    const cv::Scalar grid(225, 225, 225), ink(40, 40, 40);
    // Grid, ticks and tick labels.
    for (int k = 0; k <= 10; ++k) {
        const double f = k / 10.0;
        cv::line(img, {left, py(f)}, {left + pw, py(f)}, grid, 1);
        cv::putText(img, cv::format("%.1f", f), {left - 45, py(f) + 5}, font, 0.45, ink, 1, cv::LINE_AA);
    }
    // Threshold ticks at a "nice" step (1, 2 or 5 times a power of ten), about ten of them.
    const double raw = (hi - lo) / 10.0, mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
    for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + 1e-9; t += step) {
        cv::line(img, {px(t), top}, {px(t), top + ph}, grid, 1);
        const std::string text = format_number(std::round(t / step) * step == 0 ? 0.0 : std::round(t * 1e6) / 1e6);
        cv::putText(img, text, {px(t) - 4 * static_cast<int>(text.size()), top + ph + 22}, font, 0.45, ink, 1, cv::LINE_AA);
    }
    cv::rectangle(img, {left, top}, {left + pw, top + ph}, ink, 1);
    cv::putText(img, "threshold (" + r.method + ")", {left + pw / 2 - 80, h - 25}, font, 0.6, ink, 1, cv::LINE_AA);
    cv::Mat ylabel(30, 200, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(ylabel, "kept fraction", {10, 22}, font, 0.6, ink, 1, cv::LINE_AA);
    cv::rotate(ylabel, ylabel, cv::ROTATE_90_COUNTERCLOCKWISE);
    ylabel.copyTo(img(cv::Rect(8, top + ph / 2 - 100, 30, 200)));
    cv::putText(img, "Slices kept per threshold (" + r.strategy + ")", {left, 35}, font, 0.7, ink, 1, cv::LINE_AA);

    // One line per volume (muted colours), the total on top in black.
    static const cv::Scalar k_palette[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214}, {189, 103, 148},
                                           {75, 86, 140},  {194, 119, 227}, {127, 127, 127}, {34, 189, 188}, {207, 190, 23}};
    std::size_t v = 0;
    for (const auto& [id, n] : r.slices) {
        std::vector<cv::Point> pts;
        for (const SweepRow& row : r.rows)
            pts.push_back({px(row.threshold), py(n ? static_cast<double>(row.volumes.at(id)) / n : 0.0)});
        const cv::Scalar colour = k_palette[v % 10];
        cv::polylines(img, pts, false, colour, r.slices.size() > 30 ? 1 : 2, cv::LINE_AA);
        if (v < 12) {
            const int y = top + 30 + static_cast<int>(v) * 22;
            cv::line(img, {w - right + 20, y - 5}, {w - right + 45, y - 5}, colour, 2, cv::LINE_AA);
            std::string name = id.size() > 24 ? "..." + id.substr(id.size() - 21) : id;
            cv::putText(img, name, {w - right + 52, y}, font, 0.42, ink, 1, cv::LINE_AA);
        }
        ++v;
    }
    if (r.slices.size() > 12) {
        cv::putText(img, "+ " + std::to_string(r.slices.size() - 12) + " more volumes", {w - right + 20, top + 30 + 12 * 22},
                    font, 0.42, ink, 1, cv::LINE_AA);
    }
    std::vector<cv::Point> total;
    for (const SweepRow& row : r.rows)
        total.push_back({px(row.threshold), py(row.slices ? static_cast<double>(row.kept) / row.slices : 0.0)});
    cv::polylines(img, total, false, cv::Scalar(0, 0, 0), 3, cv::LINE_AA);
    cv::line(img, {w - right + 20, top + 3}, {w - right + 45, top + 3}, cv::Scalar(0, 0, 0), 3, cv::LINE_AA);
    cv::putText(img, "all volumes", {w - right + 52, top + 8}, font, 0.45, ink, 1, cv::LINE_AA);

    cv::Mat rgb;
    cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
    return encode_image(rgb.ptr<std::uint8_t>(), rgb.cols, rgb.rows, 3, ImageFormat::Png);
}

}  // namespace lessmore
