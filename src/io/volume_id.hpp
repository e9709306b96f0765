#pragma once
// Volume ids are built only from input paths (relative to the input) and sanitised series
// labels, so that nothing inside a file decides where lessmore writes, and two different
// sources never share an id.
#include <string>

namespace lessmore {

// A file or folder name as one id component: '%' '#' '+', control characters and bytes
// that are not UTF-8 become %XX (reversibly), so ids are valid UTF-8 and '#' only ever
// separates a folder from its series label; "", "." and ".." are escaped too.
std::string id_component(const std::string& name);

// A series' label within its folder: its SeriesNumber when that is unique in the folder
// and plain (letters, digits, '.', '-', '_'; at most 64 characters), else its
// SeriesInstanceUID when plain, else "series-" and 12 hex digits of the UID's SHA-256.
std::string series_label(const std::string& number, bool number_unique, const std::string& uid);

}  // namespace lessmore
