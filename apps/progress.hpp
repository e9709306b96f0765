#pragma once
// How the command line shows the core's progress on stderr: a live status line on a
// terminal, one line per volume with -v, or JSON lines (--progress jsonl) for pipelines,
// whose events and fields docs/output.md defines (section "Progress events").
#include <lessmore/progress.hpp>

#include <spdlog/logger.h>

#include <chrono>
#include <mutex>
#include <string>

namespace lessmore::cli {

enum class ProgressStyle { Bar, Jsonl, None };

class StderrProgress final : public ProgressSink {
public:
    StderrProgress(spdlog::logger& log, ProgressStyle style, bool per_volume);
    ~StderrProgress() override;

    void sources_found(std::size_t sources, std::size_t estimated_slices) override;
    void source_skipped(const std::string& id, std::size_t volumes, std::size_t slices) override;
    void source_done(const std::string& id, std::size_t volumes, std::size_t failed) override;
    void volume_started(const std::string& id, std::size_t slices) override;
    void slices_done(std::size_t count) override;
    void volume_finished(const std::string& id, std::size_t slices, std::size_t kept, double seconds) override;
    void volume_failed(const std::string& path, const std::string& message) override;
    void warning(const std::string& path, const std::string& message) override;
    void file_skipped(const std::string& path, const std::string& reason) override;
    void debug(const std::string& message) override;
    void finished(std::size_t volumes, std::size_t slices, std::size_t kept, std::size_t failed,
                  double seconds) override;
    void finish();  // clears the status line

private:
    void redraw(bool force);
    void clear_line();
    void emit(const std::string& json_line);
    double elapsed() const;

    spdlog::logger& m_log;
    ProgressStyle m_style;
    bool m_per_volume;
    std::mutex m_mutex;
    std::size_t m_sources = 0, m_sources_done = 0;
    std::size_t m_estimated = 0;
    std::size_t m_slices_read = 0;      // slices prepared so far, finished volumes or not (the bar)
    std::size_t m_slices_finished = 0;  // slices of the finished volumes (the JSON events)
    std::size_t m_volumes_done = 0;
    std::size_t m_resumed_sources = 0, m_resumed_volumes = 0, m_resumed_slices = 0;
    std::string m_current;
    std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point m_last_draw{};
    bool m_line_shown = false;
};

}  // namespace lessmore::cli
