#pragma once
// The option model: every command's options declared once, as data. The CLI builds its
// CLI11 options and --help from it (apps/), docs/usage.md quotes that --help (checked by
// scripts/usage_doc.sh), and the Python package takes the same keys as keyword arguments.
// Values arrive as text, whoever gives them, and become a command's config here, so
// defaults, parsing and the messages naming the option at fault are the same everywhere.
#include <lessmore/compare.hpp>
#include <lessmore/info.hpp>
#include <lessmore/merge.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/report.hpp>
#include <lessmore/score.hpp>
#include <lessmore/split.hpp>
#include <lessmore/sweep.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lessmore {

enum class ValueType {
    Flag,   // given or not
    Count,  // a flag that may repeat (-vv)
    Text,
    Int,
    Uint,
    Float,
    Choice,  // one of OptionSpec::choices
};

struct OptionSpec {
    std::string names;  // CLI11 names ("-t,--threshold"), or a positional's name ("INPUT")
    std::string key;    // "threshold": the Python keyword, unique in its command
    ValueType type = ValueType::Text;
    std::string help;
    std::string default_text;  // what --help shows; the config's own default decides
    std::vector<std::string> choices;
    std::string group;   // --help section ("" = Options)
    int min_values = 1;  // values per occurrence: lists (comma-separated) and positionals
    int max_values = 1;  // -1: any number
    bool required = false;
    bool positional = false;
    bool cli_only = false;  // how the CLI prints (--json, --progress, -q, -v): no Python keyword

    // The name messages use: "--threshold", or the positional's name.
    std::string display_name() const;
};

struct CommandSpec {
    std::string name;
    std::string summary;
    std::vector<OptionSpec> options;
    const OptionSpec* find(const std::string& key) const;
};

// Every command, in --help order.
const std::vector<CommandSpec>& command_specs();
const CommandSpec& command_spec(const std::string& name);  // throws UsageError for an unknown name

// What the user gave for a command, as text, keyed by OptionSpec::key; the typed getters
// apply the spec (choices, number syntax) and throw UsageError naming the option.
class OptionValues {
public:
    explicit OptionValues(const CommandSpec& command) : m_command(&command) {}

    // Throws UsageError for a key the command does not have, or a value count it does not take.
    void set(const std::string& key, std::vector<std::string> texts);
    void set_flag(const std::string& key, int count = 1);

    const CommandSpec& command() const { return *m_command; }
    bool given(const std::string& key) const;
    const std::vector<std::string>& texts(const std::string& key) const;  // empty when not given
    std::optional<std::string> text(const std::string& key) const;
    int count(const std::string& key) const;  // a flag: how often it was given
    bool flag(const std::string& key) const { return count(key) > 0; }
    std::optional<double> number(const std::string& key) const;
    std::optional<long long> integer(const std::string& key) const;  // Int and Uint (>= 0)
    std::vector<double> numbers(const std::string& key) const;
    std::optional<std::string> choice(const std::string& key) const;

private:
    const OptionSpec& spec(const std::string& key) const;
    const CommandSpec* m_command;
    std::map<std::string, std::vector<std::string>> m_values;
    std::map<std::string, int> m_counts;
};

// The commands' configs from their values (UsageError naming the option at fault; the
// commands' own validation, e.g. validate(ReduceConfig), runs when they start).
ReduceConfig reduce_config(const OptionValues& values);
SweepConfig sweep_config(const OptionValues& values);
ScoreConfig score_config(const OptionValues& values);
InfoConfig info_config(const OptionValues& values);
ReportConfig report_config(const OptionValues& values);
MergeConfig merge_config(const OptionValues& values);
CompareConfig compare_config(const OptionValues& values);
SplitConfig split_config(const OptionValues& values);

// Option text to typed values (each throws UsageError naming its option and the text).
std::pair<int, int> parse_shard(const std::string& text);  // "I/N", 1 <= I <= N <= 100000
std::uint64_t parse_memory(const std::string& text);       // "500M", "8G", "1.5GiB", "1024"
std::pair<std::optional<std::size_t>, std::optional<std::size_t>> parse_range(const std::string& text);  // "A:B"
std::vector<double> parse_thresholds(const std::string& text);  // "1,2,3" or "A:B:STEP" (B included)
IntensityMapping parse_intensity(const std::string& text);      // "minmax", "window:C,W", "none"
ExportValues parse_export_values(const std::string& text);      // "intensity", "minmax", "window:C,W", "hu"

}  // namespace lessmore
