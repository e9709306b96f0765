#include <lessmore/manifest.hpp>

#include "pipeline/run_record.hpp"

#include <map>
#include <vector>

namespace lessmore {

using Json = OrderedJson;

const char* version() { return LESSMORE_VERSION; }

std::map<std::string, std::vector<std::string>> shared_series(const InfoResult& result) {
    std::map<std::string, std::vector<std::string>> by_uid;  // SeriesInstanceUID -> volume ids
    for (const VolumeInfo& v : result.volumes)
        if (!v.series_uid.empty()) by_uid[v.series_uid].push_back(v.id);
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& [uid, ids] : by_uid) {
        if (ids.size() < 2) continue;
        for (const std::string& id : ids)
            for (const std::string& other : ids)
                if (other != id) out[id].push_back(other);
    }
    return out;
}

std::string volumes_json(const InfoResult& result) {
    Json j;
    Json volumes = Json::array();
    const auto shared = shared_series(result);
    for (const VolumeInfo& info : result.volumes) {
        Json v = volume_info_json(info);
        const auto it = shared.find(info.id);
        if (it != shared.end()) v["shares_series_uid_with"] = it->second;
        volumes.push_back(std::move(v));
    }
    j["volumes"] = std::move(volumes);
    j["errors"] = to_json(result.errors);
    j["skipped"] = skipped_json(result.skipped);
    return dump_json(j) + "\n";
}

std::string summary_json(const ReduceResult& result) {
    Json j;
    j["summary"] = to_json(result.summary);  // as the manifest has it
    if (result.summary.across_volumes) j["duplicates"] = duplicates_json(result.duplicates);
    Json volumes = Json::array();
    for (const VolumeSummary& v : result.volumes)
        volumes.push_back({{"id", v.id}, {"slices", v.slices}, {"kept", v.kept}});
    j["volumes"] = std::move(volumes);
    j["errors"] = to_json(result.errors);
    j["skipped"] = skipped_json(result.skipped);
    return dump_json(j) + "\n";
}

}  // namespace lessmore
