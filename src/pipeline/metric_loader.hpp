#pragma once
// Builds a command's metric: the one place a model file is read for the metrics.
#include <lessmore/metric.hpp>

#include <memory>

namespace lessmore {

// make_metric() after reading the DeepNet model's files (io layer) when a --model path is
// given; null for everyn. Throws UsageError as make_metric() does.
std::unique_ptr<Metric> load_metric(MetricOptions options);

}  // namespace lessmore
