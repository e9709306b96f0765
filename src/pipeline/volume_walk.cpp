#include "pipeline/volume_walk.hpp"

#include <lessmore/error.hpp>
#include <lessmore/sha256.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <new>

namespace fs = std::filesystem;

namespace lessmore {
namespace {

// Raw voxel bytes a source will need when read (for --max-memory), and its slice count
// when known without reading voxels.
struct Estimate {
    std::uint64_t bytes = 0;
    std::size_t slices = 0;
};

// From the headers, in the value types reading will give (a compressed or widened DICOM
// series needs more than its files' size). Volumes read whole count whole and are all in
// memory together; streamed ones hold a slab, one at a time.
Estimate estimate(const Source& s, bool need_bytes, const LoadOptions& load, ThreadPool& pool, DecoderPool& decoders,
                  const CancelToken& cancel) {
    Estimate e;
    if (s.kind != Source::Kind::VolumeFile) {
        e.slices = s.files.size();
        if (!need_bytes) return e;
    }
    std::size_t slices = 0;
    std::uint64_t whole = 0, slab = 0;
    for (const LoadedVolume& v : inspect_source(s, load, pool, decoders, cancel)) {
        if (!v.volume) continue;
        const VolumeInfo& info = v.volume->info();
        const auto bytes = static_cast<std::uint64_t>(info.slice_bytes()) * info.slice_count();
        if (load.streams && v.streamable) {
            slab =
                std::max(slab, std::min<std::uint64_t>(bytes, std::uint64_t{info.slice_bytes()} * load.stream_slices));
        } else {
            whole += bytes;
        }
        slices += info.slice_count();
    }
    e.bytes = whole + slab;
    if (s.kind == Source::Kind::VolumeFile) e.slices = slices;
    return e;
}

// Caps the raw voxel bytes of the volumes in flight.
class MemoryBudget {
public:
    explicit MemoryBudget(std::uint64_t limit) : m_limit(limit) {}

    // Bytes taken from the budget, given back when the hold goes (also on an exception).
    class Hold {
    public:
        Hold(MemoryBudget& budget, std::uint64_t bytes) : m_budget(budget), m_bytes(bytes) {}
        ~Hold() { m_budget.release(m_bytes); }
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;

    private:
        MemoryBudget& m_budget;
        std::uint64_t m_bytes;
    };

    [[nodiscard]] Hold acquire(std::uint64_t bytes, const CancelToken& cancel) {
        std::unique_lock<std::mutex> lock(m_mutex);
        // Alone, a source always fits (it was checked against the limit before).
        while (m_limit && m_used > 0 && m_used + bytes > m_limit) {
            m_cv.wait_for(lock, std::chrono::milliseconds(100));
            cancel.check();
        }
        m_used += bytes;
        return Hold(*this, bytes);
    }

private:
    void release(std::uint64_t bytes) {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_used -= bytes;
        }
        m_cv.notify_all();
    }

    std::uint64_t m_limit;
    std::uint64_t m_used = 0;
    std::mutex m_mutex;
    std::condition_variable m_cv;
};

// Rounded up, so a volume just over the cap never reads as equal to it.
std::string megabytes(std::uint64_t bytes) {
    if (bytes < (1u << 20)) return std::to_string((bytes + 1023) >> 10) + " KB";
    return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MB";
}

}  // namespace

int shard_of(const std::string& id, int count) {
    const std::string h = sha256_hex(id.data(), id.size());
    return static_cast<int>(std::stoull(h.substr(0, 15), nullptr, 16) % static_cast<unsigned long long>(count)) + 1;
}

WalkPlan plan_walk(const WalkInputs& in, ProgressSink& progress) {
    Discovery found = discover(in.inputs);
    WalkPlan plan;
    plan.all_sources = found.sources.size();
    std::string joined;
    for (const Source& s : found.sources) joined += s.id + "\n";
    plan.all_sources_sha256 = sha256_hex(joined.data(), joined.size());
    for (Source& s : found.sources) {
        if (in.shard && shard_of(s.id, in.shard->second) != in.shard->first) continue;
        plan.sources.push_back(std::move(s));
    }
    plan.errors = std::move(found.errors);
    plan.skipped = std::move(found.skipped);
    // A shard may hold no sources; a whole run that finds nothing says so per input.
    if (plan.all_sources == 0 && plan.errors.empty() && !in.shard) {
        for (const std::string& input : in.inputs) plan.errors.push_back({input, "no volumes found"});
    }
    for (const InputFailure& w : found.warnings) progress.warning(w.path, w.message);
    for (const InputFailure& e : plan.errors) progress.volume_failed(e.path, e.message);
    for (const InputFailure& s : plan.skipped) progress.file_skipped(s.path, s.message);
    return plan;
}

std::vector<const Source*> all_sources(const WalkPlan& plan) {
    std::vector<const Source*> out;
    for (const Source& s : plan.sources) out.push_back(&s);
    return out;
}

VolumeWalk::VolumeWalk(LoadOptions load, std::uint64_t max_memory, ThreadPool& pool, ProgressSink& progress,
                       const CancelToken& cancel)
    : m_load(load),
      m_max_memory(max_memory),
      m_decoders(std::make_unique<DecoderPool>(load.decoder_program, static_cast<std::size_t>(pool.size()))),
      m_pool(pool),
      m_progress(progress),
      m_cancel(cancel) {}

void VolumeWalk::run(const std::vector<const Source*>& sources, const WalkVisitor& visitor, bool headers_only) const {
    // Slice counts (for progress): DICOM and image folders by their files, volume files by
    // their headers; with --max-memory, voxel bytes from every source's headers (read in
    // parallel; cheap next to reading the voxels).
    std::vector<Estimate> estimates(sources.size());
    if (!headers_only) {
        m_pool.parallel_for(sources.size(), [&](std::size_t k) {
            estimates[k] = estimate(*sources[k], m_max_memory > 0, m_load, m_pool, *m_decoders, m_cancel);
        });
    }
    std::size_t estimated_slices = 0;
    for (const Estimate& e : estimates) estimated_slices += e.slices;
    m_progress.sources_found(sources.size(), estimated_slices);

    // Sources run in parallel, at most one per thread, fewer when the budget says so.
    MemoryBudget budget(m_max_memory);
    m_pool.parallel_for(sources.size(), [&](std::size_t k) {
        const Source& source = *sources[k];
        m_cancel.check();
        SourceOutcome outcome;
        auto fail = [&](const std::string& path, const std::string& message) {
            outcome.failures.push_back({path, message});
            m_progress.volume_failed(path, message);
        };
        std::size_t finished = 0;  // volumes visited to their end
        const Estimate& need = estimates[k];
        if (m_max_memory && need.bytes > m_max_memory) {
            fail(source.path,
                 "needs " + megabytes(need.bytes) + " of voxels, more than --max-memory " + megabytes(m_max_memory));
        } else {
            const MemoryBudget::Hold hold = budget.acquire(need.bytes, m_cancel);
            std::vector<LoadedVolume> loaded = headers_only
                                                   ? inspect_source(source, m_load, m_pool, *m_decoders, m_cancel)
                                                   : load_source(source, m_load, m_pool, *m_decoders, m_cancel);
            for (LoadedVolume& lv : loaded) {
                if (lv.skipped) {
                    outcome.skipped.push_back({lv.path, lv.error});
                    m_progress.file_skipped(lv.path, lv.error);
                    continue;
                }
                if (!lv.volume && !lv.stream) {
                    fail(lv.path, lv.error);
                    continue;
                }
                if ((lv.stream ? lv.stream->info() : lv.volume->info()).slice_count() == 0) {
                    fail(lv.path, "volume has no slices");
                    continue;
                }
                try {
                    if (lv.stream) {
                        visitor.stream(k, *lv.stream);
                    } else {
                        visitor.volume(k, *lv.volume);
                    }
                    ++finished;
                } catch (const InputError& e) {  // e.g. a slice too small for the metric
                    fail(lv.path, e.what());
                } catch (const std::bad_alloc&) {
                    fail(lv.path, "not enough memory to process this volume");
                }
                lv.volume.reset();  // free the voxels as soon as possible
                lv.stream.reset();
            }
        }
        const std::size_t failed = outcome.failures.size();
        if (visitor.source_done) visitor.source_done(k, std::move(outcome));
        m_progress.source_done(source.id, finished, failed);
    });
}

}  // namespace lessmore
