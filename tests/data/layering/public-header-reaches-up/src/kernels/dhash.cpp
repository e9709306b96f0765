#include <lessmore/dhash.hpp>
