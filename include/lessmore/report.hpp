#pragma once
// `lessmore report OUT`: a self-contained HTML report of a reduction.
#include <lessmore/cancel.hpp>
#include <lessmore/progress.hpp>

#include <string>

namespace lessmore {

struct ReportConfig {
    std::string output;  // the OUT of a finished reduce (or merge)
    int threads = 0;
    std::size_t matrix_slices = 160;  // the heat map shows at most this many slices (evenly spaced)
    int thumbnail = 96;               // thumbnail size in pixels
    std::size_t inline_volumes = 20;  // more volumes: one page per volume under OUT/report/
};

struct ReportResult {
    std::string path;  // OUT/report.html
    std::size_t volumes = 0;
    std::size_t pages = 0;        // per-volume pages written (0 when all are inline)
    std::size_t unavailable = 0;  // volumes whose source could not be read again
};

// Reads OUT's records and run parameters, reads each volume's source again for the
// thumbnails and the similarity matrix, and writes OUT/report.html (images embedded, no
// network needed). Throws UsageError when OUT holds no finished run.
ReportResult write_report(const ReportConfig& config, ProgressSink& progress, const CancelToken& cancel);

}  // namespace lessmore
