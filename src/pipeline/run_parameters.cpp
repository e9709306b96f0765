// The run's parameters and run.json: what --resume and merge compare, and how a record's
// parameters become the options of a later command (part of the run record: run_record.hpp).
#include "pipeline/record_json.hpp"
#include "pipeline/run_record.hpp"

#include <lessmore/manifest.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/unit.hpp>

#include <string>
#include <utility>
#include <vector>

namespace lessmore {
using namespace record_json;

namespace {

Json model_json(const ModelDescription& m) {
    Json j;
    j["model"] = m.name;
    j["model_sha256"] = m.sha256;
    j["model_sidecar"] = text_or_null(m.sidecar);
    j["model_runtime"] = m.runtime;
    j["input_size"] = {m.width, m.height};
    j["channels"] = m.channels;
    j["values"] = m.hu ? "hu" : "8bit";
    j["window"] = m.window ? Json({m.window->first, m.window->second}) : Json(nullptr);
    j["layout"] = m.nhwc ? "NHWC" : "NCHW";
    j["channel_order"] = m.bgr ? "BGR" : "RGB";
    j["scale"] = m.scale;
    j["mean"] = m.mean;
    j["std"] = m.std;
    j["model_input"] = m.input;
    j["model_output"] = m.output;
    j["pool"] = m.pool;
    j["embedding_size"] = m.embedding_size;
    j["batch"] = m.batch;
    // A 3-D model's depth (a number, or "any"); absent for 2-D models, as in older records.
    if (m.depth > 0) j["depth"] = m.depth;
    if (m.depth == k_any_depth) j["depth"] = "any";
    return j;
}

ModelDescription model_from_json(const Json& j) {
    ModelDescription m;
    m.name = get<std::string>(j, "model");
    m.bundled = m.name.rfind("bundled:", 0) == 0;
    m.sha256 = get<std::string>(j, "model_sha256");
    m.sidecar = text_or_empty(j, "model_sidecar");
    // Records made before these fields: ONNX through OpenCV, 3 channels of the 8-bit image.
    m.runtime = get_optional<std::string>(j, "model_runtime").value_or("opencv-dnn");
    m.channels = get_optional<int>(j, "channels").value_or(3);
    m.hu = get_optional<std::string>(j, "values").value_or("8bit") == "hu";
    if (const auto w = get_optional<std::vector<double>>(j, "window")) {
        if (w->size() != 2) throw RecordFormatError("field 'window' is not [low, high]");
        m.window = std::make_pair((*w)[0], (*w)[1]);
    }
    const auto size = get<std::vector<int>>(j, "input_size");
    if (size.size() != 2) throw RecordFormatError("field 'input_size' is not [width, height]");
    m.width = size[0];
    m.height = size[1];
    m.nhwc = get<std::string>(j, "layout") == "NHWC";
    m.bgr = get<std::string>(j, "channel_order") == "BGR";
    m.scale = get<double>(j, "scale");
    m.mean = get<std::array<double, 3>>(j, "mean");
    m.std = get<std::array<double, 3>>(j, "std");
    m.input = get<std::string>(j, "model_input");
    m.output = get<std::string>(j, "model_output");
    m.pool = get<bool>(j, "pool");
    m.embedding_size = get<std::size_t>(j, "embedding_size");
    m.batch = get<int>(j, "batch");
    if (j.contains("depth")) {
        const Json& d = j["depth"];
        if (d == "any") {
            m.depth = k_any_depth;
        } else if (d.is_number_integer() && d.get<int>() > 0) {
            m.depth = d.get<int>();
        } else {
            throw RecordFormatError("field 'depth' is not a number of slices or \"any\"");
        }
    }
    return m;
}

// What must match for --resume, and for the shards of one merge.
Json run_identity(const RunFile& r) {
    Json id;
    id["version"] = r.version;
    id["parameters"] = to_json(r.parameters);
    id["shard"] = r.shard ? Json({{"index", r.shard->index}, {"count", r.shard->count}}) : Json(nullptr);
    return id;
}

// The first difference between two JSON values, as "key: a vs b".
std::string first_difference(const Json& a, const Json& b, const std::string& path) {
    if (a.is_object() && b.is_object()) {
        for (const auto& [k, v] : a.items()) {
            const std::string p = path.empty() ? k : path + "." + k;
            if (!b.contains(k)) return p + ": " + v.dump() + " vs (absent)";
            const std::string d = first_difference(v, b[k], p);
            if (!d.empty()) return d;
        }
        for (const auto& [k, v] : b.items())
            if (!a.contains(k)) return (path.empty() ? k : path + "." + k) + ": (absent) vs " + v.dump();
        return {};
    }
    return a == b ? std::string() : path + ": " + a.dump() + " vs " + b.dump();
}

// The export mode as recorded: intensity with --intensity minmax writes exactly what minmax
// writes (PNG per-slice min-max, NPY as read), so it is recorded as minmax and either
// spelling resumes the other's run.
ExportValues resolved_export(const ExportValues& e, const IntensityMapping& intensity) {
    if (e.kind == ExportValues::Kind::Intensity && intensity.kind == IntensityMapping::Kind::MinMax) {
        ExportValues m;
        m.kind = ExportValues::Kind::MinMax;
        return m;
    }
    return e;
}

}  // namespace

RunParameters RunParameters::of(const ReduceConfig& c, const Metric* metric) {
    RunParameters p;
    p.inputs = c.inputs;
    p.metric = c.metric;
    p.threshold = c.threshold;
    p.fraction = c.fraction;
    p.every = c.every;
    p.neighbours = c.neighbours;
    p.strategy = c.resolved_strategy();
    p.order = c.order;
    p.include_localizers = c.include_localizers;
    p.intensity = c.intensity;
    if (metric && metric->model()) p.model = *metric->model();
    p.format = c.format;
    p.export_values = resolved_export(c.export_values, c.intensity);
    p.flat = c.flat;
    p.scope = c.scope;
    if (c.scope != Scope::Volume) p.scope_threshold = c.scope_threshold ? c.scope_threshold : c.threshold;
    p.patient_depth = c.patient_depth;
    p.duplicate_fraction = c.duplicate_fraction;
    p.unit = c.unit.to_string();
    return p;
}

MetricOptions RunParameters::metric_options() const {
    MetricOptions o = metric;
    if (model) {
        ModelOptions& m = o.model;
        m = ModelOptions{};
        if (model->runtime == "features") {
            // The embeddings came from a --features folder: read it again.
            m.features_dir = model->name.substr(std::string("features:").size());
            m.feature_size = model->embedding_size;
            return o;
        }
        if (model->runtime == "callback") {
            // A caller's function (Python's embed=) cannot be named by a record; what later
            // commands need of it are the embeddings, which the records keep.
            m.feature_size = model->embedding_size;
            return o;
        }
        if (!model->bundled) m.path = model->name;
        m.input_size = std::make_pair(model->width, model->height);
        m.scale = model->scale;
        m.mean = std::vector<double>(model->mean.begin(), model->mean.end());
        m.std = std::vector<double>(model->std.begin(), model->std.end());
        m.channel_order = model->bgr ? "BGR" : "RGB";
        m.layout = model->nhwc ? "NHWC" : "NCHW";
        m.output = model->output;
        m.pool = model->pool;
        m.batch = model->batch;
        m.channels = model->channels;
        m.values = model->hu ? "hu" : "8bit";
        m.window = model->window;
        if (model->runtime != "opencv-dnn") {  // a runner's model: no graph input/output names
            m.output.reset();
        }
        // A 3-D model of any depth is tried again on the run's unit depth.
        if (model->depth != 0 && unit != "slice") {
            const UnitSpec spec = parse_unit_spec(unit);
            if (!spec.size_mm) m.unit_depth = spec.size[0];
        }
    }
    return o;
}

Json to_json(const RunParameters& p) {
    const std::string& method = p.metric.method;
    Json j;
    j["inputs"] = p.inputs;
    j["method"] = method;
    j["threshold"] = number_or_null(p.threshold);
    j["fraction"] = optional_json(p.fraction);
    j["every"] = optional_json(p.every);
    j["neighbours"] = optional_json(p.neighbours);
    j["strategy"] = method == "everyn" ? Json(nullptr) : Json(strategy_name(p.strategy));
    j["order"] = order_name(p.order);
    j["include_localizers"] = p.include_localizers;
    j["intensity"] = p.intensity.to_string();
    if (method == "hash") j["hash_size"] = p.metric.hash_size;
    if (method == "ssim" || method == "mi") j["resize"] = p.metric.resize > 0 ? Json(p.metric.resize) : Json(nullptr);
    if (method == "mi") j["bins"] = p.metric.bins;
    if (p.model) j.update(model_json(*p.model));
    j["format"] = format_name(p.format);
    j["export_values"] = p.export_values.to_string();
    j["flat"] = p.flat;
    j["scope"] = scope_name(p.scope);
    if (p.scope != Scope::Volume) {
        j["scope_threshold"] = number_or_null(p.scope_threshold);
        j["duplicate_fraction"] = p.duplicate_fraction;
    }
    j["patient_depth"] = p.patient_depth;  // the manifest's patient keys, whatever the scope
    if (p.unit != "slice") j["unit"] = p.unit;
    return j;
}

RunParameters run_parameters_from_json(const Json& j) {
    RunParameters p;
    p.inputs = get<std::vector<std::string>>(j, "inputs");
    p.metric.method = get<std::string>(j, "method");
    p.threshold = get_optional<double>(j, "threshold");
    p.fraction = get_optional<double>(j, "fraction");
    p.every = get_optional<int>(j, "every");
    p.neighbours = get_optional<std::size_t>(j, "neighbours");
    if (const auto s = get_optional<std::string>(j, "strategy")) {
        p.strategy = named(*s, {Strategy::Leader, Strategy::Pairs}, &strategy_name, "strategy");
    }
    p.order = named(get<std::string>(j, "order"), {SliceOrder::Position, SliceOrder::Name}, &order_name, "order");
    p.include_localizers = get<bool>(j, "include_localizers");
    const auto intensity = IntensityMapping::from_string(get<std::string>(j, "intensity"));
    if (!intensity) throw RecordFormatError("field 'intensity' is not minmax, window:C,W or none");
    p.intensity = *intensity;
    p.metric.hash_size = get_optional<int>(j, "hash_size").value_or(p.metric.hash_size);
    p.metric.resize = get_optional<int>(j, "resize").value_or(0);
    p.metric.bins = get_optional<int>(j, "bins").value_or(p.metric.bins);
    if (p.metric.method == "deepnet") p.model = model_from_json(j);
    p.format =
        named(get<std::string>(j, "format"),
              {OutputFormat::Png, OutputFormat::Npy, OutputFormat::Both, OutputFormat::None, OutputFormat::Nifti},
              &format_name, "format");
    // Runs made before --export-values existed wrote what intensity writes.
    if (const auto e = get_optional<std::string>(j, "export_values")) {
        const auto values = ExportValues::from_string(*e);
        if (!values) throw RecordFormatError("field 'export_values' is not intensity, minmax, window:C,W or hu");
        p.export_values = *values;
    } else {
        p.export_values = resolved_export(ExportValues{}, p.intensity);
    }
    p.flat = get<bool>(j, "flat");
    // Runs made before --scope existed were volume-scoped.
    p.scope = named(get_optional<std::string>(j, "scope").value_or("volume"),
                    {Scope::Volume, Scope::Patient, Scope::Dataset}, &scope_name, "scope");
    if (p.scope != Scope::Volume) {
        p.scope_threshold = get_optional<double>(j, "scope_threshold");
        if (!p.scope_threshold) throw RecordFormatError("field 'scope_threshold' is missing");
        p.duplicate_fraction = get<double>(j, "duplicate_fraction");
    }
    p.patient_depth = get<int>(j, "patient_depth");
    if (p.patient_depth < 1) throw RecordFormatError("field 'patient_depth' is below 1");
    if (const auto unit = get_optional<std::string>(j, "unit")) {
        try {
            p.unit = parse_unit_spec(*unit).to_string();
        } catch (const Error&) {
            throw RecordFormatError("field 'unit' is not a unit --unit takes");
        }
    }
    return p;
}

Json to_json(const RunFile& r) {
    Json j = tool_stamp();
    j["version"] = r.version;
    j["parameters"] = to_json(r.parameters);
    if (r.shard) {
        j["shard"] = {{"index", r.shard->index},
                      {"count", r.shard->count},
                      {"all_sources", r.shard->all_sources},
                      {"all_sources_sha256", r.shard->all_sources_sha256},
                      {"sources", r.shard->sources}};
    } else {
        j["shard"] = nullptr;
    }
    j["discovery_errors"] = to_json(r.discovery_errors);
    j["discovery_skipped"] = to_json(r.discovery_skipped);
    return j;
}

RunFile run_file_from_json(const Json& j) {
    if (get<std::string>(j, "tool") != "lessmore") throw RecordFormatError("not written by lessmore");
    RunFile r;
    r.version = get<std::string>(j, "version");
    r.parameters = run_parameters_from_json(field(j, "parameters"));
    const Json& shard = field(j, "shard");
    if (!shard.is_null()) {
        ShardInfo s;
        s.index = get<int>(shard, "index");
        s.count = get<int>(shard, "count");
        s.all_sources = get<std::size_t>(shard, "all_sources");
        s.all_sources_sha256 = get<std::string>(shard, "all_sources_sha256");
        s.sources = get<std::vector<std::string>>(shard, "sources");
        if (s.count < 1 || s.index < 1 || s.index > s.count)
            throw RecordFormatError("field 'shard' is not I/N with 1 <= I <= N");
        if (s.sources.size() > s.all_sources)
            throw RecordFormatError("field 'shard.sources' holds more than 'all_sources'");
        for (const std::string& id : s.sources) check_volume_id(id, "shard.sources");
        r.shard = std::move(s);
    }
    r.discovery_errors = errors_from_json(array_field(j, "discovery_errors"));
    if (j.contains("discovery_skipped")) r.discovery_skipped = errors_from_json(array_field(j, "discovery_skipped"));
    return r;
}

std::string run_mismatch(const RunFile& previous, const RunFile& now) {
    return first_difference(run_identity(previous), run_identity(now), "");
}

}  // namespace lessmore
