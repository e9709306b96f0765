#include <lessmore/library_setup.hpp>

#include <malloc.h>

namespace lessmore {

void configure_libraries() {
    // Files and slabs of slices are read into buffers of a few hundred KB to a few tens of
    // MB, freed and asked for again: glibc would give them back to the kernel and fault
    // them in anew each time (with one thread that tripled the time of a DICOM series).
    // Keep them: served from the heap below 32 MB, and the heap trimmed only past 256 MB.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    // OpenCV is configured at its first use (kernels/opencv_setup.hpp): the lessmore program
    // loads it only for the commands that need it.
    // ITK's and GDCM's diagnostics are turned off where they run: in the decoder worker
    // (io/decoder_worker.cpp), which the lessmore program starts as lessmore-decoder.
}

}  // namespace lessmore
