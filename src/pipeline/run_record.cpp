#include "pipeline/run_record.hpp"

#include <lessmore/manifest.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/unit.hpp>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <type_traits>
#include <vector>

namespace lessmore {
namespace {

using Json = OrderedJson;

Json number_or_null(const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return nullptr;
    // Whole numbers (Hamming distances, most z) print without a fraction.
    if (std::floor(*v) == *v && std::fabs(*v) < 9e15) return static_cast<long long>(*v);
    return *v;
}

template <typename T>
Json optional_json(const std::optional<T>& v) {
    return v ? Json(*v) : Json(nullptr);
}

Json text_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

// Field access that names the field at fault instead of passing nlohmann's message on.
const Json& field(const Json& j, const char* key) {
    if (!j.is_object() || !j.contains(key)) throw RecordFormatError(std::string("field '") + key + "' is missing");
    return j[key];
}

// The lists records hold (std::vector, std::array) and their element type.
template <typename T>
struct ListOf {
    static constexpr bool list = false;
};
template <typename E, typename A>
struct ListOf<std::vector<E, A>> {
    static constexpr bool list = true;
    static constexpr std::size_t size = 0;  // any
    using Element = E;
};
template <typename E, std::size_t N>
struct ListOf<std::array<E, N>> {
    static constexpr bool list = true;
    static constexpr std::size_t size = N;  // exactly N: nlohmann would drop the rest
    using Element = E;
};

// nlohmann converts between number kinds silently (-1 becomes a huge size_t, 2^40 a
// wrapped int, 1e300 an undefined one): scalars, and each element of a list, are checked
// first. An integer field takes a whole number its type holds.
template <typename T>
bool has_type(const Json& v) {
    if constexpr (std::is_same_v<T, bool>) {
        return v.is_boolean();
    } else if constexpr (std::is_integral_v<T>) {
        constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= max;
        if (!v.is_number_integer()) return false;
        const auto n = v.get<std::int64_t>();
        if (n >= 0) return static_cast<std::uint64_t>(n) <= max;
        return std::is_signed_v<T> && n >= static_cast<std::int64_t>(std::numeric_limits<T>::min());
    } else if constexpr (std::is_floating_point_v<T>) {
        return v.is_number();
    } else if constexpr (std::is_same_v<T, std::string>) {
        return v.is_string();
    } else if constexpr (ListOf<T>::list) {
        return v.is_array() && (ListOf<T>::size == 0 || v.size() == ListOf<T>::size) &&
               std::all_of(v.begin(), v.end(), [](const Json& e) { return has_type<typename ListOf<T>::Element>(e); });
    } else {
        static_assert(ListOf<T>::list, "has_type: a type records do not hold");
        return false;
    }
}

template <typename T>
T get(const Json& j, const char* key) {
    const Json& v = field(j, key);
    if (!has_type<T>(v)) throw RecordFormatError(std::string("field '") + key + "' has the wrong type");
    try {
        return v.get<T>();
    } catch (const Json::exception&) {
        throw RecordFormatError(std::string("field '") + key + "' has the wrong type");
    }
}

template <typename T>
std::optional<T> get_optional(const Json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || j[key].is_null()) return std::nullopt;
    return get<T>(j, key);
}

std::string text_or_empty(const Json& j, const char* key) { return get_optional<std::string>(j, key).value_or(""); }

const Json& array_field(const Json& j, const char* key) {
    const Json& v = field(j, key);
    if (!v.is_array()) throw RecordFormatError(std::string("field '") + key + "' is not a list");
    return v;
}

std::vector<InputFailure> errors_from_json(const Json& list) {
    std::vector<InputFailure> out;
    for (const Json& e : list) out.push_back({get<std::string>(e, "path"), get<std::string>(e, "message")});
    return out;
}

VoxelType voxel_type_of(const std::string& name) {
    for (VoxelType t : k_voxel_types)
        if (name == voxel_type_name(t)) return t;
    throw RecordFormatError("field 'dtype' has an unknown value '" + name + "'");
}

template <typename T>
T named(const std::string& text, std::initializer_list<T> values, const char* (*name_of)(T), const char* key) {
    for (T v : values)
        if (text == name_of(v)) return v;
    throw RecordFormatError(std::string("field '") + key + "' has an unknown value '" + text + "'");
}

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

namespace {

// id, source, format (and in a manifest the patient, study and series keys) first.
Json volume_head(const VolumeInfo& info) {
    Json j;
    j["id"] = info.id;
    j["source"] = info.source;
    j["format"] = info.format;
    return j;
}

void add_volume_shape(const VolumeInfo& info, Json& j) {
    j["size"] = {info.width, info.height, info.slice_count()};
    j["spacing"] = {info.spacing[0], info.spacing[1], info.spacing[2]};
    j["orientation"] = info.orientation ? Json(*info.orientation) : Json(nullptr);
    j["dtype"] = voxel_type_name(info.type);
}

bool ends_with(const std::string& text, const char* suffix) {
    const std::size_t n = std::char_traits<char>::length(suffix);
    return text.size() >= n && text.compare(text.size() - n, n, suffix) == 0;
}

Json box_json(const UnitBox& b) { return {{"origin", b.origin}, {"size", b.size}}; }

// A unit run's volume: its unit and one row per unit (the records add a kept unit's feature
// with --scope, the manifest the cross-volume match's volume), and the partial units
// dropped at its edges.
void add_units(const VolumeRecord& v, Json& vj, bool record) {
    vj["unit"] = v.unit;
    Json units = Json::array();
    for (const UnitRecord& u : v.units) {
        Json uj;
        uj["index"] = u.index;
        uj["origin"] = u.origin;
        uj["size"] = u.size;
        uj["first_slice"] = u.origin[0];
        uj["end_slice"] = u.origin[0] + u.size[0];
        uj["kept"] = u.kept;
        uj["match"] = optional_json(u.match);
        if (!record) uj["match_volume"] = optional_json(u.match_volume);
        uj["score"] = number_or_null(u.score);
        if (record && u.feature) uj["feature"] = *u.feature;
        uj["output"] = text_or_null(u.output);
        uj["output_npy"] = text_or_null(u.output_npy);
        units.push_back(std::move(uj));
    }
    vj["units"] = std::move(units);
    Json dropped = Json::array();
    for (const UnitBox& b : v.dropped_units) dropped.push_back(box_json(b));
    vj["dropped_units"] = std::move(dropped);
}

}  // namespace

Json volume_info_json(const VolumeInfo& info) {
    Json j = volume_head(info);
    add_volume_shape(info, j);
    return j;
}

Json to_json(const VolumeRecord& v, RecordView view, int patient_depth) {
    const bool record = view == RecordView::Record;
    Json vj = volume_head(v.info);
    if (v.png_offset) vj["png_offset"] = *v.png_offset;
    if (record) {
        // Records keep the digests themselves (empty ones left out); the manifest the keys.
        for (const auto& [key, digest] : {std::pair{"patient", &v.info.patient}, std::pair{"study", &v.info.study},
                                          std::pair{"series", &v.info.series}})
            if (!digest->empty()) vj[key] = *digest;
    } else {
        vj["patient"] = patient_key(v.info, patient_depth);
        vj["study"] = text_or_null(v.info.study);
        vj["series"] = text_or_null(v.info.series);
    }
    add_volume_shape(v.info, vj);
    vj["kept"] = v.kept;
    vj["pairs"] = v.pairs_computed;
    vj["seconds"] = v.seconds;
    if (!v.unit.empty()) {
        add_units(v, vj, record);
        return vj;
    }
    Json slices = Json::array();
    for (const SliceRecord& s : v.slices) {
        const auto& position = s.index < v.info.slices.size() ? v.info.slices[s.index].position : std::nullopt;
        Json sj;
        sj["index"] = s.index;
        sj["file"] = text_or_null(s.file);
        sj["z"] = optional_json(s.z);
        sj["position"] = position ? Json(*position) : Json(nullptr);
        sj["kept"] = s.kept;
        sj["match"] = optional_json(s.match);
        if (record) {
            sj["score"] = number_or_null(s.score);
            if (s.description) sj["hash"] = *s.description;
            if (s.feature) sj["feature"] = *s.feature;
            sj["output"] = text_or_null(s.output);
            if (!s.output_npy.empty()) sj["output_npy"] = s.output_npy;
        } else {
            // Every field on every slice: output is the PNG when one was written, else the
            // NPY; output_png and output_npy name each format's file (docs/output.md).
            sj["match_volume"] = optional_json(s.match_volume);
            sj["score"] = number_or_null(s.score);
            sj["hash"] = s.description ? Json(*s.description) : Json(nullptr);
            sj["output"] = text_or_null(s.output);
            const std::string& npy = ends_with(s.output, ".npy") ? s.output : s.output_npy;
            sj["output_png"] = text_or_null(ends_with(s.output, ".png") ? s.output : std::string());
            sj["output_npy"] = text_or_null(npy);
        }
        slices.push_back(std::move(sj));
    }
    vj["slices"] = std::move(slices);
    return vj;
}

namespace {

// The CSV's columns: the first eleven as before version 0.2.0, then the rest; each a
// slice field (its JSON name), or a volume field or one element of a volume or slice list.
struct CsvColumn {
    const char* name;
    bool volume;        // from the volume object, else from the slice
    const char* field;  // the JSON field
    int element;        // -1: the field itself; else this element of its list
};
constexpr CsvColumn k_csv_columns[] = {
    {"volume", true, "id", -1},
    {"index", false, "index", -1},
    {"file", false, "file", -1},
    {"z", false, "z", -1},
    {"kept", false, "kept", -1},
    {"match", false, "match", -1},
    {"match_volume", false, "match_volume", -1},
    {"score", false, "score", -1},
    {"hash", false, "hash", -1},
    {"output", false, "output", -1},
    {"output_npy", false, "output_npy", -1},
    {"output_png", false, "output_png", -1},
    {"source", true, "source", -1},
    {"format", true, "format", -1},
    {"patient", true, "patient", -1},
    {"study", true, "study", -1},
    {"series", true, "series", -1},
    {"dtype", true, "dtype", -1},
    {"position_x", false, "position", 0},
    {"position_y", false, "position", 1},
    {"position_z", false, "position", 2},
    {"row_cosine_x", true, "orientation", 0},
    {"row_cosine_y", true, "orientation", 1},
    {"row_cosine_z", true, "orientation", 2},
    {"column_cosine_x", true, "orientation", 3},
    {"column_cosine_y", true, "orientation", 4},
    {"column_cosine_z", true, "orientation", 5},
    {"column_spacing", true, "spacing", 0},
    {"row_spacing", true, "spacing", 1},
    {"slice_spacing", true, "spacing", 2},
    {"png_offset", true, "png_offset", -1},
};

// A value as the CSV holds it: empty for null, true/false, integers as integers, other
// numbers with a decimal point or exponent (85.0, not 85), so pandas types the column
// float64 from the text alone.
std::string csv_value(const Json& v) {
    if (v.is_null()) return "";
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_string()) return csv_field(v.get<std::string>());
    if (v.is_number_integer()) return std::to_string(v.get<long long>());
    if (v.is_number_unsigned()) return std::to_string(v.get<unsigned long long>());
    const double number = v.get<double>();
    std::string text = format_number(number == 0.0 ? 0.0 : number);    // -0 as 0
    if (text.find_first_of(".en") == std::string::npos) text += ".0";  // not for 1e+20, inf, nan
    return text;
}

std::string csv_cell(const Json& object, const CsvColumn& c) {
    if (!object.contains(c.field)) return "";
    const Json& v = object[c.field];
    if (c.element < 0) return csv_value(v);
    const auto k = static_cast<std::size_t>(c.element);
    return v.is_array() && k < v.size() ? csv_value(v[k]) : std::string();
}

}  // namespace

namespace {

// The header of a table of `columns`, and its rows: one per element of volume[rows_key], the
// volume's cells computed once. Shared by the slice table and the unit table.
template <std::size_t N>
std::string csv_header(const CsvColumn (&columns)[N]) {
    std::string line;
    for (const CsvColumn& c : columns) line += (line.empty() ? "" : ",") + std::string(c.name);
    return line + "\n";
}

template <std::size_t N>
std::string csv_rows(const Json& volume, const char* rows_key, const CsvColumn (&columns)[N]) {
    std::vector<std::string> fixed;
    for (const CsvColumn& c : columns) fixed.push_back(c.volume ? csv_cell(volume, c) : std::string());
    std::string out;
    for (const Json& row : volume[rows_key]) {
        for (std::size_t k = 0; k < N; ++k) {
            if (k > 0) out += ',';
            out += columns[k].volume ? fixed[k] : csv_cell(row, columns[k]);
        }
        out += '\n';
    }
    return out;
}

}  // namespace

std::string manifest_csv_header() { return csv_header(k_csv_columns); }

std::string manifest_csv_rows(const Json& volume) { return csv_rows(volume, "slices", k_csv_columns); }

namespace {

// A unit run's columns: the volume, the unit's place (first voxel and size, z, y, x), its
// decision and files, then the volume's fields as the slice table has them.
constexpr CsvColumn k_unit_csv_columns[] = {
    {"volume", true, "id", -1},
    {"unit", false, "index", -1},
    {"first_slice", false, "first_slice", -1},
    {"end_slice", false, "end_slice", -1},
    {"origin_z", false, "origin", 0},
    {"origin_y", false, "origin", 1},
    {"origin_x", false, "origin", 2},
    {"size_z", false, "size", 0},
    {"size_y", false, "size", 1},
    {"size_x", false, "size", 2},
    {"kept", false, "kept", -1},
    {"match", false, "match", -1},
    {"match_volume", false, "match_volume", -1},
    {"score", false, "score", -1},
    {"output", false, "output", -1},
    {"output_npy", false, "output_npy", -1},
    {"unit_spec", true, "unit", -1},
    {"source", true, "source", -1},
    {"format", true, "format", -1},
    {"patient", true, "patient", -1},
    {"study", true, "study", -1},
    {"series", true, "series", -1},
    {"dtype", true, "dtype", -1},
};

}  // namespace

std::string manifest_unit_csv_header() { return csv_header(k_unit_csv_columns); }

std::string manifest_unit_csv_rows(const Json& volume) { return csv_rows(volume, "units", k_unit_csv_columns); }

void refuse_unit_run(const RunParameters& p, const std::string& where) {
    if (p.unit == "slice") return;
    throw UsageError(where + ": a run made with --unit " + p.unit +
                     "; this command reads slice runs only (units are not supported here yet)");
}

namespace {

std::array<int, 3> box_side(const Json& j, const char* key) {
    const auto side = get<std::array<int, 3>>(j, key);
    for (int n : side)
        if (n < 0) throw RecordFormatError(std::string("field '") + key + "' is negative");
    return side;
}

void units_from_json(const Json& j, VolumeRecord& v) {
    v.unit = get<std::string>(j, "unit");
    for (const Json& uj : array_field(j, "units")) {
        UnitRecord u;
        u.index = get<std::size_t>(uj, "index");
        u.origin = box_side(uj, "origin");
        u.size = box_side(uj, "size");
        u.kept = get<bool>(uj, "kept");
        u.match = get_optional<std::size_t>(uj, "match");
        u.score = get_optional<double>(uj, "score");
        u.feature = get_optional<std::string>(uj, "feature");
        u.output = text_or_empty(uj, "output");
        u.output_npy = text_or_empty(uj, "output_npy");
        v.units.push_back(std::move(u));
    }
    for (const Json& bj : array_field(j, "dropped_units"))
        v.dropped_units.push_back({box_side(bj, "origin"), box_side(bj, "size")});
}

VolumeRecord volume_record_from_json(const Json& j) {
    VolumeRecord v;
    VolumeInfo& info = v.info;
    info.id = get<std::string>(j, "id");
    info.source = get<std::string>(j, "source");
    info.format = get<std::string>(j, "format");
    const auto size = get<std::vector<std::size_t>>(j, "size");
    const auto spacing = get<std::vector<double>>(j, "spacing");
    if (size.size() != 3 || spacing.size() != 3)
        throw RecordFormatError("field 'size' or 'spacing' does not have 3 values");
    if (size[0] > INT_MAX || size[1] > INT_MAX) throw RecordFormatError("field 'size' is implausible");
    info.width = static_cast<int>(size[0]);
    info.height = static_cast<int>(size[1]);
    info.spacing = {spacing[0], spacing[1], spacing[2]};
    info.orientation = get_optional<std::array<double, 6>>(j, "orientation");
    info.type = voxel_type_of(get<std::string>(j, "dtype"));
    info.patient = get_optional<std::string>(j, "patient").value_or("");
    info.study = get_optional<std::string>(j, "study").value_or("");
    info.series = get_optional<std::string>(j, "series").value_or("");
    v.png_offset = get_optional<std::int64_t>(j, "png_offset");
    v.kept = get<std::size_t>(j, "kept");
    v.pairs_computed = get<std::size_t>(j, "pairs");
    v.seconds = get<double>(j, "seconds");
    if (j.contains("unit")) {
        // A unit run keeps no slice rows: the volume's slice count is its size alone.
        if (size[2] > (std::size_t{1} << 24)) throw RecordFormatError("field 'size' is implausible");
        info.slices.resize(size[2]);
        units_from_json(j, v);
        return v;
    }
    for (const Json& sj : array_field(j, "slices")) {
        SliceRecord s;
        s.index = get<std::size_t>(sj, "index");
        s.file = text_or_empty(sj, "file");
        s.z = get_optional<double>(sj, "z");
        s.kept = get<bool>(sj, "kept");
        s.match = get_optional<std::size_t>(sj, "match");
        s.score = get_optional<double>(sj, "score");
        s.description = get_optional<std::string>(sj, "hash");
        s.feature = get_optional<std::string>(sj, "feature");
        s.output = text_or_empty(sj, "output");
        s.output_npy = text_or_empty(sj, "output_npy");
        info.slices.push_back({s.file, s.z, get_optional<std::array<double, 3>>(sj, "position")});
        v.slices.push_back(std::move(s));
    }
    if (v.slices.size() != size[2]) throw RecordFormatError("field 'slices' does not hold 'size'[2] slices");
    return v;
}

}  // namespace

Json to_json(const SourceRecord& r) {
    Json j;
    j["source"] = r.source;
    j["fingerprint"] = r.fingerprint;
    j["volumes"] = Json::array();
    for (const VolumeRecord& v : r.volumes) j["volumes"].push_back(to_json(v, RecordView::Record));
    j["errors"] = to_json(r.errors);
    j["skipped"] = skipped_json(r.skipped);
    return j;
}

SourceRecord source_record_from_json(const Json& j) {
    SourceRecord r;
    r.source = get<std::string>(j, "source");
    r.fingerprint = text_or_empty(j, "fingerprint");
    for (const Json& v : array_field(j, "volumes")) r.volumes.push_back(volume_record_from_json(v));
    r.errors = errors_from_json(array_field(j, "errors"));
    for (const Json& e : array_field(j, "skipped"))
        r.skipped.push_back({get<std::string>(e, "path"), get<std::string>(e, "reason")});
    validate(r);
    return r;
}

namespace {

const char* merge_state_name(MergeState s) {
    switch (s) {
    case MergeState::Linking:
        return "linking";
    case MergeState::Committed:
        return "committed";
    case MergeState::Moved:
        return "moved";
    }
    return "?";
}

}  // namespace

Json to_json(const MergeJournal& m) {
    Json j = tool_stamp();
    j["shards"] = m.shards;
    j["move"] = m.move;
    j["state"] = merge_state_name(m.state);
    return j;
}

MergeJournal merge_journal_from_json(const Json& j) {
    if (get<std::string>(j, "tool") != "lessmore") throw RecordFormatError("not written by lessmore");
    MergeJournal m;
    m.shards = get<std::vector<std::string>>(j, "shards");
    m.move = get<bool>(j, "move");
    m.state = named(get<std::string>(j, "state"), {MergeState::Linking, MergeState::Committed, MergeState::Moved},
                    &merge_state_name, "state");
    return m;
}

std::string patient_key(const VolumeInfo& info, int depth) {
    if (!info.patient.empty()) return "patient:" + info.patient;
    std::string group;
    std::size_t start = 0;
    for (int level = 0; level < depth && start <= info.id.size(); ++level) {
        const std::size_t slash = info.id.find('/', start);
        const std::string part = info.id.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        group += (level ? "/" : "") + part.substr(0, part.find('#'));  // '#' only ever marks a series
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return "folder:" + group;
}

Json to_json(const RunSummary& s) {
    Json j = {{"volumes", s.volumes}, {"slices", s.slices},   {"kept", s.kept},      {"pairs", s.pairs},
              {"failed", s.failed},   {"skipped", s.skipped}, {"seconds", s.seconds}};
    if (s.across_volumes) {
        j["removed_across_volumes"] = s.removed_across;
        j["duplicate_volumes"] = s.duplicate_volumes;
    }
    return j;
}

Json duplicates_json(const std::vector<VolumeDuplicate>& duplicates) {
    Json out = Json::array();
    for (const VolumeDuplicate& d : duplicates)
        out.push_back({{"volume", d.volume}, {"of", d.of}, {"fraction", d.fraction}});
    return out;
}

Json skipped_json(const std::vector<InputFailure>& skipped) {
    Json out = Json::array();
    for (const InputFailure& e : skipped) out.push_back({{"path", e.path}, {"reason", e.message}});
    return out;
}

Json to_json(const std::vector<InputFailure>& errors) {
    Json out = Json::array();
    for (const InputFailure& e : errors) out.push_back({{"path", e.path}, {"message", e.message}});
    return out;
}

std::string run_mismatch(const RunFile& previous, const RunFile& now) {
    return first_difference(run_identity(previous), run_identity(now), "");
}

std::string dump_json(const Json& j) { return j.dump(1, ' ', false, Json::error_handler_t::replace); }

std::string csv_field(const std::string& text) {
    // A spreadsheet runs a cell that starts with = + - @ (or tab, CR) as a formula: such
    // text gets a leading apostrophe, as OWASP recommends (numbers are written elsewhere).
    const bool formula = !text.empty() && std::string("=+-@\t\r").find(text[0]) != std::string::npos;
    const std::string s = formula ? "'" + text : text;
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

Json tool_stamp() { return {{"tool", "lessmore"}, {"version", version()}}; }

}  // namespace lessmore
