#pragma once
// What every subcommand shares: logging, progress on stderr, the cancel token, and its
// options declared from the option model (include/lessmore/options.hpp).
#include <lessmore/cancel.hpp>
#include <lessmore/options.hpp>
#include <lessmore/progress.hpp>

#include "progress.hpp"

#include <spdlog/logger.h>
#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lessmore::cli {

struct Context {
    std::shared_ptr<spdlog::logger> log;
    CancelToken* cancel = nullptr;
    std::vector<std::string> argv;
    bool stderr_is_tty = false;
};

// What CLI11 parsed for one command: the texts of each option and the counts of its flags,
// keyed by the option model's keys. Node-based maps: CLI11 keeps pointers into them.
class CliValues {
public:
    explicit CliValues(const CommandSpec& command) : m_command(&command) {}
    // Declares the command's options on a new CLI11 subcommand of `app`.
    CLI::App* declare(CLI::App& app);
    // After parsing: what the user gave, for the option model to turn into a config.
    OptionValues values() const;

private:
    const CommandSpec* m_command;
    std::map<std::string, std::vector<std::string>> m_texts;
    std::map<std::string, std::string> m_single;  // single positionals
    std::map<std::string, int> m_counts;
    std::map<std::string, CLI::Option*> m_options;
};

// -q / -v (-vv) applied to the log.
void apply_verbosity(const OptionValues& values, spdlog::logger& log);
bool quiet(const OptionValues& values);

// Human-friendly number formatting for tables.
std::string percent(std::size_t part, std::size_t whole);

}  // namespace lessmore::cli
