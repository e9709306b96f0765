// A finished run from its records (include/lessmore/run_data.hpp), volumes and errors in
// the manifests' order (src/pipeline/output_store.cpp, write_manifests).
#include <lessmore/run_data.hpp>

#include <lessmore/error.hpp>
#include <lessmore/thread_pool.hpp>

#include "pipeline/output_store.hpp"
#include "pipeline/run_record.hpp"
#include "pipeline/scope_pass.hpp"
#include "pipeline/volume_walk.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>

namespace lessmore {

std::string run_json(const std::string& out, int threads, const CancelToken& cancel) {
    const OutputStore store(out);
    const auto run = store.read_run();
    if (!run || !store.finished()) {
        throw UsageError(out + ": no finished lessmore run (no manifest.json; run or --resume reduce first)");
    }
    store.check_layout();
    const std::vector<SourceRecord> records = store.read_all_records();
    const RunParameters& params = run->parameters;
    ScopeOutcome scope;
    if (params.scope != Scope::Volume && !run->shard) {
        // The records hold each volume's own decisions; the pass (deterministic) gives the rest.
        ThreadPool pool(threads);
        std::vector<std::string> ids;
        for (const SourceRecord& r : records) ids.push_back(r.source);
        scope = scope_pass(store, ids, params, pool, cancel);
    }
    std::vector<InputFailure> errors = run->discovery_errors;
    std::vector<InputFailure> skipped = run->discovery_skipped;
    OrderedJson volumes = OrderedJson::array();
    // A unit run's rows are its units (docs/output.md, section "Unit rows"): "unit_table"
    // holds them and "slice_table" is the slice header alone.
    const bool units = params.unit != "slice";
    std::string table = units ? manifest_unit_csv_header() : manifest_csv_header();
    for (const SourceRecord& r : records) {
        for (const VolumeRecord& v : r.volumes) {
            volumes.push_back(manifest_volume_json(v, scope, params.patient_depth));
            table += units ? manifest_unit_csv_rows(volumes.back()) : manifest_csv_rows(volumes.back());
        }
        errors.insert(errors.end(), r.errors.begin(), r.errors.end());
        skipped.insert(skipped.end(), r.skipped.begin(), r.skipped.end());
    }
    const auto by_path = [](const InputFailure& a, const InputFailure& b) { return a.path < b.path; };
    std::stable_sort(errors.begin(), errors.end(), by_path);
    std::stable_sort(skipped.begin(), skipped.end(), by_path);
    OrderedJson j = tool_stamp();
    j["parameters"] = to_json(params);
    j["errors"] = to_json(errors);
    j["skipped"] = skipped_json(skipped);
    j["duplicates"] = duplicates_json(scope.duplicates);
    j["volumes"] = std::move(volumes);
    if (units) {
        j["slice_table"] = manifest_csv_header();
        j["unit_table"] = std::move(table);
    } else {
        j["slice_table"] = std::move(table);
    }
    return dump_json(j);
}

namespace {

// Calls `take` with volume `id` of the run in OUT, read again from its source the way the
// run read it (the run's inputs discovered again, as `report` does; a source's path is never
// taken from a record), and returns what it made. `take` runs on the walk's thread.
Volume read_from_source(const std::string& out, const std::string& id, const std::string& decoder_program,
                        const CancelToken& cancel, const std::function<Volume(const Volume&)>& take) {
    const auto run = OutputStore(out).read_run();
    if (!run) throw UsageError(out + ": no lessmore run (no .lessmore/run.json)");
    const RunParameters& p = run->parameters;
    NullProgress quiet;
    const WalkPlan plan = plan_walk({p.inputs, std::nullopt}, quiet);
    std::vector<const Source*> sources;  // the one whose volumes include `id`
    for (const Source& s : plan.sources)
        if (id == s.id || id.rfind(s.id + "/", 0) == 0 || id.rfind(s.id + "#", 0) == 0) sources.push_back(&s);
    LoadOptions load;
    load.order = p.order;
    load.include_localizers = p.include_localizers;
    load.decoder_program = decoder_program;
    ThreadPool pool(1);
    std::optional<Volume> found;
    std::mutex mutex;
    WalkVisitor visitor;
    visitor.volume = [&](std::size_t, Volume& v) {
        if (v.info().id != id) return;
        Volume made = take(v);
        const std::lock_guard<std::mutex> lock(mutex);
        found = std::move(made);
    };
    std::vector<InputFailure> failures;
    visitor.source_done = [&](std::size_t, SourceOutcome o) {
        failures.insert(failures.end(), o.failures.begin(), o.failures.end());
    };
    VolumeWalk(load, 0, pool, quiet, cancel).run(sources, visitor);
    if (found) return std::move(*found);
    if (!failures.empty()) throw InputError(failures.front().path + ": " + failures.front().message);
    throw UsageError(id + ": not among the run's inputs any more (" + out + "/.lessmore/run.json)");
}

std::string box_text(const std::array<int, 3>& a) {
    return std::to_string(a[0]) + "," + std::to_string(a[1]) + "," + std::to_string(a[2]);
}

}  // namespace

Volume source_slice(const std::string& out, const std::string& id, std::size_t index,
                    const std::string& decoder_program, const CancelToken& cancel) {
    const auto run = OutputStore(out).read_run();
    if (!run) throw UsageError(out + ": no lessmore run (no .lessmore/run.json)");
    refuse_unit_run(run->parameters, out);
    return read_from_source(out, id, decoder_program, cancel, [&](const Volume& v) {
        if (index >= v.slice_count())
            throw UsageError(id + ": has " + std::to_string(v.slice_count()) + " slices now; no slice " +
                             std::to_string(index) + " (changed since the run)");
        Volume one(v.info());
        const SliceView view = v.slice(index);
        Bytes bytes(v.info().slice_bytes());
        std::memcpy(bytes.data(), view.data, bytes.size());
        one.info().slices = {v.info().slices[index]};
        one.add_chunk(std::move(bytes), 1);
        return one;
    });
}

Volume source_block(const std::string& out, const std::string& id, const std::array<int, 3>& origin,
                    const std::array<int, 3>& size, const std::string& decoder_program, const CancelToken& cancel) {
    for (std::size_t a = 0; a < 3; ++a) {
        if (origin[a] < 0 || size[a] < 1)
            throw UsageError(id + ": no block at origin (" + box_text(origin) + ") of size (" + box_text(size) +
                             ") (z, y, x): origins from 0, sizes from 1");
    }
    return read_from_source(out, id, decoder_program, cancel, [&](const Volume& v) {
        const VolumeInfo& info = v.info();
        const std::array<std::int64_t, 3> shape{static_cast<std::int64_t>(v.slice_count()), info.height, info.width};
        for (std::size_t a = 0; a < 3; ++a) {
            if (std::int64_t{origin[a]} + size[a] > shape[a])
                throw UsageError(id + ": is " + std::to_string(shape[0]) + " x " + std::to_string(shape[1]) + " x " +
                                 std::to_string(shape[2]) + " voxels (z, y, x) now; the block at (" + box_text(origin) +
                                 ") of size (" + box_text(size) + ") does not fit (changed since the run)");
        }
        // The block as a volume of its own: its slices cropped to its rows and columns, each
        // slice's position that of the block's first voxel (VolumeInfo's geometry), so its
        // info describes the block (docs/output.md, section "Geometry").
        VolumeInfo block = info;
        block.width = size[2];
        block.height = size[1];
        block.slices.assign(info.slices.begin() + origin[0], info.slices.begin() + origin[0] + size[0]);
        for (SliceInfo& s : block.slices) {
            if (!s.position || !info.orientation) continue;
            const auto& o = *info.orientation;
            for (std::size_t c = 0; c < 3; ++c)
                (*s.position)[c] += origin[2] * info.spacing[0] * o[c] + origin[1] * info.spacing[1] * o[3 + c];
        }
        const std::size_t voxel = voxel_size(info.type);
        const auto rows = static_cast<std::size_t>(size[1]);
        const std::size_t row_bytes = static_cast<std::size_t>(size[2]) * voxel;
        Bytes bytes(static_cast<std::size_t>(size[0]) * rows * row_bytes);
        for (std::size_t z = 0; z < static_cast<std::size_t>(size[0]); ++z) {
            const SliceView s = v.slice(static_cast<std::size_t>(origin[0]) + z);
            for (std::size_t y = 0; y < rows; ++y) {
                const auto* src = static_cast<const std::byte*>(s.data) +
                                  ((static_cast<std::size_t>(origin[1]) + y) * static_cast<std::size_t>(s.width) +
                                   static_cast<std::size_t>(origin[2])) *
                                      voxel;
                std::memcpy(bytes.data() + (z * rows + y) * row_bytes, src, row_bytes);
            }
        }
        Volume one(std::move(block));
        one.add_chunk(std::move(bytes), static_cast<std::size_t>(size[0]));
        return one;
    });
}

}  // namespace lessmore
