// `lessmore report`: contact sheets, similarity heat maps and a histogram, drawn with
// OpenCV and embedded in HTML pages that open from disk.
#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/manifest.hpp>
#include <lessmore/report.hpp>
#include <lessmore/resize.hpp>
#include <lessmore/thread_pool.hpp>

#include "core/features.hpp"
#include "core/output_store.hpp"
#include "io/files.hpp"
#include "io/image_codec.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

using Json = OrderedJson;

std::string base64(const std::string& bytes) {
    static constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        auto at = [&](std::size_t k) { return k < bytes.size() ? static_cast<unsigned char>(bytes[k]) : 0u; };
        const unsigned v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
        out += k_alphabet[(v >> 18) & 63];
        out += k_alphabet[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? k_alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? k_alphabet[v & 63] : '=';
    }
    return out;
}

std::string data_uri(const cv::Mat& bgr, const char* ext) {
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const bool jpeg = std::string(ext) == ".jpg";
    return std::string("data:image/") + (jpeg ? "jpeg" : "png") + ";base64," +
           base64(encode_image(rgb.ptr<std::uint8_t>(), rgb.cols, rgb.rows, 3, jpeg ? ImageFormat::Jpeg : ImageFormat::Png));
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string fixed(double v, int digits) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(digits);
    s << v;
    return s.str();
}

// The options the run used, back from its parameters.
struct RunSettings {
    std::string method;
    MetricOptions metric;
    IntensityMapping intensity;
    SliceOrder order = SliceOrder::Position;
};

RunSettings settings_of(const Json& p) {
    RunSettings s;
    s.method = p.value("method", "hash");
    s.metric.method = s.method;
    s.metric.hash_size = p.value("hash_size", 8);
    s.metric.bins = p.value("bins", 100);
    if (p.contains("resize") && p["resize"].is_number()) s.metric.resize = p["resize"];
    if (s.method == "deepnet") {
        const std::string model = p.value("model", "");
        if (model.rfind("bundled:", 0) != 0) s.metric.model.path = model;
        if (p.contains("input_size")) s.metric.model.input_size = std::make_pair(p["input_size"][0].get<int>(), p["input_size"][1].get<int>());
        if (p.contains("scale")) s.metric.model.scale = p["scale"].get<double>();
        if (p.contains("mean")) s.metric.model.mean = p["mean"].get<std::vector<double>>();
        if (p.contains("std")) s.metric.model.std = p["std"].get<std::vector<double>>();
        if (p.contains("channel_order")) s.metric.model.channel_order = p["channel_order"].get<std::string>();
        if (p.contains("layout")) s.metric.model.layout = p["layout"].get<std::string>();
        if (p.contains("model_output")) s.metric.model.output = p["model_output"].get<std::string>();
        if (p.contains("pool")) s.metric.model.pool = p["pool"].get<bool>();
        if (p.contains("batch")) s.metric.model.batch = p["batch"].get<int>();
    }
    s.intensity = IntensityMapping::parse(p.value("intensity", "minmax"));
    s.order = p.value("order", "position") == "name" ? SliceOrder::Name : SliceOrder::Position;
    return s;
}

// The volume a record describes, read again from its source.
std::unique_ptr<Volume> reload(const Json& v, const RunSettings& s, ThreadPool& pool, const CancelToken& cancel) {
    const std::string source = v["source"];
    const std::string id = v["id"];
    const auto hash = id.rfind('#');
    const std::string series = hash == std::string::npos ? std::string() : id.substr(hash);
    Discovery d;
    try {
        d = discover({source});
    } catch (const UsageError&) {
        return nullptr;  // moved or deleted since the run
    }
    LoadOptions load;
    load.order = s.order;
    for (const Source& src : d.sources) {
        if (src.kind == Source::Kind::VolumeFile && fs::path(src.path).filename() != fs::path(source).filename()) continue;
        for (LoadedVolume& lv : load_source(src, load, pool, cancel)) {
            if (!lv.volume) continue;
            const std::string& got = lv.volume->info().id;
            const bool same = series.empty() ? got.find('#') == std::string::npos
                                             : got.size() >= series.size() && got.compare(got.size() - series.size(), series.size(), series) == 0;
            if (same && lv.volume->slice_count() == v["slices"].size()) return std::move(lv.volume);
        }
    }
    return nullptr;
}

// Thumbnails in slice order; removed slices dimmed and labelled "-> match  score".
cv::Mat contact_sheet(const Volume& volume, const Json& slices, const RunSettings& s, int thumb, ThreadPool& pool) {
    const int n = static_cast<int>(volume.slice_count());
    const int columns = std::min(n, 12), rows = (n + columns - 1) / columns;
    const int label = 16, cell_w = thumb + 4, cell_h = thumb + label + 4;
    cv::Mat sheet(rows * cell_h, columns * cell_w, CV_8UC3, cv::Scalar(32, 32, 32));
    pool.parallel_for(static_cast<std::size_t>(n), [&](std::size_t i) {
        const Image8 img = to_8bit(volume.slice(i), s.intensity);
        const double scale = static_cast<double>(thumb) / std::max(img.width, img.height);
        const int tw = std::max(1, static_cast<int>(img.width * scale)), th = std::max(1, static_cast<int>(img.height * scale));
        const Image8 small = resize_area(img, tw, th);
        cv::Mat grey(th, tw, CV_8UC1, const_cast<std::uint8_t*>(small.pixels.data())), colour;
        cv::cvtColor(grey, colour, cv::COLOR_GRAY2BGR);
        const Json& rec = slices[i];
        const bool kept = rec["kept"];
        if (!kept) colour *= 0.35;
        const int x0 = static_cast<int>(i) % columns * cell_w + 2, y0 = static_cast<int>(i) / columns * cell_h + 2;
        colour.copyTo(sheet(cv::Rect(x0 + (thumb - tw) / 2, y0 + (thumb - th) / 2, tw, th)));
        if (kept) cv::rectangle(sheet, {x0 - 1, y0 - 1}, {x0 + thumb, y0 + thumb}, cv::Scalar(80, 200, 80), 1);
        std::string text = std::to_string(i);
        if (!kept && rec["match"].is_number()) {
            text += ">" + rec["match"].dump();
            if (rec["score"].is_number()) text += " " + (rec["score"].is_number_integer() ? rec["score"].dump()
                                                                                            : fixed(rec["score"].get<double>(), 3));
        }
        cv::putText(sheet, text, {x0 + 1, y0 + thumb + label - 4}, cv::FONT_HERSHEY_SIMPLEX, 0.36,
                    kept ? cv::Scalar(140, 230, 140) : cv::Scalar(170, 170, 170), 1, cv::LINE_AA);
    });
    return sheet;
}

// The pairwise scores of (up to `limit` evenly spaced) slices as a colour map, bright =
// similar, kept slices marked along the edges.
cv::Mat heat_map(const Volume& volume, const Json& slices, const Metric& metric, const RunSettings& s, std::size_t limit,
                 ThreadPool& pool, const CancelToken& cancel, std::size_t& step) {
    const std::size_t n = volume.slice_count();
    step = std::max<std::size_t>(1, (n + limit - 1) / limit);
    std::vector<std::size_t> picked;
    for (std::size_t i = 0; i < n; i += step) picked.push_back(i);
    NullProgress quiet;
    const auto features = prepare_features(volume, picked, metric, s.intensity, pool, quiet, cancel);
    const ScoreMatrix m = score_matrix(features, metric, pool, cancel, features.size(), true);
    const int k = static_cast<int>(picked.size());
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : m.values)
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    if (!(hi > lo)) hi = lo + 1;
    cv::Mat grey(k, k, CV_8UC1);
    for (int i = 0; i < k; ++i)
        for (int j = 0; j < k; ++j) {
            const double v = m.at(static_cast<std::size_t>(i), static_cast<std::size_t>(j));
            double t = std::isfinite(v) ? (v - lo) / (hi - lo) : 0.0;
            if (metric.sense() == Sense::LowerIsSimilar) t = 1.0 - t;
            grey.at<uchar>(i, j) = static_cast<uchar>(std::lround(t * 255));
        }
    cv::Mat colour;
    cv::applyColorMap(grey, colour, cv::COLORMAP_VIRIDIS);
    const int cell = std::clamp(480 / std::max(k, 1), 2, 24), margin = 8;
    cv::Mat big;
    cv::resize(colour, big, cv::Size(k * cell, k * cell), 0, 0, cv::INTER_NEAREST);
    cv::Mat framed(big.rows + margin, big.cols + margin, CV_8UC3, cv::Scalar(255, 255, 255));
    big.copyTo(framed(cv::Rect(margin, margin, big.cols, big.rows)));
    // Kept slices: a red mark in the top and left bands, one cell wide.
    for (int i = 0; i < k; ++i) {
        if (!slices[picked[static_cast<std::size_t>(i)]]["kept"].get<bool>()) continue;
        const int c = margin + i * cell;
        cv::rectangle(framed, cv::Rect(c, 0, cell, margin - 2), cv::Scalar(40, 40, 220), cv::FILLED);
        cv::rectangle(framed, cv::Rect(0, c, margin - 2, cell), cv::Scalar(40, 40, 220), cv::FILLED);
    }
    return framed;
}

cv::Mat histogram(const std::vector<double>& fractions) {
    const int w = 640, h = 300, left = 50, bottom = 40, top = 20, bins = 20;
    cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
    std::vector<int> counts(bins, 0);
    for (double f : fractions) counts[static_cast<std::size_t>(std::clamp(static_cast<int>(f * bins), 0, bins - 1))]++;
    const int most = std::max(1, *std::max_element(counts.begin(), counts.end()));
    const int pw = w - left - 20, ph = h - top - bottom;
    const cv::Scalar ink(40, 40, 40);
    for (int b = 0; b < bins; ++b) {
        const int x0 = left + b * pw / bins, x1 = left + (b + 1) * pw / bins - 2;
        const int bh = counts[static_cast<std::size_t>(b)] * ph / most;
        cv::rectangle(img, {x0, top + ph - bh}, {x1, top + ph}, cv::Scalar(180, 119, 31), cv::FILLED);
    }
    cv::rectangle(img, {left, top}, {left + pw, top + ph}, ink, 1);
    for (int k = 0; k <= 4; ++k) {
        const int x = left + k * pw / 4;
        cv::putText(img, fixed(k * 0.25, 2), {x - 14, top + ph + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.42, ink, 1, cv::LINE_AA);
    }
    cv::putText(img, "kept fraction", {left + pw / 2 - 50, h - 6}, cv::FONT_HERSHEY_SIMPLEX, 0.5, ink, 1, cv::LINE_AA);
    cv::putText(img, std::to_string(most), {8, top + 10}, cv::FONT_HERSHEY_SIMPLEX, 0.42, ink, 1, cv::LINE_AA);
    cv::putText(img, "0", {30, top + ph}, cv::FONT_HERSHEY_SIMPLEX, 0.42, ink, 1, cv::LINE_AA);
    return img;
}

constexpr const char* k_style = R"(<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f2f2f2}td.id{text-align:left}
.params{font-family:monospace;font-size:12px;white-space:pre-wrap;background:#f7f7f7;padding:8px}
.volume{margin-bottom:40px}.pics{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.pics img{max-width:100%;border:1px solid #ddd}.note{color:#666;font-size:12px}
input#filter{margin:8px 0;padding:4px;width:320px}
</style>)";

constexpr const char* k_script = R"(<script>
function filterVolumes(q){q=q.toLowerCase();document.querySelectorAll('tr.vol').forEach(function(r){
r.style.display=r.dataset.id.toLowerCase().indexOf(q)>=0?'':'none';});}
</script>)";

std::string page_head(const std::string& title) {
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) + "</title>" +
           k_style + k_script + "</head><body>\n";
}

}  // namespace

ReportResult write_report(const ReportConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    const OutputStore store(config.output);
    const auto run = store.read_run();
    if (!run || !fs::exists(fs::path(config.output) / "manifest.json")) {
        throw UsageError(config.output + ": no finished lessmore run (no manifest.json; run or --resume reduce first)");
    }
    const Json& params = (*run)["parameters"];
    const RunSettings settings = settings_of(params);
    std::unique_ptr<Metric> metric;
    if (settings.method != "everyn") metric = make_metric(settings.metric);
    ThreadPool pool(config.threads);

    // Pass 1: summaries, each record read once here (sections read theirs again, one at a time).
    struct Row {
        std::string id;
        std::size_t slices = 0, kept = 0;
        double seconds = 0;
        fs::path record;
    };
    std::vector<Row> rows;
    std::vector<std::pair<std::string, std::vector<InputFailure>>> source_errors;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(config.output) / ".lessmore" / "records", ec)) {
        if (e.path().extension() != ".json" || e.path().filename().string()[0] == '.') continue;
        std::ifstream in(e.path());
        const Json r = Json::parse(in, nullptr, false);
        if (r.is_discarded() || !r.contains("source")) continue;
        for (const Json& v : r["volumes"]) rows.push_back({v["id"], v["slices"].size(), v["kept"], v["seconds"], e.path()});
        source_errors.emplace_back(r["source"].get<std::string>(), std::vector<InputFailure>{});
        append_errors(r["errors"], source_errors.back().second);
    }
    // The listing comes in the file system's order: errors are listed by source.
    std::sort(source_errors.begin(), source_errors.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<InputFailure> errors;
    append_errors((*run)["discovery_errors"], errors);
    for (const auto& [source, list] : source_errors) errors.insert(errors.end(), list.begin(), list.end());
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
    std::size_t total = 0, kept = 0;
    std::vector<double> fractions;
    for (const Row& r : rows) {
        total += r.slices;
        kept += r.kept;
        fractions.push_back(r.slices ? static_cast<double>(r.kept) / r.slices : 0.0);
    }

    ReportResult result;
    result.path = (fs::path(config.output) / "report.html").string();
    result.volumes = rows.size();
    const bool paged = rows.size() > config.inline_volumes;
    if (paged) fs::create_directories(fs::path(config.output) / "report", ec);

    // One volume's section: contact sheet and heat map.
    auto volume_section = [&](const Row& row) {
        std::ifstream in(row.record);
        const Json r = Json::parse(in);
        Json v;
        for (const Json& candidate : r["volumes"])
            if (candidate["id"] == row.id) v = candidate;
        std::string html = "<div class=\"volume\" id=\"v-" + html_escape(row.id) + "\"><h2>" + html_escape(row.id) + "</h2>\n";
        html += "<p>" + std::to_string(row.slices) + " slices, " + std::to_string(row.kept) + " kept (" +
                fixed(row.slices ? 100.0 * row.kept / row.slices : 0, 1) + "%), " + v["format"].get<std::string>() + " " +
                v["size"].dump() + ", source <code>" + html_escape(v["source"]) + "</code></p>\n";
        progress.volume_started(row.id, row.slices);
        const auto volume = reload(v, settings, pool, cancel);
        if (!volume) {
            ++result.unavailable;
            html += "<p class=\"note\">The source could not be read again (moved or changed since the run): no pictures.</p></div>\n";
            return html;
        }
        html += "<div class=\"pics\"><figure><img class=\"sheet\" alt=\"contact sheet of " + html_escape(row.id) + "\" src=\"" +
                data_uri(contact_sheet(*volume, v["slices"], settings, config.thumbnail, pool), ".jpg") +
                "\"><figcaption class=\"note\">Slices in order; removed slices dimmed, labelled index&gt;match score. "
                "Kept slices framed in green.</figcaption></figure>\n";
        if (metric) {
            std::size_t step = 1;
            const cv::Mat map = heat_map(*volume, v["slices"], *metric, settings, config.matrix_slices, pool, cancel, step);
            html += "<figure><img class=\"heatmap\" alt=\"similarity matrix of " + html_escape(row.id) + "\" src=\"" +
                    data_uri(map, ".png") + "\"><figcaption class=\"note\">Pairwise " + html_escape(settings.method) +
                    " scores" + (step > 1 ? " of every " + std::to_string(step) + "th slice" : std::string()) +
                    " (bright = similar); red ticks mark kept slices.</figcaption></figure>\n";
        }
        html += "</div></div>\n";
        progress.slices_done(row.slices);
        return html;
    };

    AtomicFile index(fs::path(config.output) / "report.html");
    index.write(page_head("lessmore report"));
    index.write("<h1>lessmore report</h1>\n<p>" + std::to_string(rows.size()) + " volumes, " + std::to_string(total) +
                " slices, " + std::to_string(kept) + " kept (" + fixed(total ? 100.0 * kept / total : 0, 1) + "%), " +
                std::to_string(errors.size()) + " errors. Method <b>" + html_escape(settings.method) + "</b>.</p>\n");
    index.write("<h2>Parameters</h2><div class=\"params\">" + html_escape(params.dump(1)) + "</div>\n");
    index.write("<h2>Kept fraction over volumes</h2><img class=\"histogram\" alt=\"histogram\" src=\"" +
                data_uri(histogram(fractions), ".png") + "\">\n");
    if (!errors.empty()) {
        index.write("<h2>Errors</h2><table><tr><th>path</th><th>message</th></tr>\n");
        for (const InputFailure& e : errors)
            index.write("<tr><td class=\"id\">" + html_escape(e.path) + "</td><td class=\"id\">" + html_escape(e.message) + "</td></tr>\n");
        index.write("</table>\n");
    }
    index.write("<h2>Volumes</h2><input id=\"filter\" placeholder=\"filter volumes\" oninput=\"filterVolumes(this.value)\">\n"
                "<table id=\"volumes\"><tr><th>volume</th><th>slices</th><th>kept</th><th>fraction</th><th>seconds</th></tr>\n");
    for (std::size_t k = 0; k < rows.size(); ++k) {
        const Row& r = rows[k];
        const std::string link = paged ? "report/" + std::to_string(k) + ".html" : "#v-" + html_escape(r.id);
        index.write("<tr class=\"vol\" data-id=\"" + html_escape(r.id) + "\"><td class=\"id\"><a href=\"" + link + "\">" +
                    html_escape(r.id) + "</a></td><td>" + std::to_string(r.slices) + "</td><td>" + std::to_string(r.kept) +
                    "</td><td>" + fixed(r.slices ? 100.0 * r.kept / r.slices : 0, 1) + "%</td><td>" + fixed(r.seconds, 2) +
                    "</td></tr>\n");
    }
    index.write("</table>\n");
    for (std::size_t k = 0; k < rows.size(); ++k) {
        cancel.check();
        const std::string section = volume_section(rows[k]);
        if (!paged) {
            index.write(section);
            continue;
        }
        AtomicFile page(fs::path(config.output) / "report" / (std::to_string(k) + ".html"));
        page.write(page_head(rows[k].id) + "<p><a href=\"../report.html\">&larr; all volumes</a>" +
                   (k > 0 ? " &middot; <a href=\"" + std::to_string(k - 1) + ".html\">previous</a>" : std::string()) +
                   (k + 1 < rows.size() ? " &middot; <a href=\"" + std::to_string(k + 1) + ".html\">next</a>" : std::string()) +
                   "</p>\n" + section + "</body></html>\n");
        page.commit(false);
        ++result.pages;
    }
    index.write("<p class=\"note\">Written by lessmore " + std::string(version()) + ".</p></body></html>\n");
    index.commit(false);
    return result;
}

}  // namespace lessmore
