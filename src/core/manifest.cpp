#include <lessmore/manifest.hpp>

#include "core/output_store.hpp"

namespace lessmore {

using Json = OrderedJson;

const char* version() { return LESSMORE_VERSION; }

std::string volumes_json(const InspectResult& result) {
    Json j;
    Json volumes = Json::array();
    for (const VolumeInfo& info : result.volumes) {
        Json v;
        v["id"] = info.id;
        v["source"] = info.source;
        v["format"] = info.format;
        v["size"] = {info.width, info.height, info.slice_count()};
        v["spacing"] = {info.spacing[0], info.spacing[1], info.spacing[2]};
        v["dtype"] = voxel_type_name(info.type);
        volumes.push_back(std::move(v));
    }
    j["volumes"] = std::move(volumes);
    j["errors"] = errors_json(result.errors);
    return j.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string summary_json(const ReduceResult& result) {
    const RunSummary& s = result.summary;
    Json j;
    j["summary"] = {{"volumes", s.volumes}, {"slices", s.slices}, {"kept", s.kept},
                    {"pairs", s.pairs},     {"failed", s.failed}, {"seconds", s.seconds}};
    Json volumes = Json::array();
    for (const VolumeSummary& v : result.volumes) volumes.push_back({{"id", v.id}, {"slices", v.slices}, {"kept", v.kept}});
    j["volumes"] = std::move(volumes);
    j["errors"] = errors_json(result.errors);
    return j.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace lessmore
