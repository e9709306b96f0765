#pragma once
// `lessmore split RUN -o SPLITS.json --fractions 0.8,0.1,0.1`: a finished run's kept
// slices dealt to training, validation (and test) so that no slice of one split is
// similar to a slice of another (docs/split.md). Units
// (patients by default) that similar slices tie together stay in one split; slices the
// metric cannot tell from an empty slice tie nothing and are left out. Writes a
// MONAI-style datalist (SPLITS.json) and the same rows as CSV beside it, atomically.
#include <lessmore/cancel.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lessmore {

// What a unit is: the patient key --scope patient uses, the DICOM study or series (a
// volume without one is its own unit), or the volume.
enum class SplitUnit { Patient, Study, Series, Volume };
const char* split_unit_name(SplitUnit u);

struct SplitConfig {
    std::string run;                // the OUT of a finished reduce or merge
    std::string output;             // SPLITS.json (ends in .json); SPLITS.csv is written beside it
    std::vector<double> fractions;  // training, validation[, test]: each > 0, summing to 1
    SplitUnit by = SplitUnit::Patient;
    std::uint64_t seed = 0;
    std::optional<double> threshold;  // default: the run's (--scope-threshold, else --threshold)
    std::optional<double> floor;      // default: the threshold
    bool no_floor = false;            // --floor none: every slice links
    bool force = false;               // replace existing output files
    int threads = 0;
};

// A set of units that must stay together (one unit, or several tied by similar slices).
struct SplitGroup {
    std::vector<std::string> units;     // unit keys, sorted
    std::vector<std::string> patients;  // patient keys of its units, sorted, each once
    std::size_t slices = 0;             // slices in the datalist
    std::size_t pairs = 0;              // similar pairs between slices of different patients
    std::string split;                  // "training", "validation" or "test"
};

struct SplitPart {
    std::string name;
    double fraction = 0.0;  // asked for
    std::size_t units = 0;
    std::size_t groups = 0;
    std::size_t slices = 0;
};

struct SplitResult {
    std::string json_path;
    std::string csv_path;
    std::string method;
    double threshold = 0.0;
    std::optional<double> floor;  // none: every slice linked
    std::vector<SplitPart> parts;
    std::size_t units = 0;
    std::size_t groups = 0;
    SplitGroup largest;                   // most units (ties: most slices, then first)
    std::size_t excluded = 0;             // kept slices below the floor, left out
    std::size_t cross_split_pairs = 0;    // similar datalist pairs in different splits: 0
    std::vector<SplitGroup> leaky;        // groups of more than one patient
    std::size_t patient_split_pairs = 0;  // cross-split pairs of a plain per-patient split
    std::string summary;                  // SPLITS.json's "lessmore" block (docs/split.md), as JSON text
    // A unit run (--unit slab|patch): its unit (parameters' "unit"); the rows are its kept
    // units, each split unit its own group, and no threshold, floor or pairs apply.
    std::string units_run;
};

// Reads RUN (UsageError when it is not a finished, unsharded run, when its metric cannot
// compare slices across volumes, or an option is bad), groups, assigns and writes the
// datalist. Throws Error when the check finds a similar pair across splits (a bug).
SplitResult split_run(const SplitConfig& config, const CancelToken& cancel);

}  // namespace lessmore
