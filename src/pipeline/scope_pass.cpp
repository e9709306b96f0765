#include "pipeline/scope_pass.hpp"

#include <lessmore/cross_volume.hpp>
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/neighbour_index.hpp>

#include "pipeline/metric_loader.hpp"
#include "pipeline/unit_features.hpp"

#include <algorithm>
#include <memory>

namespace lessmore {
namespace {

// One volume's kept slices as the pass sees them.
struct ScopeVolume {
    std::string id;
    std::string group;
    std::vector<std::size_t> index;  // slice index of each kept slice
    std::vector<std::unique_ptr<Feature>> features;
    std::vector<std::vector<std::string>> outputs;  // each kept slice's written files, relative to OUT
};

// The kept rows (slices or units) of a volume into sv: feature, index and files.
template <typename Row, typename Text>
void add_kept_rows(const std::vector<Row>& rows, const char* what, const std::string& id, const Metric& metric,
                   ScopeVolume& sv, Text text_of) {
    for (const Row& r : rows) {
        if (!r.kept) continue;
        const auto text = text_of(r);
        if (!text) throw Error("the record of " + id + " keeps no feature for " + what + " " + std::to_string(r.index));
        try {
            sv.features.push_back(metric.feature_from_text(*text));
        } catch (const Error& e) {
            throw Error("the record of " + id + ", " + what + " " + std::to_string(r.index) + ": " + e.what());
        }
        sv.index.push_back(r.index);
        std::vector<std::string> files;
        for (const std::string* rel : {&r.output, &r.output_npy})
            if (!rel->empty()) files.push_back(*rel);
        sv.outputs.push_back(std::move(files));
    }
}

std::vector<ScopeVolume> volumes_of(const OutputStore& store, const std::string& source, const RunParameters& p,
                                    const Metric& metric) {
    std::string damage;
    const auto record = store.read_record(source, &damage);
    if (!record) throw Error(damage.empty() ? "the record of " + source + " is missing" : damage);
    std::vector<ScopeVolume> out;
    for (const VolumeRecord& v : record->volumes) {
        ScopeVolume sv;
        sv.id = v.info.id;
        sv.group = p.scope == Scope::Patient ? patient_key(v.info, p.patient_depth) : "dataset";
        // A unit run's rows (docs/methods.md, "Scope on units") keep their feature; a slice's
        // may be its description (HASH).
        add_kept_rows(v.units, "unit", v.info.id, metric, sv, [](const UnitRecord& u) { return u.feature; });
        add_kept_rows(v.slices, "slice", v.info.id, metric, sv,
                      [](const SliceRecord& r) { return r.feature ? r.feature : r.description; });
        out.push_back(std::move(sv));
    }
    return out;
}

// The records are read and parsed in parallel (a dataset has thousands); a failure is the
// first failing source's, whatever the thread count.
std::vector<ScopeVolume> read_volumes(const OutputStore& store, const std::vector<std::string>& source_ids,
                                      const RunParameters& p, const Metric& metric, ThreadPool& pool,
                                      const CancelToken& cancel) {
    std::vector<std::vector<ScopeVolume>> per_source(source_ids.size());
    pool.parallel_for(source_ids.size(), [&](std::size_t i) {
        cancel.check();
        per_source[i] = volumes_of(store, source_ids[i], p, metric);
    });
    std::vector<ScopeVolume> out;
    for (auto& volumes : per_source)
        for (ScopeVolume& v : volumes) out.push_back(std::move(v));
    std::sort(out.begin(), out.end(), [](const ScopeVolume& a, const ScopeVolume& b) { return a.id < b.id; });
    return out;
}

}  // namespace

std::size_t ScopeOutcome::removed_count() const {
    std::size_t n = 0;
    for (const auto& [id, slices] : removed) n += slices.size();
    return n;
}

ScopeOutcome scope_pass(const OutputStore& store, const std::vector<std::string>& source_ids, const RunParameters& p,
                        ThreadPool& pool, const CancelToken& cancel, const Metric* run_metric) {
    ScopeOutcome out;
    if (p.scope == Scope::Volume) return out;
    // The run's own metric when the caller has it (a model loaded once; a caller's runner,
    // which the records cannot name); else the one the records describe.
    const std::unique_ptr<Metric> loaded = run_metric ? nullptr : load_metric(p.metric_options());
    const Metric* metric = run_metric ? run_metric : loaded.get();
    // HASH units compare their crops' hashes position by position (pipeline/unit_features.hpp);
    // DeepNet units are one embedding each, compared as slices are.
    std::unique_ptr<Metric> unit_hash;
    if (p.unit != "slice" && metric->name() == "hash") {
        unit_hash = std::make_unique<UnitHashMetric>(*metric);
        metric = unit_hash.get();
    }
    const double threshold = *p.scope_threshold;
    const std::vector<ScopeVolume> volumes = read_volumes(store, source_ids, p, *metric, pool, cancel);
    std::map<std::string, std::vector<const ScopeVolume*>> groups;  // each in id order
    for (const ScopeVolume& v : volumes) groups[v.group].push_back(&v);
    for (const auto& [group, members] : groups) {
        cancel.check();
        std::vector<std::vector<const Feature*>> features;
        for (const ScopeVolume* v : members) {
            features.emplace_back();
            for (const auto& f : v->features) features.back().push_back(f.get());
            if (p.scope == Scope::Patient) out.groups[v->id] = group;
        }
        if (members.size() < 2) continue;
        const CrossDecisions decisions = cross_volume_pass(
            features, *metric, threshold, [&] { return metric->make_index(threshold, pool.size()); }, pool);
        for (std::size_t v = 0; v < members.size(); ++v)
            for (std::size_t k = 0; k < decisions[v].size(); ++k) {
                if (!decisions[v][k]) continue;
                const CrossMatch& m = *decisions[v][k];
                out.removed[members[v]->id][members[v]->index[k]] =
                    ScopeMatch{members[m.volume]->id, members[m.volume]->index[m.kept], m.score};
                for (const std::string& rel : members[v]->outputs[k]) out.removed_files.push_back(rel);
            }
        for (const DuplicateVolume& d : duplicate_volumes(decisions, p.duplicate_fraction))
            out.duplicates.push_back({members[d.volume]->id, members[d.of]->id, d.fraction});
    }
    std::sort(out.duplicates.begin(), out.duplicates.end(),
              [](const VolumeDuplicate& a, const VolumeDuplicate& b) { return a.volume < b.volume; });
    out.applied = true;
    return out;
}

void remove_scope_outputs(const OutputStore& store, const ScopeOutcome& o) {
    for (const std::string& rel : o.removed_files) store.remove_output(rel);
    // A volume folder left empty goes too (never one that is not empty).
    for (const std::string& rel : o.removed_files) {
        const std::string dir = rel.substr(0, rel.rfind('/'));
        if (dir != "slices") store.remove_empty_folder(dir);
    }
}

namespace {

// The rows (slices or units) the pass removed: kept false, the match it found, no files.
template <typename Row, typename Removed>
std::size_t remove_rows(std::vector<Row>& rows, const Removed& removed) {
    std::size_t n = 0;
    for (Row& r : rows) {
        const auto m = removed.find(r.index);
        if (m == removed.end() || !r.kept) continue;
        r.kept = false;
        r.match = m->second.index;
        r.match_volume = m->second.volume;
        r.score = m->second.score;
        r.output.clear();
        r.output_npy.clear();
        ++n;
    }
    return n;
}

}  // namespace

std::size_t apply_scope(const ScopeOutcome& o, VolumeRecord& v) {
    const auto it = o.removed.find(v.info.id);
    if (it == o.removed.end()) return 0;
    const std::size_t n = remove_rows(v.slices, it->second) + remove_rows(v.units, it->second);
    v.kept -= n;
    return n;
}

}  // namespace lessmore
