// Worker processes for third-party decoders (include/lessmore/decoder_pool.hpp).
//
// Protocol over a Unix socket pair (the worker's end is its fd 3):
//   request:  u32 length + task, u32 length + path, u32 length + args
//   response: u8 status (0 ok, 1 the decoder refused the file), u32 length + meta
//             (the message when status is 1), u64 length + bytes
#include <lessmore/decoder_pool.hpp>
#include <lessmore/error.hpp>

#include "io/decoder_tasks.hpp"

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

constexpr int k_worker_fd = 3;
constexpr const char* k_worker_flag = "__decode-worker";

// Raised inside this file when the other side is gone or too slow.
struct ChannelClosed {};
struct ChannelTimeout {};

// Waits until fd is readable; throws ChannelTimeout once `deadline` passes.
void wait_readable(int fd, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) throw ChannelTimeout{};
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
        if (r > 0) return;
        if (r < 0 && errno != EINTR) throw ChannelClosed{};
    }
}

void read_exact(int fd, void* data, std::size_t size, std::chrono::steady_clock::time_point deadline) {
    auto* p = static_cast<char*>(data);
    while (size > 0) {
        wait_readable(fd, deadline);
        const ssize_t n = ::recv(fd, p, size, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw ChannelClosed{};
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

void write_exact(int fd, const void* data, std::size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw ChannelClosed{};
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

template <typename T>
void write_value(int fd, T v) {
    write_exact(fd, &v, sizeof v);
}

void write_text(int fd, const std::string& s) {
    write_value<std::uint32_t>(fd, static_cast<std::uint32_t>(s.size()));
    write_exact(fd, s.data(), s.size());
}

template <typename T>
T read_value(int fd, std::chrono::steady_clock::time_point deadline) {
    T v{};
    read_exact(fd, &v, sizeof v, deadline);
    return v;
}

std::string read_text(int fd, std::chrono::steady_clock::time_point deadline, std::size_t limit) {
    const auto n = read_value<std::uint32_t>(fd, deadline);
    if (n > limit) throw ChannelClosed{};
    std::string s(n, '\0');
    read_exact(fd, s.data(), n, deadline);
    return s;
}

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

namespace {

// The worker: one request at a time, until the parent closes the socket.
int serve(int fd) {
    // Never dump core (an abort on a hostile file is expected here), die with the parent,
    // and leave Ctrl-C to the parent, which stops the run and closes the socket.
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
#if !defined(__SANITIZE_ADDRESS__)  // AddressSanitizer reserves terabytes of address space
    // A header that talks a decoder into allocating more than the machine has fails
    // here, not by pushing the machine into swap.
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0) {
        const auto limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(page) + (rlim_t{1} << 30);
        const rlimit memory{limit, limit};
        ::setrlimit(RLIMIT_AS, &memory);
    }
#endif
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() == 1) return 0;
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);
    const auto forever = std::chrono::steady_clock::time_point::max();
    try {
        write_text(fd, k_worker_flag);
        for (;;) {
            const std::string task = read_text(fd, forever, 1 << 10);
            const std::string path = read_text(fd, forever, 1 << 20);
            const std::string args = read_text(fd, forever, 1 << 20);
            std::uint8_t status = 0;
            DecodedData result;
            try {
                result = run_decoder_task(task, path, args);
            } catch (const std::exception& e) {
                status = 1;
                result = DecodedData{one_line(e.what()), {}};
            }
            write_value<std::uint8_t>(fd, status);
            write_text(fd, result.meta);
            write_value<std::uint64_t>(fd, result.bytes.size());
            write_exact(fd, result.bytes.data(), result.bytes.size());
        }
    } catch (const ChannelClosed&) {
        return 0;
    }
}

}  // namespace

int decoder_worker_main(int argc, char** argv) {
    if (argc < 3 || std::strcmp(argv[1], k_worker_flag) != 0) return -1;
    return serve(std::atoi(argv[2]));
}

}  // namespace lessmore
