// FAISS outside src/kernels/metrics/faiss_index.cpp: refused.
#include <faiss/IndexFlat.h>
#include <lessmore/reduce.hpp>
