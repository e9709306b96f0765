#include <lessmore/manifest.hpp>

#include "pipeline/run_record.hpp"

namespace lessmore {

using Json = OrderedJson;

const char* version() { return LESSMORE_VERSION; }

std::string volumes_json(const InfoResult& result) {
    Json j;
    Json volumes = Json::array();
    for (const VolumeInfo& info : result.volumes) volumes.push_back(volume_info_json(info));
    j["volumes"] = std::move(volumes);
    j["errors"] = to_json(result.errors);
    return dump_json(j) + "\n";
}

std::string summary_json(const ReduceResult& result) {
    const RunSummary& s = result.summary;
    Json j;
    j["summary"] = {{"volumes", s.volumes}, {"slices", s.slices}, {"kept", s.kept},
                    {"pairs", s.pairs},     {"failed", s.failed}, {"seconds", s.seconds}};
    Json volumes = Json::array();
    for (const VolumeSummary& v : result.volumes) volumes.push_back({{"id", v.id}, {"slices", v.slices}, {"kept", v.kept}});
    j["volumes"] = std::move(volumes);
    j["errors"] = to_json(result.errors);
    return dump_json(j) + "\n";
}

}  // namespace lessmore
