// `lessmore split`: a finished run's kept slices dealt to training, validation and test
// with no similar slices across them (docs/split.md).
#include <lessmore/split.hpp>

#include <lessmore/data_split.hpp>
#include <lessmore/error.hpp>
#include <lessmore/files.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/pruning.hpp>

#include "pipeline/metric_loader.hpp"
#include "pipeline/output_store.hpp"
#include "pipeline/scope_pass.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

const char* const k_split_names[] = {"training", "validation", "test"};

// One kept slice (kept by its volume's own reduction) as split sees it.
struct SplitSlice {
    std::size_t volume = 0;  // index into SplitData::volumes
    std::size_t index = 0;   // the manifest's slice index
    std::size_t unit = 0;
    std::size_t patient = 0;
    bool listed = false;  // kept in the run's result (not removed by its cross-volume pass)
    bool below = false;   // below the information floor: links nothing, not listed
    std::string image;    // relative to the datalist's folder
    std::unique_ptr<Feature> feature;
    const UnitRecord* unit_row = nullptr;  // a unit run: the kept unit (index is its index)
};

struct SplitData {
    std::vector<const VolumeRecord*> volumes;  // by id
    std::vector<std::string> units;            // keys, sorted
    std::vector<std::string> patients;         // keys, sorted
    std::vector<std::size_t> volume_unit;      // per volume
    std::vector<std::size_t> volume_patient;   // per volume
    std::vector<SplitSlice> slices;            // by volume, then index
};

void check_fractions(const std::vector<double>& f) {
    if (f.size() < 2 || f.size() > 3) {
        throw UsageError("--fractions: give 2 or 3 fractions (training,validation[,test]), not " +
                         std::to_string(f.size()));
    }
    double sum = 0.0;
    for (const double x : f) {
        if (!(x > 0.0) || !std::isfinite(x)) {
            throw UsageError("--fractions: " + format_number(x) + " is not a fraction above 0");
        }
        sum += x;
    }
    if (std::fabs(sum - 1.0) > 1e-6) throw UsageError("--fractions: they sum to " + format_number(sum) + ", not 1");
}

// The datalist and the CSV beside it: refused when they exist (without --force), when
// their folder does not, or when they would land among the run's own files.
std::pair<fs::path, fs::path> check_outputs(const SplitConfig& c) {
    const fs::path json(c.output);
    if (json.extension() != ".json" || json.stem().empty()) {
        throw UsageError("-o: '" + c.output + "' does not end in .json (the CSV is written beside it as .csv)");
    }
    fs::path csv = json;
    csv.replace_extension(".csv");
    std::error_code ec;
    const fs::path folder = json.has_parent_path() ? json.parent_path() : fs::path(".");
    if (!fs::is_directory(folder, ec)) throw UsageError("-o: folder '" + path_text(folder) + "' does not exist");
    const fs::path run = resolved_path(c.run);
    for (const fs::path& p : {json, csv}) {
        const fs::path r = resolved_path(p);
        for (const char* own : {".lessmore", "slices", "report", "manifest.json", "manifest.csv", "report.html"})
            if (path_within(r, run / own)) throw UsageError("-o: '" + path_text(p) + "' is one of the run's own files");
        if (!c.force && fs::symlink_status(p, ec).type() != fs::file_type::not_found)
            throw UsageError("-o: '" + path_text(p) + "' exists (use --force to replace it)");
    }
    return {json, csv};
}

std::string unit_key(const VolumeInfo& info, SplitUnit by, int depth) {
    switch (by) {
    case SplitUnit::Patient:
        return patient_key(info, depth);
    case SplitUnit::Study:
        if (!info.study.empty()) return "study:" + info.study;
        break;
    case SplitUnit::Series:
        if (!info.series.empty()) return "series:" + info.series;
        break;
    case SplitUnit::Volume:
        break;
    }
    return "volume:" + info.id;
}

// `target` relative to the folder `base` (both absolute), or `target` itself when it has none.
std::string relative_to(const fs::path& target, const fs::path& base) {
    const fs::path rel = target.lexically_relative(base);
    return (rel.empty() ? target : rel).generic_string();
}

// The run's metric, its threshold and floor, checked: a run whose metric cannot compare
// slices across volumes is refused.
std::unique_ptr<Metric> split_metric(const SplitConfig& c, const RunParameters& p, SplitResult& r) {
    r.method = p.metric.method;
    if (r.method == "everyn") {
        throw UsageError(c.run +
                         ": made with --method everyn, which compares no slices; split needs a run made "
                         "with --method hash or deepnet");
    }
    const std::optional<double> t = c.threshold ? c.threshold : p.scope_threshold ? p.scope_threshold : p.threshold;
    if (!t) throw UsageError("--threshold: the run was made with --fraction and has no threshold; give one");
    r.threshold = *t;
    std::unique_ptr<Metric> metric = load_metric(p.metric_options());
    metric->check_threshold(r.threshold);
    if (!c.no_floor) {
        // The floor compares each slice with a blank one, which needs the model; embeddings
        // that came from --features or a Python function (embed=) have none here.
        if (p.model && (p.model->runtime == "features" || p.model->runtime == "callback")) {
            throw UsageError("--floor: " + c.run + " took its embeddings from " +
                             (p.model->runtime == "features" ? p.model->name : std::string("a Python function")) +
                             ", with no model here to embed the blank slice the floor compares with; give "
                             "--floor none");
        }
        r.floor = c.floor.value_or(r.threshold);
        try {
            metric->check_threshold(*r.floor);
        } catch (const UsageError& e) {
            const std::string m = e.what();
            throw UsageError(m.rfind("--threshold", 0) == 0 ? "--floor" + m.substr(11) : "--floor: " + m);
        }
    }
    if (!metric->make_index(r.threshold, 1)) {
        throw UsageError(c.run + ": made with --method " + r.method +
                         ", which has no cross-volume index; split needs a run made with --method hash or deepnet");
    }
    return metric;
}

// Each volume's unit and patient, as indexes into the sorted keys.
void key_volumes(const SplitConfig& c, const RunParameters& p, SplitData& d) {
    std::map<std::string, std::size_t> units, patients;
    for (const VolumeRecord* v : d.volumes) {
        units.emplace(unit_key(v->info, c.by, p.patient_depth), 0);
        patients.emplace(patient_key(v->info, p.patient_depth), 0);
    }
    for (auto* m : {&units, &patients}) {
        std::size_t k = 0;
        for (auto& [key, index] : *m) {
            index = k++;
            (m == &units ? d.units : d.patients).push_back(key);
        }
    }
    for (const VolumeRecord* v : d.volumes) {
        d.volume_unit.push_back(units.at(unit_key(v->info, c.by, p.patient_depth)));
        d.volume_patient.push_back(patients.at(patient_key(v->info, p.patient_depth)));
    }
}

// Each volume-kept slice's feature (from the records), unit, patient, image and floor test.
void read_slices(const SplitConfig& c, const RunParameters& p, const Metric& metric, const SplitResult& r,
                 const ScopeOutcome& scope, const fs::path& datalist_folder, ThreadPool& pool, SplitData& d) {
    key_volumes(c, p, d);
    const fs::path run = resolved_path(c.run);
    const std::unique_ptr<Feature> empty = r.floor ? metric.prepare(Image8(64, 64)) : nullptr;  // all zeros
    std::vector<std::vector<SplitSlice>> per_volume(d.volumes.size());
    pool.parallel_for(d.volumes.size(), [&](std::size_t k) {
        const VolumeRecord& v = *d.volumes[k];
        const auto removed = scope.removed.find(v.info.id);
        const fs::path source = resolved_path(v.info.source);
        for (const SliceRecord& s : v.slices) {
            if (!s.kept) continue;
            const auto& text = s.feature ? s.feature : s.description;
            if (!text) {
                throw UsageError(c.run + ": the records keep no feature for volume '" + v.info.id + "' (a " + r.method +
                                 " run made without --scope keeps none); reduce with --scope dataset");
            }
            SplitSlice x;
            try {
                x.feature = metric.feature_from_text(*text);
            } catch (const Error& e) {
                throw UsageError(c.run + ": volume '" + v.info.id + "', slice " + std::to_string(s.index) + ": " +
                                 e.what());
            }
            x.volume = k;
            x.index = s.index;
            x.unit = d.volume_unit[k];
            x.patient = d.volume_patient[k];
            x.listed = removed == scope.removed.end() || removed->second.count(s.index) == 0;
            x.below = r.floor && is_similar(metric.sense(), metric.compare(*x.feature, *empty), *r.floor);
            x.image = relative_to(s.output.empty() ? (s.file.empty() ? source : source / s.file) : run / s.output,
                                  datalist_folder);
            per_volume[k].push_back(std::move(x));
        }
    });
    for (auto& slices : per_volume)
        for (SplitSlice& x : slices) d.slices.push_back(std::move(x));
}

// A unit run (--unit slab|patch; docs/split.md, section "Unit runs"): its kept units, each
// a datalist row naming its file (the NIfTI, else the NPY, else the source volume). Units
// carry no feature in the records, so nothing ties two split units: each is its own group.
void read_units(const SplitConfig& c, const RunParameters& p, const fs::path& datalist_folder, SplitData& d) {
    key_volumes(c, p, d);
    const fs::path run = resolved_path(c.run);
    for (std::size_t k = 0; k < d.volumes.size(); ++k) {
        const VolumeRecord& v = *d.volumes[k];
        for (const UnitRecord& u : v.units) {
            if (!u.kept) continue;
            SplitSlice x;
            x.volume = k;
            x.index = u.index;
            x.unit = d.volume_unit[k];
            x.patient = d.volume_patient[k];
            x.listed = true;
            x.unit_row = &u;
            const std::string& file = u.output.empty() ? u.output_npy : u.output;
            x.image = relative_to(file.empty() ? resolved_path(v.info.source) : run / file, datalist_folder);
            d.slices.push_back(std::move(x));
        }
    }
}

// --threshold and --floor compare features, which a unit run's records do not hold.
void check_unit_split(const SplitConfig& c, const RunParameters& p, SplitResult& r) {
    r.method = p.metric.method;
    r.units_run = p.unit;
    const char* option = c.threshold ? "--threshold" : c.floor ? "--floor" : nullptr;
    if (option) {
        throw UsageError(std::string(option) + ": " + c.run + " is a unit run (--unit " + p.unit +
                         "), whose units carry no feature to compare; split deals its units by --by alone");
    }
}

SplitGroup group_info(const SplitData& d, const std::vector<std::size_t>& group_of, std::size_t g) {
    SplitGroup out;
    std::set<std::string> patients;
    for (std::size_t u = 0; u < d.units.size(); ++u)
        if (group_of[u] == g) out.units.push_back(d.units[u]);
    for (std::size_t k = 0; k < d.volumes.size(); ++k)
        if (group_of[d.volume_unit[k]] == g) patients.insert(d.patients[d.volume_patient[k]]);
    out.patients.assign(patients.begin(), patients.end());
    return out;
}

// Units tied into groups, and each group's split.
struct Assignment {
    std::vector<SplitItem> items;         // the slices that link (above the floor)
    std::vector<std::size_t> item_slice;  // item -> index into SplitData::slices
    std::vector<std::size_t> group_of;    // per unit
    std::vector<std::size_t> slices;      // per group: its slices in the datalist
    std::vector<std::size_t> split_of;    // per group
};

// A threshold as run.json writes it: whole numbers (Hamming distances) without a fraction.
OrderedJson threshold_json(double v) {
    if (std::floor(v) == v && std::fabs(v) < 9e15) return static_cast<long long>(v);
    return v;
}

bool in_datalist(const SplitSlice& x) { return x.listed && !x.below; }

// A unit run: each split unit its own group (nothing ties them), dealt as slices' groups are.
Assignment assign_alone(const SplitConfig& c, const SplitData& d) {
    Assignment a;
    a.group_of.resize(d.units.size());
    for (std::size_t u = 0; u < d.units.size(); ++u) a.group_of[u] = u;
    a.slices.assign(d.units.size(), 0);
    for (const SplitSlice& x : d.slices)
        if (in_datalist(x)) ++a.slices[x.unit];
    a.split_of = assign_splits(a.slices, c.fractions, c.seed);
    return a;
}

Assignment assign(const SplitConfig& c, const SplitData& d, const Metric& metric, double threshold, ThreadPool& pool) {
    Assignment a;
    for (std::size_t k = 0; k < d.slices.size(); ++k) {
        if (d.slices[k].below) continue;
        a.items.push_back({d.slices[k].unit, d.slices[k].feature.get()});
        a.item_slice.push_back(k);
    }
    const IndexFactory make_index = [&] { return metric.make_index(threshold, pool.size()); };
    a.group_of = link_units(d.units.size(), a.items, metric, threshold, make_index, pool);
    const std::size_t groups = d.units.empty() ? 0 : *std::max_element(a.group_of.begin(), a.group_of.end()) + 1;
    a.slices.assign(groups, 0);
    for (const SplitSlice& x : d.slices)
        if (in_datalist(x)) ++a.slices[a.group_of[x.unit]];
    a.split_of = assign_splits(a.slices, c.fractions, c.seed);
    return a;
}

// The check, over the datalist as assigned: similar pairs in different splits (must be
// none), the pairs a plain per-patient split (the same dealing, each patient alone)
// would put apart, and each group's pairs between different patients.
std::vector<std::size_t> check(const SplitConfig& c, const SplitData& d, const Assignment& a, const Metric& metric,
                               double threshold, ThreadPool& pool, SplitResult& r) {
    std::vector<std::size_t> patient_slices(d.patients.size(), 0);
    std::vector<std::size_t> split_of_slice(d.slices.size(), 0);
    for (std::size_t k = 0; k < d.slices.size(); ++k) {
        if (!in_datalist(d.slices[k])) continue;
        ++patient_slices[d.slices[k].patient];
        split_of_slice[k] = a.split_of[a.group_of[d.slices[k].unit]];
    }
    const std::vector<std::size_t> plain = assign_splits(patient_slices, c.fractions, c.seed);
    std::vector<std::size_t> pairs(a.slices.size(), 0);
    const IndexFactory make_index = [&] { return metric.make_index(threshold, pool.size()); };
    similar_pairs(a.items, metric, threshold, make_index, pool, [&](std::size_t i, std::size_t j) {
        const std::size_t xi = a.item_slice[i], yi = a.item_slice[j];
        const SplitSlice &x = d.slices[xi], &y = d.slices[yi];
        if (x.patient != y.patient) ++pairs[a.group_of[x.unit]];
        if (!x.listed || !y.listed) return;
        if (split_of_slice[xi] != split_of_slice[yi]) ++r.cross_split_pairs;
        if (plain[x.patient] != plain[y.patient]) ++r.patient_split_pairs;
    });
    return pairs;
}

OrderedJson entry(const SplitData& d, const SplitSlice& x, std::size_t group) {
    OrderedJson j;
    j["image"] = x.image;
    j["volume"] = d.volumes[x.volume]->info.id;
    j["patient"] = d.patients[x.patient];
    if (const UnitRecord* u = x.unit_row) {
        j["unit"] = u->index;
        j["first_slice"] = u->origin[0];
        j["end_slice"] = u->origin[0] + u->size[0];
        j["origin"] = u->origin;
        j["size"] = u->size;
    } else {
        j["slice"] = x.index;
    }
    j["group"] = group;
    return j;
}

OrderedJson group_json(const SplitGroup& g) {
    OrderedJson j;
    j["units"] = g.units;
    j["patients"] = g.patients;
    j["slices"] = g.slices;
    j["pairs"] = g.pairs;
    j["split"] = g.split;
    return j;
}

OrderedJson summary_json(const SplitConfig& c, const SplitData& d, const Assignment& a, const SplitResult& r) {
    OrderedJson j = tool_stamp();
    j["run"] = c.run;
    j["method"] = r.method;
    if (!r.units_run.empty()) j["unit"] = r.units_run;
    j["threshold"] = r.units_run.empty() ? threshold_json(r.threshold) : OrderedJson();
    j["floor"] = r.floor ? threshold_json(*r.floor) : OrderedJson();
    j["by"] = split_unit_name(c.by);
    j["fractions"] = c.fractions;
    j["seed"] = c.seed;
    for (const SplitPart& p : r.parts)
        j["splits"][p.name] = {
            {"fraction", p.fraction}, {"units", p.units}, {"groups", p.groups}, {"slices", p.slices}};
    j["units"] = r.units;
    j["groups"] = r.groups;
    j["largest_group"] = group_json(r.largest);
    j["excluded"] = r.excluded;
    j["cross_split_pairs"] = r.cross_split_pairs;
    j["patient_split_pairs"] = r.patient_split_pairs;
    j["leaky_groups"] = OrderedJson::array();
    for (const SplitGroup& g : r.leaky) j["leaky_groups"].push_back(group_json(g));
    j["assignment"] = OrderedJson::array();
    for (std::size_t u = 0; u < d.units.size(); ++u) {
        const std::size_t g = a.group_of[u];
        j["assignment"].push_back({{"unit", d.units[u]}, {"group", g}, {"split", k_split_names[a.split_of[g]]}});
    }
    return j;
}

// SPLITS.json (summary, the splits, then the excluded slices) and the CSV of the splits'
// rows, each written atomically, the CSV first.
void write_outputs(const SplitConfig& c, const SplitData& d, const Assignment& a, const OrderedJson& summary,
                   const fs::path& json_path, const fs::path& csv_path) {
    OrderedJson j;
    j["lessmore"] = summary;
    const bool units = !d.slices.empty() && d.slices.front().unit_row;
    std::string csv = units ? "split,image,volume,patient,unit,first_slice,end_slice,origin_z,origin_y,origin_x,"
                              "size_z,size_y,size_x,group\n"
                            : "split,image,volume,patient,slice,group\n";
    for (std::size_t s = 0; s < c.fractions.size(); ++s) {
        OrderedJson& list = j[k_split_names[s]] = OrderedJson::array();
        for (const SplitSlice& x : d.slices) {
            const std::size_t g = a.group_of[x.unit];
            if (!in_datalist(x) || a.split_of[g] != s) continue;
            list.push_back(entry(d, x, g));
            csv += std::string(k_split_names[s]) + "," + csv_field(x.image) + "," +
                   csv_field(d.volumes[x.volume]->info.id) + "," + csv_field(d.patients[x.patient]) + "," +
                   std::to_string(x.index) + ",";
            if (const UnitRecord* u = x.unit_row) {
                csv += std::to_string(u->origin[0]) + "," + std::to_string(u->origin[0] + u->size[0]);
                for (const auto* side : {&u->origin, &u->size})
                    for (const int n : *side) csv += "," + std::to_string(n);
                csv += ",";
            }
            csv += std::to_string(g) + "\n";
        }
    }
    OrderedJson& excluded = j["excluded"] = OrderedJson::array();
    for (const SplitSlice& x : d.slices)
        if (x.listed && x.below) excluded.push_back(entry(d, x, a.group_of[x.unit]));
    write_file_atomic(csv_path, csv);
    write_file_atomic(json_path, dump_json(j) + "\n");
}

void summarise(const SplitConfig& c, const SplitData& d, const Assignment& a, const std::vector<std::size_t>& pairs,
               SplitResult& r) {
    r.units = d.units.size();
    r.groups = a.slices.size();
    for (std::size_t s = 0; s < c.fractions.size(); ++s) r.parts.push_back({k_split_names[s], c.fractions[s], 0, 0, 0});
    for (std::size_t u = 0; u < d.units.size(); ++u) ++r.parts[a.split_of[a.group_of[u]]].units;
    std::vector<std::size_t> units_in(r.groups, 0);
    for (const std::size_t g : a.group_of) ++units_in[g];
    std::size_t largest = 0;
    for (std::size_t g = 0; g < r.groups; ++g) {
        SplitPart& part = r.parts[a.split_of[g]];
        ++part.groups;
        part.slices += a.slices[g];
        if (std::make_pair(units_in[g], a.slices[g]) > std::make_pair(units_in[largest], a.slices[largest]))
            largest = g;
    }
    auto info = [&](std::size_t g) {
        SplitGroup out = group_info(d, a.group_of, g);
        out.slices = a.slices[g];
        out.pairs = pairs[g];
        out.split = k_split_names[a.split_of[g]];
        return out;
    };
    if (r.groups > 0) r.largest = info(largest);
    for (std::size_t g = 0; g < r.groups; ++g) {
        SplitGroup gi = info(g);
        if (gi.patients.size() > 1) r.leaky.push_back(std::move(gi));
    }
    for (const SplitSlice& x : d.slices) r.excluded += x.listed && x.below;
}

}  // namespace

const char* split_unit_name(SplitUnit u) {
    switch (u) {
    case SplitUnit::Patient:
        return "patient";
    case SplitUnit::Study:
        return "study";
    case SplitUnit::Series:
        return "series";
    case SplitUnit::Volume:
        return "volume";
    }
    return "patient";
}

SplitResult split_run(const SplitConfig& c, const CancelToken& cancel) {
    check_fractions(c.fractions);
    const auto [json_path, csv_path] = check_outputs(c);
    const OutputStore store(c.run);
    if (!store.folder()) throw UsageError(c.run + ": no such folder");
    const auto run = store.read_run();
    if (!run || !store.finished())
        throw UsageError(c.run + ": not a finished lessmore run (no manifest.json; run or --resume reduce first)");
    if (run->shard) {
        throw UsageError(c.run +
                         ": one shard of a sharded run; merge the shards first (lessmore merge) and split "
                         "the merged output");
    }
    store.check_no_links();
    const RunParameters& p = run->parameters;
    SplitResult r;
    const bool units = p.unit != "slice";
    std::unique_ptr<Metric> metric;
    if (units)
        check_unit_split(c, p, r);
    else
        metric = split_metric(c, p, r);
    ThreadPool pool(c.threads);
    const std::vector<SourceRecord> records = store.read_all_records();
    ScopeOutcome scope;
    if (p.scope != Scope::Volume) {
        std::vector<std::string> ids;
        for (const SourceRecord& s : records) ids.push_back(s.source);
        scope = scope_pass(store, ids, p, pool, cancel);
    }
    SplitData d;
    for (const SourceRecord& s : records)
        for (const VolumeRecord& v : s.volumes) d.volumes.push_back(&v);
    std::sort(d.volumes.begin(), d.volumes.end(),
              [](const VolumeRecord* x, const VolumeRecord* y) { return x->info.id < y->info.id; });
    const fs::path datalist_folder = resolved_path(json_path).parent_path();
    if (units)
        read_units(c, p, datalist_folder, d);
    else
        read_slices(c, p, *metric, r, scope, datalist_folder, pool, d);
    cancel.check();
    const Assignment a = units ? assign_alone(c, d) : assign(c, d, *metric, r.threshold, pool);
    cancel.check();
    const std::vector<std::size_t> pairs =
        units ? std::vector<std::size_t>(a.slices.size(), 0) : check(c, d, a, *metric, r.threshold, pool, r);
    if (r.cross_split_pairs != 0) {
        throw Error("split: " + std::to_string(r.cross_split_pairs) +
                    " similar pairs across splits after grouping (a bug); nothing written");
    }
    summarise(c, d, a, pairs, r);
    cancel.check();
    // One summary for SPLITS.json's "lessmore" block and the result (lessmore.split returns
    // it): what the file says and what Python sees cannot drift apart.
    const OrderedJson summary = summary_json(c, d, a, r);
    write_outputs(c, d, a, summary, json_path, csv_path);
    r.summary = dump_json(summary);
    r.json_path = path_text(json_path);
    r.csv_path = path_text(csv_path);
    return r;
}

}  // namespace lessmore
