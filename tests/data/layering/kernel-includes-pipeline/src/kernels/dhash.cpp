// A kernel that reaches up into a pipeline: the check must refuse it.
#include <lessmore/dhash.hpp>
#include <lessmore/reduce.hpp>
