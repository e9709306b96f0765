#pragma once
// --scope patient|dataset over a run's records: after every volume is reduced on its own
// (reduce) or every shard is in (merge), the cross-volume pass (include/lessmore/
// cross_volume.hpp) decides which kept slices go, and the manifests are written with
// those decisions. A pure function of the records, so --resume, sharding and thread
// counts never change it (docs/methods.md, section "Scope").
#include <lessmore/cancel.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/thread_pool.hpp>

#include "pipeline/output_store.hpp"
#include "pipeline/run_record.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace lessmore {

struct ScopeMatch {
    std::string volume;  // the earlier volume's id
    std::size_t index = 0;
    double score = 0.0;
};

struct ScopeOutcome {
    bool applied = false;
    std::map<std::string, std::map<std::size_t, ScopeMatch>> removed;  // volume id -> slice (unit) index -> match
    std::map<std::string, std::string> groups;                         // --scope patient: volume id -> group
    std::vector<VolumeDuplicate> duplicates;                           // by volume id
    std::vector<std::string> removed_files;                            // the removed slices' outputs (relative)

    std::size_t removed_count() const;
};

// Runs the pass over the records of `source_ids` (all of them read from `store`); throws
// Error when a record lacks the features (a run made without --scope) or is damaged.
// `metric`: the run's own (reduce has it loaded); null: made from p (merge, report).
ScopeOutcome scope_pass(const OutputStore& store, const std::vector<std::string>& source_ids, const RunParameters& p,
                        ThreadPool& pool, const CancelToken& cancel, const Metric* metric = nullptr);

// Deletes the files of the slices the pass removed (they were written when their volume
// was reduced); safe to repeat (a resumed run redoes the same pass).
void remove_scope_outputs(const OutputStore& store, const ScopeOutcome& o);

// The pass's decisions written into a volume's record: kept false, match, match_volume,
// score, no output. Returns how many of its slices it removed.
std::size_t apply_scope(const ScopeOutcome& o, VolumeRecord& v);

}  // namespace lessmore
