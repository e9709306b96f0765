#include <lessmore/manifest.hpp>

#include <nlohmann/json.hpp>

#include <cmath>

namespace lessmore {

using Json = nlohmann::ordered_json;

const char* version() { return LESSMORE_VERSION; }

namespace {

Json number_or_null(const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return nullptr;
    // Whole numbers (Hamming distances, most z) print without a fraction.
    if (std::floor(*v) == *v && std::fabs(*v) < 9e15) return static_cast<long long>(*v);
    return *v;
}

Json volume_header(const VolumeInfo& info) {
    Json v;
    v["id"] = info.id;
    v["source"] = info.source;
    v["format"] = info.format;
    v["size"] = {info.width, info.height, info.slice_count()};
    v["spacing"] = {info.spacing[0], info.spacing[1], info.spacing[2]};
    v["dtype"] = voxel_type_name(info.type);
    return v;
}

Json errors_json(const std::vector<InputFailure>& errors) {
    Json out = Json::array();
    for (const InputFailure& e : errors) out.push_back({{"path", e.path}, {"message", e.message}});
    return out;
}

Json summary(const RunSummary& s) {
    return {{"volumes", s.volumes}, {"slices", s.slices}, {"kept", s.kept},     {"pairs", s.pairs},
            {"failed", s.failed},   {"seconds", s.seconds}};
}

Json parameters(const ReduceConfig& c, const ReduceResult& r) {
    Json p;
    p["inputs"] = c.inputs;
    p["method"] = c.method;
    p["threshold"] = number_or_null(c.threshold);
    p["fraction"] = c.fraction ? Json(*c.fraction) : Json(nullptr);
    p["every"] = c.every ? Json(*c.every) : Json(nullptr);
    p["neighbours"] = c.neighbours ? Json(*c.neighbours) : Json(nullptr);
    p["strategy"] = c.method == "everyn" ? Json(nullptr) : Json(strategy_name(c.resolved_strategy()));
    p["order"] = order_name(c.order);
    p["intensity"] = c.intensity.to_string();
    for (const auto& [name, value] : r.metric_parameters) p[name] = Json::parse(value);
    p["format"] = format_name(c.format);
    p["flat"] = c.flat;
    return p;
}

// RFC 4180 quoting, only where needed.
std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

std::string csv_number(const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return "";
    return format_number(*v);
}

}  // namespace

std::string manifest_json(const ReduceConfig& config, const ReduceResult& result) {
    Json j;
    j["tool"] = "lessmore";
    j["version"] = version();
    j["run"] = {{"command", config.command_line},
                {"threads", result.threads},
                {"started", result.started},
                {"seconds", result.summary.seconds}};
    j["parameters"] = parameters(config, result);
    j["summary"] = summary(result.summary);
    j["errors"] = errors_json(result.errors);
    Json volumes = Json::array();
    for (const VolumeRecord& v : result.volumes) {
        Json vj = volume_header(v.info);
        vj["kept"] = v.kept;
        vj["pairs"] = v.pairs_computed;
        vj["seconds"] = v.seconds;
        Json slices = Json::array();
        for (const SliceRecord& s : v.slices) {
            Json sj;
            sj["index"] = s.index;
            sj["file"] = s.file.empty() ? Json(nullptr) : Json(s.file);
            sj["z"] = s.z ? Json(*s.z) : Json(nullptr);
            sj["kept"] = s.kept;
            sj["match"] = s.match ? Json(*s.match) : Json(nullptr);
            sj["score"] = number_or_null(s.score);
            if (s.hash) sj["hash"] = *s.hash;
            sj["output"] = s.output.empty() ? Json(nullptr) : Json(s.output);
            if (!s.output_npy.empty()) sj["output_npy"] = s.output_npy;
            slices.push_back(std::move(sj));
        }
        vj["slices"] = std::move(slices);
        volumes.push_back(std::move(vj));
    }
    j["volumes"] = std::move(volumes);
    return j.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string manifest_csv(const ReduceResult& result) {
    std::string out = "volume,index,file,z,kept,match,score,hash,output,output_npy\n";
    for (const VolumeRecord& v : result.volumes) {
        const std::string id = csv_field(v.info.id);
        for (const SliceRecord& s : v.slices) {
            out += id;
            out += ',' + std::to_string(s.index);
            out += ',' + csv_field(s.file);
            out += ',' + csv_number(s.z);
            out += s.kept ? ",true" : ",false";
            out += ',' + (s.match ? std::to_string(*s.match) : std::string());
            out += ',' + csv_number(s.score);
            out += ',' + (s.hash ? *s.hash : std::string());
            out += ',' + csv_field(s.output);
            out += ',' + csv_field(s.output_npy);
            out += '\n';
        }
    }
    return out;
}

std::string volumes_json(const InspectResult& result) {
    Json j;
    Json volumes = Json::array();
    for (const VolumeInfo& info : result.volumes) volumes.push_back(volume_header(info));
    j["volumes"] = std::move(volumes);
    j["errors"] = errors_json(result.errors);
    return j.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string summary_json(const ReduceResult& result) {
    Json j;
    j["summary"] = summary(result.summary);
    Json volumes = Json::array();
    for (const VolumeRecord& v : result.volumes)
        volumes.push_back({{"id", v.info.id}, {"slices", v.slices.size()}, {"kept", v.kept}});
    j["volumes"] = std::move(volumes);
    j["errors"] = errors_json(result.errors);
    return j.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace lessmore
