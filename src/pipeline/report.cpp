// `lessmore report`: contact sheets, similarity heat maps and a histogram, drawn with
// OpenCV and embedded in HTML pages that open from disk.
#include <lessmore/base64.hpp>
#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/manifest.hpp>
#include <lessmore/report.hpp>
#include <lessmore/thread_pool.hpp>

#include <lessmore/files.hpp>
#include <lessmore/resize_area.hpp>

#include "io/image_codec.hpp"
#include "kernels/opencv_setup.hpp"
#include "pipeline/features.hpp"
#include "pipeline/metric_loader.hpp"
#include "pipeline/output_store.hpp"
#include "pipeline/scope_pass.hpp"
#include "pipeline/volume_walk.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

using Json = OrderedJson;

std::string data_uri(const cv::Mat& bgr, const char* ext) {
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const bool jpeg = std::string(ext) == ".jpg";
    return std::string("data:image/") + (jpeg ? "jpeg" : "png") + ";base64," +
           base64_encode(encode_image(rgb.ptr<std::uint8_t>(), rgb.cols, rgb.rows, 3,
                                      jpeg ? ImageFormat::Jpeg : ImageFormat::Png));
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
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

// A score as the manifest shows it: whole numbers (Hamming distances) without a fraction.
std::string score_text(double v) {
    if (std::floor(v) == v && std::fabs(v) < 9e15) return std::to_string(static_cast<long long>(v));
    return fixed(v, 3);
}

// One cell of a contact sheet: its picture (drawn on a worker), kept flag and label.
struct SheetItems {
    std::size_t count = 0;
    std::function<Image8(std::size_t)> image;
    std::function<bool(std::size_t)> kept;
    std::function<std::string(std::size_t)> label;
};

// The label of a removed item: "i>match score".
std::string removed_label(std::size_t i, bool kept, const std::optional<std::size_t>& match,
                          const std::optional<double>& score) {
    std::string text = std::to_string(i);
    if (!kept && match) {
        text += ">" + std::to_string(*match);
        if (score && std::isfinite(*score)) text += " " + score_text(*score);
    }
    return text;
}

// Thumbnails in order; removed items dimmed and labelled "-> match  score".
cv::Mat draw_sheet(const SheetItems& items, int thumb, ThreadPool& pool) {
    const int n = static_cast<int>(items.count);
    const int columns = std::max(1, std::min(n, 12)), rows = (n + columns - 1) / columns;
    const int label = 16, cell_w = thumb + 4, cell_h = thumb + label + 4;
    cv::Mat sheet(std::max(rows, 1) * cell_h, columns * cell_w, CV_8UC3, cv::Scalar(32, 32, 32));
    pool.parallel_for(static_cast<std::size_t>(n), [&](std::size_t i) {
        const Image8 img = items.image(i);
        const double scale = static_cast<double>(thumb) / std::max(img.width, img.height);
        const int tw = std::max(1, static_cast<int>(img.width * scale)),
                  th = std::max(1, static_cast<int>(img.height * scale));
        const Image8 small = resize_area(img, tw, th);
        cv::Mat grey(th, tw, CV_8UC1, const_cast<std::uint8_t*>(small.pixels.data())), colour;
        cv::cvtColor(grey, colour, cv::COLOR_GRAY2BGR);
        const bool kept = items.kept(i);
        if (!kept) colour *= 0.35;
        const int x0 = static_cast<int>(i) % columns * cell_w + 2, y0 = static_cast<int>(i) / columns * cell_h + 2;
        colour.copyTo(sheet(cv::Rect(x0 + (thumb - tw) / 2, y0 + (thumb - th) / 2, tw, th)));
        if (kept) cv::rectangle(sheet, {x0 - 1, y0 - 1}, {x0 + thumb, y0 + thumb}, cv::Scalar(80, 200, 80), 1);
    });
    // Labels in order, after the pictures: a label wider than its cell overlaps its
    // neighbour's, and the sheet must not depend on which thread drew first.
    for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const int x0 = i % columns * cell_w + 2, y0 = i / columns * cell_h + 2;
        cv::putText(sheet, items.label(k), {x0 + 1, y0 + thumb + label - 4}, cv::FONT_HERSHEY_SIMPLEX, 0.36,
                    items.kept(k) ? cv::Scalar(140, 230, 140) : cv::Scalar(170, 170, 170), 1, cv::LINE_AA);
    }
    return sheet;
}

// Slices in order.
cv::Mat contact_sheet(const Volume& volume, const VolumeRecord& record, const IntensityMapping& intensity, int thumb,
                      ThreadPool& pool) {
    SheetItems items;
    items.count = volume.slice_count();
    items.image = [&](std::size_t i) { return to_8bit(volume.slice(i), intensity); };
    items.kept = [&](std::size_t i) { return record.slices[i].kept; };
    items.label = [&](std::size_t i) {
        const SliceRecord& rec = record.slices[i];
        return removed_label(i, rec.kept, rec.match, rec.score);
    };
    return draw_sheet(items, thumb, pool);
}

// A unit run (docs/output.md, section "report"): each unit shown by its middle slice
// (origin z + size z / 2), mapped to 8 bits as the run's --intensity maps a slice and
// cropped to the unit's rows and columns (a patch's square; a slab's whole slice).
cv::Mat unit_sheet(const Volume& volume, const VolumeRecord& record, const IntensityMapping& intensity, int thumb,
                   ThreadPool& pool) {
    SheetItems items;
    items.count = record.units.size();
    items.image = [&](std::size_t i) {
        const UnitRecord& u = record.units[i];
        const Image8 whole = to_8bit(volume.slice(static_cast<std::size_t>(u.origin[0] + u.size[0] / 2)), intensity);
        Image8 crop(u.size[2], u.size[1]);
        for (int y = 0; y < u.size[1]; ++y) {
            const std::uint8_t* from = whole.row(u.origin[1] + y) + u.origin[2];
            std::copy(from, from + u.size[2], crop.row(y));
        }
        return crop;
    };
    items.kept = [&](std::size_t i) { return record.units[i].kept; };
    items.label = [&](std::size_t i) {
        const UnitRecord& u = record.units[i];
        return removed_label(i, u.kept, u.match, u.score);
    };
    return draw_sheet(items, thumb, pool);
}

// Whether a unit run's units lie inside `volume` (a source changed since the run is not pictured).
bool units_fit(const VolumeRecord& record, const Volume& volume) {
    const VolumeInfo& info = volume.info();
    const std::array<int, 3> shape{static_cast<int>(volume.slice_count()), info.height, info.width};
    return std::all_of(record.units.begin(), record.units.end(), [&](const UnitRecord& u) {
        for (int a = 0; a < 3; ++a)
            if (u.size[a] < 1 || u.origin[a] < 0 || u.origin[a] > shape[a] - u.size[a]) return false;
        return true;
    });
}

// The pairwise scores of (up to `limit` evenly spaced) slices as a colour map, bright =
// similar, kept slices marked along the edges.
cv::Mat heat_map(const Volume& volume, const VolumeRecord& record, const Metric& metric,
                 const IntensityMapping& intensity, std::size_t limit, ThreadPool& pool, const CancelToken& cancel,
                 std::size_t& step) {
    const std::size_t n = volume.slice_count();
    step = std::max<std::size_t>(1, (n + limit - 1) / limit);
    std::vector<std::size_t> picked;
    for (std::size_t i = 0; i < n; i += step) picked.push_back(i);
    NullProgress quiet;
    const auto features = prepare_features(volume, picked, metric, intensity, pool, quiet, cancel);
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
        if (!record.slices[picked[static_cast<std::size_t>(i)]].kept) continue;
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
        cv::putText(img, fixed(k * 0.25, 2), {x - 14, top + ph + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.42, ink, 1,
                    cv::LINE_AA);
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
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
           "</title>" + k_style + k_script + "</head><body>\n";
}

// A volume's rows: its units in a unit run, else its slices.
bool unit_rows(const VolumeRecord& v) { return !v.unit.empty(); }
std::size_t row_count(const VolumeRecord& v) { return unit_rows(v) ? v.units.size() : v.slices.size(); }

// One volume's section: its summary, then contact sheet and heat map when the volume
// could be read again (null: the source was moved or changed since the run). A unit run's
// volume gets the sheet of its units and no heat map (the slice metric does not score units).
std::string volume_section(const VolumeRecord& v, const Volume* volume, const Metric* metric,
                           const RunParameters& params, const ReportConfig& config, ThreadPool& pool,
                           const CancelToken& cancel) {
    const std::string& id = v.info.id;
    const std::size_t slices = row_count(v);
    const bool units = unit_rows(v);
    std::string html = "<div class=\"volume\" id=\"v-" + html_escape(id) + "\"><h2>" + html_escape(id) + "</h2>\n";
    html += "<p>" + std::to_string(slices) + (units ? " units (" + html_escape(v.unit) + "), " : " slices, ") +
            std::to_string(v.kept) + " kept (" + fixed(slices ? 100.0 * v.kept / slices : 0, 1) + "%), " +
            v.info.format + " " + volume_info_json(v.info)["size"].dump() + ", source <code>" +
            html_escape(v.info.source) + "</code></p>\n";
    if (!volume) {
        return html +
               "<p class=\"note\">The source could not be read again (moved or changed since the run): no "
               "pictures.</p></div>\n";
    }
    if (units) {
        return html + "<div class=\"pics\"><figure><img class=\"sheet\" alt=\"contact sheet of " + html_escape(id) +
               "\" src=\"" + data_uri(unit_sheet(*volume, v, params.intensity, config.thumbnail, pool), ".jpg") +
               "\"><figcaption class=\"note\">Units in order, each shown by its middle slice (a patch cropped to "
               "its rows and columns); removed units dimmed, labelled index&gt;match score. Kept units framed in "
               "green.</figcaption></figure>\n</div></div>\n";
    }
    html += "<div class=\"pics\"><figure><img class=\"sheet\" alt=\"contact sheet of " + html_escape(id) + "\" src=\"" +
            data_uri(contact_sheet(*volume, v, params.intensity, config.thumbnail, pool), ".jpg") +
            "\"><figcaption class=\"note\">Slices in order; removed slices dimmed, labelled index&gt;match score. "
            "Kept slices framed in green.</figcaption></figure>\n";
    if (metric) {
        std::size_t step = 1;
        const cv::Mat map = heat_map(*volume, v, *metric, params.intensity, config.matrix_slices, pool, cancel, step);
        html += "<figure><img class=\"heatmap\" alt=\"similarity matrix of " + html_escape(id) + "\" src=\"" +
                data_uri(map, ".png") + "\"><figcaption class=\"note\">Pairwise " + html_escape(params.metric.method) +
                " scores" + (step > 1 ? " of every " + std::to_string(step) + "th slice" : std::string()) +
                " (bright = similar); red ticks mark kept slices.</figcaption></figure>\n";
    }
    return html + "</div></div>\n";
}

// A per-volume page of a paged report.
void write_page(const Folder& pages, std::size_t k, std::size_t count, const std::string& id,
                const std::string& section) {
    AtomicFile page(pages, std::to_string(k) + ".html");
    page.write(page_head(id) + "<p><a href=\"../report.html\">&larr; all volumes</a>" +
               (k > 0 ? " &middot; <a href=\"" + std::to_string(k - 1) + ".html\">previous</a>" : std::string()) +
               (k + 1 < count ? " &middot; <a href=\"" + std::to_string(k + 1) + ".html\">next</a>" : std::string()) +
               "</p>\n" + section + "</body></html>\n");
    page.commit(false);
}

// What the report shows of the run: its volumes by id and every error.
struct RunView {
    std::vector<SourceRecord> records;
    std::vector<const VolumeRecord*> rows;    // by volume id
    std::vector<InputFailure> errors;         // discovery's, then each source's (by source id)
    std::vector<VolumeDuplicate> duplicates;  // --scope patient|dataset
    std::size_t slices = 0, kept = 0;
    std::vector<double> fractions;
};

void fill_view(RunView& view, const RunFile& run) {
    view.errors = run.discovery_errors;
    for (const SourceRecord& r : view.records) {
        for (const VolumeRecord& v : r.volumes) view.rows.push_back(&v);
        view.errors.insert(view.errors.end(), r.errors.begin(), r.errors.end());
    }
    std::sort(view.rows.begin(), view.rows.end(),
              [](const VolumeRecord* a, const VolumeRecord* b) { return a->info.id < b->info.id; });
    for (const VolumeRecord* v : view.rows) {
        const std::size_t n = row_count(*v);
        view.slices += n;
        view.kept += v->kept;
        view.fractions.push_back(n == 0 ? 0.0 : static_cast<double>(v->kept) / n);
    }
}

// Each volume's section, its source read again (in parallel, under the walk's rules) for
// the pictures. Paged: each written to its page at once and returned empty.
std::vector<std::string> volume_sections(const RunView& view, const RunParameters& params, const Metric* metric,
                                         const ReportConfig& config, const Folder* pages, ThreadPool& pool,
                                         ProgressSink& progress, const CancelToken& cancel, ReportResult& result) {
    const bool paged = pages != nullptr;
    const std::vector<const VolumeRecord*>& rows = view.rows;
    std::map<std::string, std::size_t> row_of;  // volume id -> index in rows
    for (std::size_t k = 0; k < rows.size(); ++k) row_of[rows[k]->info.id] = k;
    std::vector<std::string> sections(rows.size());
    std::vector<char> pictured(rows.size(), 0);
    auto finish = [&](std::size_t k) {
        if (!paged) return;
        write_page(*pages, k, rows.size(), rows[k]->info.id, sections[k]);
        sections[k].clear();
    };
    NullProgress quiet;
    const WalkPlan plan = plan_walk({params.inputs, std::nullopt}, quiet);
    std::vector<const Source*> sources;
    for (const Source& s : plan.sources) {
        const bool recorded = std::any_of(view.records.begin(), view.records.end(),
                                          [&](const SourceRecord& r) { return r.source == s.id; });
        if (recorded) sources.push_back(&s);
    }
    LoadOptions load;
    load.order = params.order;
    load.include_localizers = params.include_localizers;
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t, Volume& volume) {
        const auto it = row_of.find(volume.info().id);
        if (it == row_of.end()) return;
        const std::size_t k = it->second;
        const VolumeRecord& row = *rows[k];
        // Changed since the run (another slice count, or units no longer inside): no pictures.
        if (unit_rows(row) ? row.info.slice_count() != volume.slice_count() || !units_fit(row, volume)
                           : row.slices.size() != volume.slice_count())
            return;
        progress.volume_started(volume.info().id, volume.slice_count());
        sections[k] = volume_section(*rows[k], &volume, metric, params, config, pool, cancel);
        pictured[k] = 1;
        finish(k);
        progress.slices_done(volume.slice_count());
    };
    VolumeWalk(load, 0, pool, quiet, cancel).run(sources, visitor);
    for (std::size_t k = 0; k < rows.size(); ++k) {
        if (pictured[k]) continue;
        ++result.unavailable;
        sections[k] = volume_section(*rows[k], nullptr, metric, params, config, pool, cancel);
        finish(k);
    }
    if (paged) result.pages = rows.size();
    return sections;
}

// Volumes the cross-volume pass found to repeat another: candidates to drop outright.
std::string duplicates_section(const std::vector<VolumeDuplicate>& duplicates) {
    std::string html =
        "<h2>Duplicate volumes</h2><p class=\"note\">Volumes most of whose kept slices were removed by "
        "matches to one other volume (--scope).</p>";
    if (duplicates.empty()) return html + "<p>None.</p>\n";
    html += "<table id=\"duplicates\"><tr><th>volume</th><th>duplicate of</th><th>kept slices matched</th></tr>\n";
    for (const VolumeDuplicate& d : duplicates)
        html += "<tr><td class=\"id\">" + html_escape(d.volume) + "</td><td class=\"id\">" + html_escape(d.of) +
                "</td><td>" + fixed(100.0 * d.fraction, 1) + "%</td></tr>\n";
    return html + "</table>\n";
}

void write_index(const Folder& out, const RunView& view, const RunParameters& params,
                 const std::vector<std::string>& sections, bool paged) {
    AtomicFile index(out, "report.html");
    const std::size_t total = view.slices, kept = view.kept;
    const bool units = params.unit != "slice";
    const std::string items = units ? "units" : "slices";
    index.write(page_head("lessmore report"));
    index.write("<h1>lessmore report</h1>\n<p>" + std::to_string(view.rows.size()) + " volumes, " +
                std::to_string(total) + " " + items + (units ? " (--unit " + html_escape(params.unit) + ")" : "") +
                ", " + std::to_string(kept) + " kept (" + fixed(total ? 100.0 * kept / total : 0, 1) + "%), " +
                std::to_string(view.errors.size()) + " errors. Method <b>" + html_escape(params.metric.method) +
                "</b>.</p>\n");
    index.write("<h2>Parameters</h2><div class=\"params\">" + html_escape(to_json(params).dump(1)) + "</div>\n");
    index.write("<h2>Kept fraction over volumes</h2><img class=\"histogram\" alt=\"histogram\" src=\"" +
                data_uri(histogram(view.fractions), ".png") + "\">\n");
    if (!view.errors.empty()) {
        index.write("<h2>Errors</h2><table><tr><th>path</th><th>message</th></tr>\n");
        for (const InputFailure& e : view.errors)
            index.write("<tr><td class=\"id\">" + html_escape(e.path) + "</td><td class=\"id\">" +
                        html_escape(e.message) + "</td></tr>\n");
        index.write("</table>\n");
    }
    if (params.scope != Scope::Volume) index.write(duplicates_section(view.duplicates));
    index.write(
        "<h2>Volumes</h2><input id=\"filter\" placeholder=\"filter volumes\" oninput=\"filterVolumes(this.value)\">\n"
        "<table "
        "id=\"volumes\"><tr><th>volume</th><th>" +
        items + "</th><th>kept</th><th>fraction</th><th>seconds</th></tr>\n");
    for (std::size_t k = 0; k < view.rows.size(); ++k) {
        const VolumeRecord& r = *view.rows[k];
        const std::string& id = r.info.id;
        const std::size_t n = row_count(r);
        const std::string link = paged ? "report/" + std::to_string(k) + ".html" : "#v-" + html_escape(id);
        index.write("<tr class=\"vol\" data-id=\"" + html_escape(id) + "\"><td class=\"id\"><a href=\"" + link + "\">" +
                    html_escape(id) + "</a></td><td>" + std::to_string(n) + "</td><td>" + std::to_string(r.kept) +
                    "</td><td>" + fixed(n ? 100.0 * r.kept / n : 0, 1) + "%</td><td>" + fixed(r.seconds, 2) +
                    "</td></tr>\n");
    }
    index.write("</table>\n");
    for (const std::string& section : sections) index.write(section);
    index.write("<p class=\"note\">Written by lessmore " + std::string(version()) + ".</p></body></html>\n");
    index.commit(false);
}

}  // namespace

ReportResult write_report(const ReportConfig& config, ProgressSink& progress, const CancelToken& cancel) {
    configure_opencv();
    const OutputStore store(config.output);
    const auto run = store.read_run();
    if (!run || !store.finished()) {
        throw UsageError(config.output + ": no finished lessmore run (no manifest.json; run or --resume reduce first)");
    }
    const auto lock = store.lock(config.output);
    store.check_layout();
    const RunParameters& params = run->parameters;
    // A Python function's run (embed=): the function is not in OUT, so no similarity maps.
    const bool callback = params.model && params.model->runtime == "callback";
    // A unit run draws no heat map (its units are not slices the metric scores).
    const std::unique_ptr<Metric> metric =
        callback || params.unit != "slice" ? nullptr : load_metric(params.metric_options());
    ThreadPool pool(config.threads);
    RunView view;
    view.records = store.read_all_records();
    if (params.scope != Scope::Volume && !run->shard) {
        // The records hold each volume's own decisions; the pass (deterministic) gives the rest.
        std::vector<std::string> ids;
        for (const SourceRecord& r : view.records) ids.push_back(r.source);
        const ScopeOutcome scope = scope_pass(store, ids, params, pool, cancel);
        for (SourceRecord& r : view.records)
            for (VolumeRecord& v : r.volumes) apply_scope(scope, v);
        view.duplicates = scope.duplicates;
    }
    fill_view(view, *run);

    ReportResult result;
    const fs::path out(config.output);
    result.path = (out / "report.html").string();
    result.volumes = view.rows.size();
    const bool paged = view.rows.size() > config.inline_volumes;
    // Written relative to OUT's descriptor, never through a link (docs/output.md, section
    // "OUT's own state").
    const auto root = store.folder();
    if (!root) throw Error(config.output + ": missing");
    const std::optional<Folder> pages = paged ? std::optional<Folder>(root->make("report")) : std::nullopt;
    const std::vector<std::string> sections =
        volume_sections(view, params, metric.get(), config, pages ? &*pages : nullptr, pool, progress, cancel, result);
    write_index(*root, view, params, sections, paged);
    return result;
}

}  // namespace lessmore
