// lessmore: make CT pre-training datasets smaller and better.
#include "commands.hpp"

#include <lessmore/decoder_pool.hpp>
#include <lessmore/error.hpp>
#include <lessmore/library_setup.hpp>
#include <lessmore/manifest.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <new>

namespace {

// The one piece of process-wide state: a signal handler can reach nothing else.
lessmore::CancelToken* g_cancel = nullptr;
volatile std::sig_atomic_t g_signals = 0;

extern "C" void on_signal(int) {
    if (++g_signals > 1) _exit(130);  // a second Ctrl-C stops at once
    if (g_cancel) g_cancel->cancel();
}

}  // namespace

int main(int argc, char** argv) {
    using namespace lessmore;
    configure_libraries();
    // A decoder worker (include/lessmore/decoder_pool.hpp) serves its parent and exits.
    if (const int worker = decoder_worker_main(argc, argv); worker >= 0) return worker;
    // Static: the signal handler may still run while main's locals are destroyed.
    static CancelToken cancel;
    g_cancel = &cancel;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto log = std::make_shared<spdlog::logger>("lessmore", sink);
    log->set_pattern("lessmore: %^%l%$: %v");

    cli::Context ctx;
    ctx.log = log;
    ctx.cancel = &cancel;
    ctx.argv.assign(argv, argv + argc);
    ctx.stderr_is_tty = isatty(STDERR_FILENO) != 0;

    // Named, not taken from argv[0], so --help reads the same however lessmore is started
    // (docs/usage.md quotes it; scripts/usage_doc.sh --check, a test, checks the quotes).
    CLI::App app{"lessmore: remove near-duplicate CT slices before self-supervised pre-training", "lessmore"};
    app.set_version_flag("--version", std::string("lessmore ") + version());
    app.require_subcommand(1);
    // Each subcommand declares its options (in --help order) and returns its runner.
    const std::vector<std::pair<std::string, cli::Runner>> commands = {
        {"reduce", cli::add_reduce_command(app)},   {"info", cli::add_info_command(app)},
        {"score", cli::add_score_command(app)},     {"merge", cli::add_merge_command(app)},
        {"sweep", cli::add_sweep_command(app)},     {"report", cli::add_report_command(app)},
        {"compare", cli::add_compare_command(app)}, {"split", cli::add_split_command(app)}};
    auto find = [&](const std::string& name) {
        return std::find_if(commands.begin(), commands.end(), [&](const auto& c) { return c.first == name; });
    };
    const std::string first = argc > 1 ? argv[1] : "";
    if (!first.empty() && first[0] != '-' && find(first) == commands.end()) {
        std::string names;
        for (std::size_t k = 0; k < commands.size(); ++k) {
            names += (k == 0 ? "" : k + 1 == commands.size() ? " or " : ", ") + commands[k].first;
        }
        std::fprintf(stderr, "lessmore: error: unknown command '%s' (use %s)\nRun 'lessmore --help' for usage.\n",
                     argv[1], names.c_str());
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        std::fprintf(stderr, "lessmore: error: %s\n", e.what());
        std::fprintf(stderr, "Run 'lessmore %s--help' for usage.\n",
                     app.get_subcommands().empty() ? "" : (app.get_subcommands().front()->get_name() + " ").c_str());
        return 2;
    }
    try {
        return find(app.get_subcommands().front()->get_name())->second(ctx);
    } catch (const Interrupted&) {
        log->error("interrupted; no manifest written");
        return 130;
    } catch (const UsageError& e) {
        log->error("{}", e.what());
        return 2;
    } catch (const Error& e) {
        log->error("{}", e.what());
        return 1;
    } catch (const std::filesystem::filesystem_error& e) {
        // Not expected (the library words its own file errors), but never a raw message.
        log->error("{}: {}", e.path1().string(), e.code().message());
        return 1;
    } catch (const std::bad_alloc&) {
        log->error("out of memory (try fewer --threads or a --max-memory cap)");
        return 1;
    } catch (const std::exception& e) {
        log->error("internal error: {}", one_line(e.what()));
        return 1;
    }
}
