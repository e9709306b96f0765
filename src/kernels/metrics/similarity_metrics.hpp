#pragma once
#include <lessmore/metric.hpp>

#include <memory>

namespace lessmore {

std::unique_ptr<Metric> make_ssim_metric(const MetricOptions& options);
std::unique_ptr<Metric> make_mi_metric(const MetricOptions& options);

}  // namespace lessmore
