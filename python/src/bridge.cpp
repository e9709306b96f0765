#include "bridge.hpp"

#include <lessmore/error.hpp>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

namespace lessmore::python {

// --- keyword arguments ------------------------------------------------------------------

namespace {

// One value as the text a user would type: Python's str() of a number is its shortest
// exact form, which the option model reads back to the same double.
std::string text_of(const std::string& key, const py::handle& v) {
    if (py::isinstance<py::bool_>(v)) {
        throw py::type_error(key + ": expected a number or text, got a bool");
    }
    if (py::isinstance<py::str>(v)) return v.cast<std::string>();
    if (py::hasattr(v, "__fspath__")) return py::module_::import("os").attr("fspath")(v).cast<std::string>();
    if (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)) return py::str(v).cast<std::string>();
    // NumPy scalars (np.float32(6), np.int64(3)): by their Python value.
    if (py::hasattr(v, "item") && py::hasattr(v, "dtype")) {
        const py::object item = v.attr("item")();
        if (py::isinstance<py::int_>(item) || py::isinstance<py::float_>(item))
            return py::str(item).cast<std::string>();
    }
    throw py::type_error(key + ": expected a number or text, got " +
                         py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>());
}

}  // namespace

OptionValues option_values(const std::string& command, const py::dict& kwargs) {
    const CommandSpec& spec = command_spec(command);
    OptionValues values(spec);
    for (const auto& [k, v] : kwargs) {
        const std::string key = py::str(k).cast<std::string>();
        const OptionSpec* s = spec.find(key);
        if (!s || s->cli_only) throw py::type_error(command + "() got an unexpected keyword argument '" + key + "'");
        if (v.is_none()) continue;
        if (s->type == ValueType::Flag || s->type == ValueType::Count) {
            if (!py::isinstance<py::bool_>(v)) throw py::type_error(key + ": expected True or False");
            if (v.cast<bool>()) values.set_flag(key);
            continue;
        }
        std::vector<std::string> texts;
        const bool many = s->positional ? s->max_values != 1 : s->max_values > 1;
        if (many && (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v))) {
            for (const py::handle item : v) texts.push_back(text_of(key, item));
        } else {
            texts.push_back(text_of(key, v));
        }
        values.set(key, std::move(texts));
    }
    return values;
}

// --- progress ---------------------------------------------------------------------------

void QueuedProgress::push(ProgressEvent e) {
    {
        const std::lock_guard<std::mutex> lock(m_mutex);
        // Slices come in small batches from every worker: one event per wait is enough.
        if (e.event == "slices_done" && !m_events.empty() && m_events.back().event == "slices_done") {
            m_events.back().count += e.count;
            return;
        }
        m_events.push_back(std::move(e));
    }
    m_cv.notify_one();
}

void QueuedProgress::sources_found(std::size_t sources, std::size_t slices) {
    push({"sources_found", "", "", sources, slices, 0.0});
}
void QueuedProgress::source_skipped(const std::string& id, std::size_t volumes, std::size_t slices) {
    push({"source_skipped", id, "", slices, 0, 0.0, volumes});
}
void QueuedProgress::source_done(const std::string& id, std::size_t volumes, std::size_t failed) {
    push({"source_done", id, "", volumes, 0, 0.0, failed});
}
void QueuedProgress::volume_started(const std::string& id, std::size_t slices) {
    push({"volume_started", id, "", slices, 0, 0.0});
}
void QueuedProgress::slices_done(std::size_t count) { push({"slices_done", "", "", count, 0, 0.0}); }
void QueuedProgress::volume_finished(const std::string& id, std::size_t slices, std::size_t kept, double seconds) {
    push({"volume_finished", id, "", slices, kept, seconds});
}
void QueuedProgress::volume_failed(const std::string& path, const std::string& message) {
    push({"volume_failed", path, message, 0, 0, 0.0});
}
void QueuedProgress::warning(const std::string& path, const std::string& message) {
    push({"warning", path, message, 0, 0, 0.0});
}
void QueuedProgress::file_skipped(const std::string& path, const std::string& reason) {
    push({"file_skipped", path, reason, 0, 0, 0.0});
}
void QueuedProgress::finished(std::size_t volumes, std::size_t slices, std::size_t kept, std::size_t failed,
                              double seconds) {
    ProgressEvent e{"finished", "", "", slices, kept, seconds, failed};
    e.message = std::to_string(volumes);
    push(std::move(e));
}

std::deque<ProgressEvent> QueuedProgress::wait(int ms) {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return m_done || !m_events.empty(); });
    std::deque<ProgressEvent> out;
    out.swap(m_events);
    return out;
}

void QueuedProgress::mark_done() {
    {
        const std::lock_guard<std::mutex> lock(m_mutex);
        m_done = true;
    }
    m_cv.notify_all();
}

bool QueuedProgress::done() const {
    const std::lock_guard<std::mutex> lock(m_mutex);
    return m_done;
}

namespace {

py::dict event_dict(const ProgressEvent& e) {
    py::dict d;
    d["event"] = e.event;
    if (e.event == "sources_found") {
        d["sources"] = e.count;
        d["estimated_slices"] = e.kept;
    } else if (e.event == "slices_done") {
        d["slices"] = e.count;
    } else if (e.event == "finished") {
        d["volumes"] = std::stoul(e.message);
        d["slices"] = e.count;
        d["kept"] = e.kept;
        d["failed"] = e.extra;
        d["seconds"] = e.seconds;
    } else if (e.event == "source_done") {
        d["id"] = e.id;
        d["volumes"] = e.count;
        d["failed"] = e.extra;
    } else if (e.event == "volume_failed" || e.event == "warning" || e.event == "file_skipped") {
        d["path"] = e.id;
        d["message"] = e.message;
    } else {
        d["id"] = e.id;
        d["slices"] = e.count;
        if (e.event == "source_skipped") d["volumes"] = e.extra;
        if (e.event == "volume_finished") {
            d["kept"] = e.kept;
            d["seconds"] = e.seconds;
        }
    }
    return d;
}

// Joins the worker however the calling thread leaves (a std::thread destroyed while
// joinable would end the process).
struct Joiner {
    std::thread& worker;
    CancelToken& cancel;
    ~Joiner() {
        if (!worker.joinable()) return;
        cancel.cancel();
        const py::gil_scoped_release release;
        worker.join();
    }
};

}  // namespace

void run_reporting(const std::function<void(ProgressSink&, const CancelToken&)>& work, const py::object& callback) {
    QueuedProgress progress;
    CancelToken cancel;
    std::exception_ptr error;
    std::thread worker([&] {
        try {
            work(progress, cancel);
        } catch (...) {
            error = std::current_exception();
        }
        progress.mark_done();
    });
    const Joiner joiner{worker, cancel};
    for (;;) {
        std::deque<ProgressEvent> events;
        {
            const py::gil_scoped_release release;
            events = progress.wait(50);
        }
        if (!callback.is_none())
            for (const ProgressEvent& e : events) callback(event_dict(e));  // a raise cancels (Joiner)
        // Ctrl-C: Python's handler only set a flag; it runs (raising KeyboardInterrupt) here.
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (progress.done()) {
            const std::deque<ProgressEvent> rest = progress.wait(0);
            if (!callback.is_none())
                for (const ProgressEvent& e : rest) callback(event_dict(e));
            break;
        }
    }
    {
        const py::gil_scoped_release release;
        worker.join();
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace lessmore::python
