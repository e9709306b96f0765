// A kernel's public header that reaches up into a pipeline and carries an ITK type: the check
// must refuse both (public headers are scanned like sources).
#pragma once
#include <lessmore/reduce.hpp>
#include <itkImage.h>
