#pragma once
#include <lessmore/metric.hpp>

#include <memory>

namespace lessmore {

std::unique_ptr<Metric> make_deepnet_metric(const MetricOptions& options);

}  // namespace lessmore
