// Worker processes for third-party decoders (include/lessmore/decoder_pool.hpp).
//
// Protocol over a Unix socket pair (the worker's end is its fd 3):
//   request:  u32 length + task, u32 length + path, u32 length + args
//   response: u8 status (0 ok, 1 the decoder refused the file), u32 length + meta
//             (the message when status is 1), u64 length + bytes
#include <lessmore/decoder_pool.hpp>
#include <lessmore/error.hpp>

#include "io/decoder_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>

extern char** environ;

namespace lessmore {
namespace {

using namespace decoder_channel;

const char* signal_name(int sig) {
    switch (sig) {
    case SIGABRT:
        return "SIGABRT";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGKILL:
        return "SIGKILL";
    default:
        return nullptr;
    }
}

// One worker process and its end of the socket.
struct Worker {
    pid_t pid = -1;
    int fd = -1;
};

}  // namespace

struct DecoderPool::Impl {
    std::string program;
    std::size_t max_workers;
    std::chrono::milliseconds timeout;
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<Worker> idle;
    std::size_t running = 0;  // started and not yet ended, idle or busy

    Worker start() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
            throw Error(std::string("cannot start a decoder process: socketpair: ") + std::strerror(errno));
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        // dup2 clears close-on-exec on the target; the worker's stderr goes nowhere
        // (decoders print their complaints there; lessmore reports problems itself).
        posix_spawn_file_actions_adddup2(&actions, fds[1], k_worker_fd);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        std::string fd_text = std::to_string(k_worker_fd);
        char* argv[] = {program.data(), const_cast<char*>(k_worker_flag), fd_text.data(), nullptr};
        pid_t pid = -1;
        const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(fds[0]);
            throw Error("cannot start a decoder process (" + program + "): " + std::strerror(rc));
        }
        // The worker says hello first: a program that does not serve decoder requests is
        // found here, not as a mysterious failure of every compressed file.
        try {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            if (read_text(fds[0], deadline, 64) != k_worker_flag) throw ChannelClosed{};
        } catch (...) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            ::close(fds[0]);
            throw Error("decoder processes cannot start: " + program + " does not serve '" + k_worker_flag +
                        "' (a program using lessmore's readers calls decoder_worker_main() first in main)");
        }
        return {pid, fds[0]};
    }

    Worker acquire() {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return !idle.empty() || running < max_workers; });
        if (!idle.empty()) {
            Worker w = idle.back();
            idle.pop_back();
            return w;
        }
        ++running;
        lock.unlock();
        try {
            return start();
        } catch (...) {
            lock.lock();
            --running;
            cv.notify_one();
            throw;
        }
    }

    void release(Worker w) {
        std::lock_guard<std::mutex> lock(mutex);
        idle.push_back(w);
        cv.notify_one();
    }

    // Ends a worker that died or hung; returns how it ended, for the message.
    std::string retire(Worker w, bool hung) {
        if (hung) ::kill(w.pid, SIGKILL);
        ::close(w.fd);
        int status = 0;
        ::waitpid(w.pid, &status, 0);
        {
            std::lock_guard<std::mutex> lock(mutex);
            --running;
            cv.notify_one();
        }
        if (hung) return "decoder hung (stopped after " + std::to_string(timeout.count() / 1000) + " s)";
        if (WIFSIGNALED(status)) {
            const int sig = WTERMSIG(status);
            const char* name = signal_name(sig);
            return std::string(sig == SIGABRT ? "decoder aborted (" : "decoder crashed (") +
                   (name ? name : "signal " + std::to_string(sig)) + ")";
        }
        return "decoder process ended unexpectedly (exit code " + std::to_string(WEXITSTATUS(status)) + ")";
    }
};

DecoderPool::DecoderPool(std::string program, std::size_t max_workers, std::chrono::milliseconds timeout)
    : m_impl(std::make_unique<Impl>()) {
    m_impl->program = std::move(program);
    m_impl->max_workers = std::max<std::size_t>(1, max_workers);
    m_impl->timeout = timeout;
}

DecoderPool::~DecoderPool() {
    // Closing the socket ends a worker's loop; SIGKILL makes sure.
    for (const Worker& w : m_impl->idle) {
        ::close(w.fd);
        ::kill(w.pid, SIGKILL);
        ::waitpid(w.pid, nullptr, 0);
    }
}

DecodedData DecoderPool::run(const std::string& task, const std::string& path, const std::string& args) {
    Worker w = m_impl->acquire();
    const auto deadline = std::chrono::steady_clock::now() + m_impl->timeout;
    try {
        write_text(w.fd, task);
        write_text(w.fd, path);
        write_text(w.fd, args);
        const auto status = read_value<std::uint8_t>(w.fd, deadline);
        DecodedData out;
        out.meta = read_text(w.fd, deadline, std::size_t{64} << 20);
        const auto size = read_value<std::uint64_t>(w.fd, deadline);
        if (size > (std::uint64_t{1} << 40)) throw ChannelClosed{};
        out.bytes.resize(size);
        read_exact(w.fd, out.bytes.data(), out.bytes.size(), deadline);
        m_impl->release(w);
        if (status != 0) throw InputError(out.meta);
        return out;
    } catch (const ChannelClosed&) {
        throw InputError(m_impl->retire(w, false) + " while reading this file");
    } catch (const ChannelTimeout&) {
        throw InputError(m_impl->retire(w, true) + " while reading this file");
    }
}

}  // namespace lessmore
