// Breaks the rule: the bindings reach a private pipeline header, and pybind11 appears in src/.
#include "pipeline/output_store.hpp"
#include <pybind11/pybind11.h>
