// ITK outside src/io: the check must refuse it.
#include <itkImageIOBase.h>
#include <lessmore/reduce.hpp>
