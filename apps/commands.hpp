#pragma once
// The subcommands: each declares its options on a CLI11 subcommand, then runs.
#include "cli_common.hpp"

#include <lessmore/reduce.hpp>

#include <CLI/CLI.hpp>

#include <functional>

namespace lessmore::cli {

// Declares the subcommand's options and returns the function that runs it (after parsing).
using Runner = std::function<int(Context&)>;
Runner add_reduce_command(CLI::App& app);
Runner add_info_command(CLI::App& app);
Runner add_score_command(CLI::App& app);
Runner add_merge_command(CLI::App& app);
Runner add_sweep_command(CLI::App& app);
Runner add_report_command(CLI::App& app);
Runner add_compare_command(CLI::App& app);
Runner add_split_command(CLI::App& app);

// What `reduce` and `merge` print on stdout (the table, or JSON); returns the exit code.
// `counted`: what the rows count, "slices" or (a --unit run) "units".
void print_table(const ReduceResult& result, const char* counted = "slices");
int print_result(const ReduceResult& result, bool json, const char* counted = "slices");
// --progress NAME ("auto": a bar on a terminal, nothing otherwise; -q: nothing).
ProgressStyle progress_style(const std::string& name, const Context& ctx, bool quiet);

}  // namespace lessmore::cli
