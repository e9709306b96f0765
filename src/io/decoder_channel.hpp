#pragma once
// The socket protocol between a DecoderPool (io/decoder_pool.cpp, the parent) and its worker
// processes (io/decoder_worker.cpp): shared by both sides, which are built into different
// programs (docs/performance.md, "Start-up": the decoders live in lessmore-decoder).
//   request:  u32 length + task, u32 length + path, u32 length + args
//   response: u8 status (0 ok, 1 the decoder refused the file), u32 length + meta
//             (the message when status is 1), u64 length + bytes
#include <poll.h>
#include <sys/socket.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace lessmore::decoder_channel {

inline constexpr int k_worker_fd = 3;
inline constexpr const char* k_worker_flag = "__decode-worker";

// Raised inside this file when the other side is gone or too slow.
struct ChannelClosed {};
struct ChannelTimeout {};

// Waits until fd is readable; throws ChannelTimeout once `deadline` passes.
inline void wait_readable(int fd, std::chrono::steady_clock::time_point deadline) {
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

inline void read_exact(int fd, void* data, std::size_t size, std::chrono::steady_clock::time_point deadline) {
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

inline void write_exact(int fd, const void* data, std::size_t size) {
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
inline void write_value(int fd, T v) {
    write_exact(fd, &v, sizeof v);
}

inline void write_text(int fd, const std::string& s) {
    write_value<std::uint32_t>(fd, static_cast<std::uint32_t>(s.size()));
    write_exact(fd, s.data(), s.size());
}

template <typename T>
inline T read_value(int fd, std::chrono::steady_clock::time_point deadline) {
    T v{};
    read_exact(fd, &v, sizeof v, deadline);
    return v;
}

inline std::string read_text(int fd, std::chrono::steady_clock::time_point deadline, std::size_t limit) {
    const auto n = read_value<std::uint32_t>(fd, deadline);
    if (n > limit) throw ChannelClosed{};
    std::string s(n, '\0');
    read_exact(fd, s.data(), n, deadline);
    return s;
}

}  // namespace lessmore::decoder_channel
