#pragma once
// Per-slice features as files (docs/models.md, section "Features in and out"): DIR/index.csv
// (volume,file,slices: one row per volume) and one .npy per volume, float32 or float16,
// shape (slices, dimension), row i the feature of slice i in lessmore's slice order. A
// volume's file name follows from its id (feature_file_name); the index only confirms it,
// so nothing written in a file decides where lessmore reads.
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

struct FeatureDir {
    std::string dir;                           // as given
    std::map<std::string, std::string> files;  // volume id -> file name inside dir
    std::size_t dimension = 0;                 // the length of every row
};

// "<id with / as +>.npy" (ids never hold '+' themselves; long names shortened with a hash).
std::string feature_file_name(const std::string& id);

// DIR/index.csv read and checked, and the dimension the files share. Throws UsageError
// naming the file and row when DIR is unusable as a whole: no index, a malformed row, a
// volume listed twice, a file name that is not the one the id gives, or no listed file
// readable as 2-D float32/float16 .npy. The dimension is the one most readable files have
// (the first such file's on a tie); files of another width fail as their volumes do.
FeatureDir open_feature_dir(const std::string& dir);

// Volume `id`'s rows as float32. Throws InputError naming the file (and row) when the
// index has no row for it, the file is missing or not a 2-D float32/float16 .npy, its rows
// are not `slices`, its width is not the dimension, or a value is not finite. `unit`: empty
// when a row is a slice; else the run's --unit text, a row being a unit (the messages say so).
std::vector<std::vector<float>> read_volume_features(const FeatureDir& dir, const std::string& id, std::size_t slices,
                                                     const std::string& unit = "");

// --save-features: writes DIR/<feature_file_name(id)> (float32, atomically).
void write_volume_features(const std::string& dir, const std::string& id, const std::vector<std::vector<float>>& rows);
// DIR/index.csv for (id, slices) pairs, written atomically, rows in id order.
void write_feature_index(const std::string& dir, std::vector<std::pair<std::string, std::size_t>> volumes);

}  // namespace lessmore
