#pragma once
// `lessmore merge`: the outputs of a sharded run (reduce --shard I/N) into one OUT.
#include <lessmore/progress.hpp>
#include <lessmore/reduce.hpp>

#include <string>
#include <vector>

namespace lessmore {

struct MergeConfig {
    std::vector<std::string> shards;  // the shards' OUT folders
    std::string output;
    bool move = false;  // move slice files instead of hard-linking (or copying)
    bool force = false;
    int threads = 0;  // for the cross-volume pass (0: one per core)
    std::vector<std::string> command_line;
};

// Checks that the shards come from one run (same parameters and inputs, shard count, the
// same volumes discovered), that each shard index appears once and none is missing, that
// every volume appears exactly once and every record is readable, all before writing
// anything (UsageError naming the shard or volume at fault); then writes OUT as one run
// would have.
ReduceResult merge(const MergeConfig& config, ProgressSink& progress);

}  // namespace lessmore
