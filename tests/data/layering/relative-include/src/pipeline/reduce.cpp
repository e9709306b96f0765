// A private io header reached by a relative path: refused outright, whatever it points to.
#include "../io/dicom_parser.hpp"
#include <lessmore/reduce.hpp>
