#include "progress.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace lessmore::cli {

StderrProgress::StderrProgress(spdlog::logger& log, ProgressStyle style, bool per_volume)
    : m_log(log), m_style(style), m_per_volume(per_volume) {}

StderrProgress::~StderrProgress() { finish(); }

double StderrProgress::elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
}

void StderrProgress::finish() {
    std::lock_guard<std::mutex> lock(m_mutex);
    clear_line();
}

void StderrProgress::clear_line() {
    if (m_line_shown) {
        std::fputs("\r\033[K", stderr);
        std::fflush(stderr);
        m_line_shown = false;
    }
}

void StderrProgress::emit(const std::string& line) {
    std::fputs((line + "\n").c_str(), stderr);
    std::fflush(stderr);
}

namespace {

// One JSON line; text from files (paths, messages) with invalid UTF-8 replaced.
std::string json_line(const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

void StderrProgress::redraw(bool force) {
    if (m_style != ProgressStyle::Bar) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - m_last_draw < std::chrono::milliseconds(200)) return;
    m_last_draw = now;
    const double secs = elapsed();
    const double rate = secs > 0 ? static_cast<double>(m_slices_read) / secs : 0.0;
    std::string eta = "--:--";
    // Remaining work by slices when they are known, else by sources.
    double left = -1;
    if (m_estimated > m_slices_read && rate > 0) {
        left = static_cast<double>(m_estimated - m_slices_read) / rate;
    } else if (m_sources_done > 0 && m_sources > m_sources_done) {
        left = secs / static_cast<double>(m_sources_done) * static_cast<double>(m_sources - m_sources_done);
    }
    if (left >= 0) {
        char buf[32];
        const auto s = static_cast<long>(left);
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
        eta = buf;
    }
    std::fprintf(stderr, "\r\033[K[%zu/%zu sources] %zu/%zu slices, %.0f slices/s, ETA %s  %s", m_sources_done,
                 m_sources, m_slices_read, std::max(m_estimated, m_slices_read), rate, eta.c_str(), m_current.c_str());
    std::fflush(stderr);
    m_line_shown = true;
}

void StderrProgress::sources_found(std::size_t sources, std::size_t estimated_slices) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_sources = sources;
    m_estimated = estimated_slices;
    if (m_style == ProgressStyle::Jsonl) {
        emit(json_line({{"event", "start"},
                        {"sources", sources},
                        {"estimated_slices", estimated_slices},
                        {"resumed_sources", m_resumed_sources},
                        {"resumed_volumes", m_resumed_volumes},
                        {"resumed_slices", m_resumed_slices}}));
    }
    m_log.debug("{} source(s) to read", sources);
    redraw(true);
}

void StderrProgress::source_skipped(const std::string& id, std::size_t volumes, std::size_t slices) {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_resumed_sources;
    m_resumed_volumes += volumes;
    m_resumed_slices += slices;
    if (m_style == ProgressStyle::Jsonl) {
        emit(json_line({{"event", "resumed"}, {"source", id}, {"volumes", volumes}, {"slices", slices}}));
    } else if (m_per_volume) {
        m_log.info("{}: done by an earlier run", id);
    }
}

void StderrProgress::source_done(const std::string& id, std::size_t volumes, std::size_t failed) {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_sources_done;
    if (m_style == ProgressStyle::Jsonl) {
        emit(json_line({{"event", "source"},
                        {"source", id},
                        {"volumes", volumes},
                        {"failed", failed},
                        {"sources_done", m_sources_done},
                        {"sources", m_sources}}));
    }
    redraw(true);
}

void StderrProgress::volume_started(const std::string& id, std::size_t slices) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_current = id + " (" + std::to_string(slices) + " slices)";
    redraw(false);
}

void StderrProgress::slices_done(std::size_t count) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_slices_read += count;
    redraw(false);
}

void StderrProgress::volume_finished(const std::string& id, std::size_t slices, std::size_t kept, double seconds) {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_volumes_done;
    m_slices_finished += slices;
    if (m_style == ProgressStyle::Jsonl) {
        const double secs = elapsed();
        emit(json_line({{"event", "volume"},
                        {"id", id},
                        {"slices", slices},
                        {"kept", kept},
                        {"seconds", seconds},
                        {"volumes_done", m_volumes_done},
                        {"slices_done", m_slices_finished},
                        {"sources_done", m_sources_done},
                        {"sources", m_sources},
                        {"estimated_slices", m_estimated},
                        {"slices_per_second", secs > 0 ? static_cast<double>(m_slices_finished) / secs : 0.0}}));
    } else if (m_per_volume) {
        clear_line();
        m_log.info("{}: kept {} of {} slices ({:.2f} s)", id, kept, slices, seconds);
    }
    redraw(true);
}

void StderrProgress::volume_failed(const std::string& path, const std::string& message) {
    std::lock_guard<std::mutex> lock(m_mutex);
    clear_line();
    if (m_style == ProgressStyle::Jsonl) {
        emit(json_line({{"event", "error"}, {"path", path}, {"message", message}}));
        return;  // stderr holds only JSON lines
    }
    m_log.error("{}: {}", path, message);
    redraw(true);
}

void StderrProgress::warning(const std::string& path, const std::string& message) {
    std::lock_guard<std::mutex> lock(m_mutex);
    clear_line();
    if (m_style == ProgressStyle::Jsonl) {
        emit(json_line({{"event", "warning"}, {"path", path}, {"message", message}}));
        return;
    }
    m_log.warn("{}: {}", path, message);
    redraw(true);
}

void StderrProgress::file_skipped(const std::string& path, const std::string& reason) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_style == ProgressStyle::Jsonl) {
        emit(json_line({{"event", "file_skipped"}, {"path", path}, {"reason", reason}}));
        return;
    }
    if (!m_per_volume) return;  // listed in the manifest; shown with -v
    clear_line();
    m_log.info("{}: skipped: {}", path, reason);
    redraw(true);
}

void StderrProgress::debug(const std::string& message) {
    std::lock_guard<std::mutex> lock(m_mutex);
    clear_line();
    m_log.debug("{}", message);
}

void StderrProgress::finished(std::size_t volumes, std::size_t slices, std::size_t kept, std::size_t failed,
                              double seconds) {
    std::lock_guard<std::mutex> lock(m_mutex);
    clear_line();
    if (m_style == ProgressStyle::Jsonl) {
        emit(json_line({{"event", "finish"},
                        {"volumes", volumes},
                        {"slices", slices},
                        {"kept", kept},
                        {"failed", failed},
                        {"seconds", seconds}}));
    }
}

}  // namespace lessmore::cli
