#pragma once
// OpenCV's process-wide settings, applied once before lessmore's first OpenCV call
// (resize_area, the embedder, report and sweep images). Done at first use rather than in
// configure_libraries(): the lessmore program loads OpenCV only when a command needs it
// (docs/performance.md, "Start-up").

namespace lessmore {

// Single-threaded (lessmore's one ThreadPool does the parallel work) and silent.
void configure_opencv();

}  // namespace lessmore
