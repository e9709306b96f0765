#include "cli_common.hpp"

#include <lessmore/error.hpp>

#include <cstdio>

namespace lessmore::cli {
namespace {

// The value's name in --help, as CLI11 writes it for typed options.
std::string type_name(const OptionSpec& s) {
    switch (s.type) {
    case ValueType::Int:
        return "INT";
    case ValueType::Uint:
        return "UINT";
    case ValueType::Float:
        return "FLOAT";
    case ValueType::Choice: {
        std::string names;
        for (const std::string& c : s.choices) names += (names.empty() ? "" : ",") + c;
        return "TEXT:{" + names + "}";
    }
    default:
        return "TEXT";
    }
}

}  // namespace

CLI::App* CliValues::declare(CLI::App& app) {
    CLI::App* cmd = app.add_subcommand(m_command->name, m_command->summary);
    for (const OptionSpec& s : m_command->options) {
        CLI::Option* o = nullptr;
        if (s.type == ValueType::Flag || s.type == ValueType::Count) {
            o = cmd->add_flag(s.names, m_counts[s.key], s.help);
        } else {
            // Values stay text: the option model parses them, so the messages are its own.
            // A single positional is bound to one string: CLI11 gives a vector positional
            // every remaining argument, so RUN_A would leave nothing for RUN_B.
            if (s.positional && s.max_values == 1) {
                o = cmd->add_option(s.names, m_single[s.key], s.help)->type_name(type_name(s));
            } else {
                o = cmd->add_option(s.names, m_texts[s.key], s.help)->type_name(type_name(s));
            }
            if (s.positional) {
                if (s.max_values < 0) o->expected(s.min_values, CLI::detail::expected_max_vector_size);
            } else if (s.max_values > 1) {
                o->expected(s.min_values, s.max_values)->delimiter(',');
            } else {
                o->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
            }
            if (!s.default_text.empty()) o->default_str(s.default_text);
        }
        if (s.required) o->required();
        if (!s.group.empty()) o->group(s.group);
        m_options[s.key] = o;
    }
    return cmd;
}

OptionValues CliValues::values() const {
    OptionValues v(*m_command);
    for (const auto& [key, texts] : m_texts)
        if (m_options.at(key)->count() > 0) v.set(key, texts);
    for (const auto& [key, text] : m_single)
        if (m_options.at(key)->count() > 0) v.set(key, {text});
    for (const auto& [key, count] : m_counts) v.set_flag(key, count);
    return v;
}

void apply_verbosity(const OptionValues& values, spdlog::logger& log) {
    const bool has_verbose = values.command().find("verbose") != nullptr;
    if (quiet(values)) {
        log.set_level(spdlog::level::err);
    } else if (has_verbose && values.count("verbose") >= 2) {
        log.set_level(spdlog::level::debug);
    } else {
        log.set_level(spdlog::level::info);
    }
}

bool quiet(const OptionValues& values) { return values.command().find("quiet") && values.flag("quiet"); }

std::string percent(std::size_t part, std::size_t whole) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%",
                  whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
    return buf;
}

}  // namespace lessmore::cli
