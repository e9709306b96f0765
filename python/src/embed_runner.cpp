// The embed= callable behind the engine's ModelRunner interface (include/lessmore/embedder.hpp).
// Only conversion and the GIL: the engine preprocesses, batches, pools and compares.
#include "embed_runner.hpp"

#include <lessmore/embedder.hpp>
#include <lessmore/error.hpp>

#include <pybind11/numpy.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace lessmore::python {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

class EmbedRunner final : public ModelRunner {
public:
    explicit EmbedRunner(py::object fn) : m_fn(std::move(fn)) {}
    ~EmbedRunner() override {
        // The callable is a Python object: released with the GIL, whichever thread drops the
        // last reference.
        const py::gil_scoped_acquire gil;
        m_fn = py::object();
    }
    EmbedRunner(const EmbedRunner&) = delete;
    EmbedRunner& operator=(const EmbedRunner&) = delete;

    OutputBatch run(const InputBatch& batch) const override {
        // After a failure every worker stops as at Ctrl-C; the first failure is what the
        // caller sees (run_with_embed).
        if (m_failed.load()) throw Interrupted();
        try {
            OutputBatch out = call(batch);
            check_values(out, batch.count);
            return out;
        } catch (const Interrupted&) {
            throw;
        } catch (...) {
            const std::lock_guard<std::mutex> lock(m_mutex);
            if (!m_failure) m_failure = std::current_exception();
            m_failed.store(true);
        }
        throw Interrupted();
    }

    std::string runtime() const override { return "callback"; }

    std::exception_ptr failure() const {
        const std::lock_guard<std::mutex> lock(m_mutex);
        return m_failure;
    }

private:
    // The batch as a NumPy array, the callable's result as float32 N x ...: with the GIL.
    OutputBatch call(const InputBatch& batch) const {
        const py::gil_scoped_acquire gil;
        py::array_t<float> in(std::vector<py::ssize_t>{batch.count, batch.channels, batch.height, batch.width});
        std::memcpy(in.mutable_data(), batch.values.data(), batch.values.size() * sizeof(float));
        const py::object result = m_fn(in);
        const py::array a = py::array::ensure(result);
        if (!a || a.dtype().kind() != 'f') {
            if (a && py::isinstance<py::array>(result)) {
                throw UsageError("embed: returned an array of dtype " + py::str(a.dtype()).cast<std::string>() +
                                 "; expected float16, float32 or float64");
            }
            const std::string type = py::str(py::type::handle_of(result).attr("__qualname__")).cast<std::string>();
            throw UsageError("embed: returned a " + type +
                             ", not a NumPy array of floats (e.g. return tensor.cpu().numpy())");
        }
        std::vector<std::int64_t> shape(a.shape(), a.shape() + a.ndim());
        const std::string expected = " for a batch of " + std::to_string(batch.count) + " slices; expected " +
                                     std::to_string(batch.count) + " x D (or " + std::to_string(batch.count) +
                                     " x C x H x W, a feature map)";
        if ((a.ndim() != 2 && a.ndim() != 4) || shape[0] != batch.count)
            throw UsageError("embed: returned an array of shape " + shape_text(shape) + expected);
        if (a.size() == 0) throw UsageError("embed: returned an empty array, shape " + shape_text(shape) + expected);
        {
            const std::vector<std::int64_t> row(shape.begin() + 1, shape.end());
            const std::lock_guard<std::mutex> lock(m_mutex);
            if (!m_row) {
                m_row = row;
            } else if (*m_row != row) {
                std::vector<std::int64_t> before{batch.count};
                before.insert(before.end(), m_row->begin(), m_row->end());
                throw UsageError("embed: returned an array of shape " + shape_text(shape) + " after " +
                                 shape_text(before) +
                                 " for an earlier batch; every batch must give the same dimension");
            }
        }
        const auto values = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
        OutputBatch out;
        out.shape = std::move(shape);
        out.values.assign(values.data(), values.data() + values.size());
        return out;
    }

    // Values out of float32's range (float64) became infinite in the conversion.
    static void check_values(const OutputBatch& out, int rows) {
        const std::size_t per = out.values.size() / static_cast<std::size_t>(rows);
        for (std::size_t i = 0; i < out.values.size(); ++i) {
            if (!std::isfinite(out.values[i])) {
                throw UsageError("embed: returned a value that is not finite (row " + std::to_string(i / per) +
                                 " of the batch, value " + std::to_string(i % per) +
                                 (out.shape.size() == 2 ? "" : " of the row flattened") + ")");
            }
        }
    }

    py::object m_fn;
    mutable std::mutex m_mutex;
    mutable std::optional<std::vector<std::int64_t>> m_row;  // the shape after N of the first batch
    mutable std::exception_ptr m_failure;
    mutable std::atomic<bool> m_failed{false};
};

std::shared_ptr<const EmbedRunner> attach_embed(MetricOptions& metric, const py::object& embed) {
    if (embed.is_none()) return nullptr;
    if (!PyCallable_Check(embed.ptr())) throw py::type_error("embed: expected a callable, batch -> embeddings");
    if (metric.method != "deepnet")
        throw UsageError("embed: is DeepNet's model; it needs method=\"deepnet\", not \"" + metric.method + "\"");
    if (!metric.model.path.empty()) throw UsageError("embed and model: give one, not both");
    if (!metric.model.features_dir.empty()) throw UsageError("embed and features: give one, not both");
    auto runner = std::make_shared<const EmbedRunner>(embed);
    metric.model.runner = runner;
    metric.model.runtime = runner->runtime();
    return runner;
}

void run_with_embed(const std::shared_ptr<const EmbedRunner>& runner, const std::function<void()>& work) {
    try {
        work();
    } catch (...) {
        if (runner)
            if (const std::exception_ptr failure = runner->failure()) std::rethrow_exception(failure);
        throw;
    }
}

}  // namespace lessmore::python
