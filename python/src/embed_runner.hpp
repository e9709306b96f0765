#pragma once
// A Python callable as DeepNet's model (docs/python.md, section "Your own model: embed="):
// wrapped in a ModelRunner that the engine's workers call, each holding the GIL while the
// callable runs.
#include <lessmore/metric.hpp>

#include <pybind11/pybind11.h>

#include <exception>
#include <functional>
#include <memory>

namespace lessmore::python {

namespace py = pybind11;

class EmbedRunner;

// Makes `embed` (None: nothing to do, null returned) the runner of metric's model. Raises
// TypeError when it is not callable and UsageError naming `embed` when the options cannot
// take it (a method other than deepnet, a model or features given too).
std::shared_ptr<const EmbedRunner> attach_embed(MetricOptions& metric, const py::object& embed);

// Runs `work`; when it stops because the callable failed (raised, or returned what is not
// an embedding), raises that failure instead: the callable's own Python exception, or a
// UsageError naming `embed`.
void run_with_embed(const std::shared_ptr<const EmbedRunner>& runner, const std::function<void()>& work);

}  // namespace lessmore::python
