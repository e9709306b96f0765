#include <lessmore/reduce.hpp>
