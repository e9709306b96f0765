#include "pipeline/metric_loader.hpp"

#include "io/model_files.hpp"

namespace lessmore {

std::unique_ptr<Metric> load_metric(MetricOptions options) {
    if (options.method == "everyn") return nullptr;
    if (options.method == "deepnet") open_model(options.model);
    return make_metric(options);
}

}  // namespace lessmore
