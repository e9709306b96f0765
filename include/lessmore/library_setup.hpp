#pragma once
// Process-wide settings of the libraries lessmore uses, made once at start-up.
namespace lessmore {

// OpenCV single-threaded (parallelism comes from lessmore's own pool, so results never
// depend on the thread count) and silent; ITK and GDCM warnings off (lessmore reports
// problems itself, one line per file); glibc's malloc kept from returning the buffers it
// recycles to the kernel. Call once, before any other thread starts.
void configure_libraries();

}  // namespace lessmore
