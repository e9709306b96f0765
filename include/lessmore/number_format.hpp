#pragma once
// Numbers as lessmore prints them in messages, CSV and tables, and the precision a
// reader's geometry carries (docs/output.md, section "Numbers").
#include <string>

namespace lessmore {

// The shortest decimal text that reads back as v.
std::string format_number(double v);

// v as a float32 header field holds it: the double nearest to the shortest decimal that
// reads back as float(v), so it prints as the file's float32 (540.2, not
// 540.2000122070312). -0 becomes 0; not finite values are returned unchanged.
double float32_decimal(double v);

// v rounded to 15 significant digits (the most any decimal keeps through a double): a
// value computed from decimal text (DICOM, NRRD, MetaImage) prints without the binary
// noise of the arithmetic (3, not 2.9999999999999996). -0 becomes 0; not finite values
// are returned unchanged.
double decimal15(double v);

}  // namespace lessmore
