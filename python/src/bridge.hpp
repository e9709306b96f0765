#pragma once
// What the bindings share: keyword arguments as the option model's values, and running a
// library call on a worker thread while the calling thread (holding the GIL only between
// waits) hands progress to a Python callable and watches for Ctrl-C (docs/python.md).
#include <lessmore/cancel.hpp>
#include <lessmore/options.hpp>
#include <lessmore/progress.hpp>

#include <pybind11/pybind11.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>

namespace lessmore::python {

namespace py = pybind11;

// kwargs -> the command's OptionValues, each value as the text the CLI would get. Raises
// TypeError for a keyword the command does not have (or a CLI-only one) and for a value of
// a type no option takes; the option model raises UsageError for the rest.
OptionValues option_values(const std::string& command, const py::dict& kwargs);

// One thing the library reported, queued until the calling thread hands it to Python.
struct ProgressEvent {
    std::string event;
    std::string id;       // volume id or path
    std::string message;  // failures, warnings, skips
    std::size_t count = 0;
    std::size_t kept = 0;
    double seconds = 0.0;
    std::size_t extra = 0;  // source_skipped: volumes; source_done, finished: failed
};

// A ProgressSink that queues events (from any thread) for the calling thread.
class QueuedProgress final : public ProgressSink {
public:
    void sources_found(std::size_t sources, std::size_t slices) override;
    void source_skipped(const std::string& id, std::size_t volumes, std::size_t slices) override;
    void source_done(const std::string& id, std::size_t volumes, std::size_t failed) override;
    void volume_started(const std::string& id, std::size_t slices) override;
    void slices_done(std::size_t count) override;
    void volume_finished(const std::string& id, std::size_t slices, std::size_t kept, double seconds) override;
    void volume_failed(const std::string& path, const std::string& message) override;
    void warning(const std::string& path, const std::string& message) override;
    void file_skipped(const std::string& path, const std::string& reason) override;
    void finished(std::size_t volumes, std::size_t slices, std::size_t kept, std::size_t failed,
                  double seconds) override;

    // Waits (without the GIL) up to `ms` for an event or for `done`; returns what is queued.
    std::deque<ProgressEvent> wait(int ms);
    void mark_done();
    bool done() const;

private:
    void push(ProgressEvent e);
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<ProgressEvent> m_events;
    bool m_done = false;
};

// Runs work(progress, cancel) on a worker thread; the calling thread gives each event to
// `callback` (when not None) as a dict, and on KeyboardInterrupt (or an exception from the
// callback) cancels the work, waits for it to stop and re-raises. The work's own exception
// is rethrown on the calling thread (the module's translators map it).
void run_reporting(const std::function<void(ProgressSink&, const CancelToken&)>& work, const py::object& callback);

}  // namespace lessmore::python
