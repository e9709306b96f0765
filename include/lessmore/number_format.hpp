#pragma once
// Numbers as lessmore prints them in messages, CSV and tables.
#include <string>

namespace lessmore {

// The shortest decimal text that reads back as v.
std::string format_number(double v);

}  // namespace lessmore
