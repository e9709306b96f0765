#pragma once
// The one walk over volumes every command uses: discover the inputs once, take this
// run's share (--shard), read each source under the memory budget and hand its volumes
// to the command, with one error policy: a source or volume that fails is reported with
// its path (progress.volume_failed and the returned failures) and the walk goes on.
// Only Interrupted and Error (e.g. OUT cannot be written) stop it.
#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/load.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/volume.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

// What a command walks.
struct WalkInputs {
    std::vector<std::string> inputs;
    std::optional<std::pair<int, int>> shard;  // (I, N): only the I-th of N parts of the sources
};

// The sources found, once per command.
struct WalkPlan {
    std::vector<Source> sources;        // this run's share, sorted by id
    std::size_t all_sources = 0;        // found before sharding
    std::string all_sources_sha256;     // of the ids found before sharding (shards of one run agree)
    std::vector<InputFailure> errors;   // discovery errors, or "no volumes found" per input
    std::vector<InputFailure> skipped;  // files discovery passed over on purpose (FIFOs, devices, ...)
};

// Calls discover() (the only caller outside the readers), reports its warnings, errors
// and skipped files to `progress`. Throws UsageError as discover() does.
WalkPlan plan_walk(const WalkInputs& inputs, ProgressSink& progress);

// The shard (1..count) a volume id falls in: stable across machines and listing orders.
int shard_of(const std::string& id, int count);

// What became of a source's files besides its volumes.
struct SourceOutcome {
    std::vector<InputFailure> failures;  // volumes or files that could not be read or reduced
    std::vector<InputFailure> skipped;   // files skipped on purpose (not images, localizers, duplicates)
};

struct WalkVisitor {
    // Each volume read, on a worker thread; `source` indexes the walked list. Throwing
    // InputError fails that volume (the walk goes on).
    std::function<void(std::size_t source, Volume& volume)> volume;
    // With LoadOptions::streams, a volume that comes as a stream (the same rules).
    std::function<void(std::size_t source, SliceStream& stream)> stream;
    // Once per source after its volumes, with what failed or was skipped in it.
    std::function<void(std::size_t source, SourceOutcome outcome)> source_done;
};

class VolumeWalk {
public:
    // max_memory: bytes of raw voxels in flight (0: only the threads bound it).
    VolumeWalk(LoadOptions load, std::uint64_t max_memory, ThreadPool& pool, ProgressSink& progress,
               const CancelToken& cancel);

    // Reads the sources in parallel (each also parallel inside, on the same pool) and
    // visits their volumes. headers_only: volumes carry VolumeInfo but no voxels.
    void run(const std::vector<const Source*>& sources, const WalkVisitor& visitor, bool headers_only = false) const;

private:
    LoadOptions m_load;
    std::uint64_t m_max_memory;
    std::unique_ptr<DecoderPool> m_decoders;  // workers start when a file first needs one
    ThreadPool& m_pool;
    ProgressSink& m_progress;
    const CancelToken& m_cancel;
};

// Pointers to every source of a plan, for VolumeWalk::run.
std::vector<const Source*> all_sources(const WalkPlan& plan);

}  // namespace lessmore
