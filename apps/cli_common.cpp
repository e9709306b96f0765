#include "cli_common.hpp"

#include <lessmore/error.hpp>

#include <cstdio>

namespace lessmore::cli {

void Verbosity::apply(spdlog::logger& log) const {
    if (quiet) {
        log.set_level(spdlog::level::err);
    } else if (verbose >= 2) {
        log.set_level(spdlog::level::debug);
    } else {
        log.set_level(spdlog::level::info);
    }
}

void add_metric_options(CLI::App& cmd, MetricCli& o, const std::string& methods) {
    cmd.add_option("-m,--method", o.method, methods)->default_str(o.method);
    cmd.add_option("--hash-size", o.hash_size, "hash: the hash has hash-size x hash-size bits")->default_val(8);
    cmd.add_option("--bins", o.bins, "mi: histogram bins per image")->default_val(100);
    cmd.add_option("--resize", o.resize, "ssim, mi: compute on slices resized to SxS (area interpolation)");
    cmd.add_option("--intensity", o.intensity, "minmax (per slice), window:C,W (HU window) or none (8-bit input)")
        ->default_str("minmax");
    cmd.add_option("--order", o.order, "Slice order: position (along the slice normal) or name (byte-wise file names)")
        ->check(CLI::IsMember({"position", "name"}))
        ->default_str("position");
    cmd.add_option("-j,--threads", o.threads, "Threads (0: one per core)")->default_val(0);
    cmd.add_flag("--include-localizers", o.include_localizers,
                 "Also read DICOM localizers (scouts, ImageType LOCALIZER), skipped by default");
    const std::string dn = "DeepNet";
    cmd.add_option("--model", o.model, "deepnet: an ONNX model (default: the bundled MobileNet v1 0.25); its "
                                       "preprocessing comes from MODEL.json beside it and the flags below")
        ->group(dn);
    cmd.add_option("--batch", o.batch, "deepnet: slices per forward pass (0: 4 for models up to 16 MB, else 1)")
        ->default_val(0)
        ->group(dn);
    cmd.add_option("--input-size", o.input_size, "deepnet: model input W[,H]")->delimiter(',')->expected(1, 2)->group(dn);
    cmd.add_option("--mean", o.mean, "deepnet: value = (pixel * scale - mean) / std; 1 or 3 values (R,G,B)")
        ->delimiter(',')->expected(1, 3)->group(dn);
    cmd.add_option("--std", o.std, "deepnet: 1 or 3 values (R,G,B)")->delimiter(',')->expected(1, 3)->group(dn);
    o.scale_opt = cmd.add_option("--scale", o.scale, "deepnet: pixel multiplier (e.g. 1/255 = 0.00392156862745098)")->group(dn);
    cmd.add_option("--channel-order", o.channel_order, "deepnet: RGB or BGR")->group(dn);
    cmd.add_option("--layout", o.layout, "deepnet: NCHW or NHWC")->group(dn);
    cmd.add_option("--layer", o.layer, "deepnet: output layer or graph output to embed with")->group(dn);
    o.pool_opt = cmd.add_flag("--pool", o.pool, "deepnet: global-average-pool a 4-D output")->group(dn);
}

MetricOptions MetricCli::metric_options() const {
    MetricOptions m;
    m.method = method;
    m.hash_size = hash_size;
    m.bins = bins;
    m.resize = resize;
    m.model.path = model;
    m.model.batch = batch;
    if (!input_size.empty()) {
        m.model.input_size = std::make_pair(input_size[0], input_size.size() > 1 ? input_size[1] : input_size[0]);
    }
    if (!mean.empty()) m.model.mean = mean;
    if (!std.empty()) m.model.std = std;
    if (scale_opt && scale_opt->count()) m.model.scale = scale;
    if (!channel_order.empty()) m.model.channel_order = channel_order;
    if (!layout.empty()) m.model.layout = layout;
    if (!layer.empty()) m.model.output = layer;
    if (pool_opt && pool_opt->count()) m.model.pool = pool;
    const bool model_flags = !model.empty() || !input_size.empty() || !mean.empty() || !std.empty() ||
                             (scale_opt && scale_opt->count()) || !channel_order.empty() || !layout.empty() ||
                             !layer.empty() || (pool_opt && pool_opt->count());
    if (model_flags && method != "deepnet") {
        throw UsageError("--model and its preprocessing flags: only for --method deepnet");
    }
    return m;
}

std::string percent(std::size_t part, std::size_t whole) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
    return buf;
}

}  // namespace lessmore::cli
