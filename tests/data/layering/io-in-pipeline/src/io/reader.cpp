#include <itkImageIOBase.h>
