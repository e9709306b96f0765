#pragma once
// Natural order of names, for image folders ("slice2" before "slice10").
#include <string>

namespace lessmore {

// "a2" < "a10": digit runs compare by value, the rest byte-wise; ties by byte order.
bool natural_less(const std::string& a, const std::string& b);

}  // namespace lessmore
