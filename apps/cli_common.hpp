#pragma once
// What every subcommand shares: logging, progress on stderr, the cancel token.
#include <lessmore/metric.hpp>
#include <lessmore/progress.hpp>

#include "progress.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/load.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/logger.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lessmore::cli {

struct Context {
    std::shared_ptr<spdlog::logger> log;
    CancelToken* cancel = nullptr;
    std::vector<std::string> argv;
    bool stderr_is_tty = false;
};

// Verbosity flags of every subcommand.
struct Verbosity {
    bool quiet = false;
    int verbose = 0;
    void apply(spdlog::logger& log) const;
};

// --order position|name (CLI11 checks the name).
inline SliceOrder slice_order_of(const std::string& name) { return name == "name" ? SliceOrder::Name : SliceOrder::Position; }

// Options every command that computes a metric takes: --method, its parameters, the
// intensity mapping, slice order and threads.
struct MetricCli {
    std::string method = "hash";
    int hash_size = 8;
    int bins = 100;
    int resize = 0;
    std::string intensity = "minmax";
    std::string order = "position";
    bool include_localizers = false;
    int threads = 0;
    // deepnet
    std::string model;
    int batch = 0;
    std::vector<int> input_size;
    std::vector<double> mean, std;
    double scale = 0;
    std::string channel_order, layout, layer;
    bool pool = false;
    CLI::Option* scale_opt = nullptr;
    CLI::Option* pool_opt = nullptr;

    MetricOptions metric_options() const;  // throws UsageError
    SliceOrder slice_order() const { return slice_order_of(order); }
};
void add_metric_options(CLI::App& cmd, MetricCli& o, const std::string& methods);

// Human-friendly number formatting for tables.
std::string percent(std::size_t part, std::size_t whole);

}  // namespace lessmore::cli
