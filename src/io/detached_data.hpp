#pragma once
// NRRD (.nhdr "data file:") and MetaImage (.mhd "ElementDataFile =") headers may name the
// file that holds their voxels. lessmore reads such a file only when it lies inside the
// input the header was found in: a header must not decide what else on the machine is read.
#include <string>

namespace lessmore {

// Throws InputError when the header at `path` names a data file outside `root`, one that
// is not a regular file, or a list or pattern of files (not supported).
void check_detached_data(const std::string& path, const std::string& root);

}  // namespace lessmore
