// decoder_worker_main() for the lessmore program: a worker request replaces the process
// with lessmore-decoder, the program next to it that links the third-party decoders (ITK,
// GDCM; apps/decoder_main.cpp). lessmore itself then never loads them: loading and
// initialising ITK and GDCM (symbol relocation, GDCM's dictionaries) was ~33 ms of the
// ~55 ms every command spent before doing anything (docs/performance.md, "Start-up").
// The socket (fd 3) and the arguments are passed on unchanged through execv.
#include <lessmore/decoder_pool.hpp>

#include "io/decoder_channel.hpp"

#include <limits.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace lessmore {

namespace {
using namespace decoder_channel;
constexpr const char* k_decoder_program = "lessmore-decoder";

int refuse_all(int fd, const std::string& reason) {
    const auto forever = std::chrono::steady_clock::time_point::max();
    try {
        write_text(fd, k_worker_flag);
        for (;;) {
            for (const std::size_t limit : {std::size_t{1} << 10, std::size_t{1} << 20, std::size_t{1} << 20})
                read_text(fd, forever, limit);  // task, path, args
            write_value<std::uint8_t>(fd, 1);
            write_text(fd, reason);
            write_value<std::uint64_t>(fd, 0);
        }
    } catch (const ChannelClosed&) {
        return 0;
    }
}

}  // namespace

int decoder_worker_main(int argc, char** argv) {
    if (argc < 3 || std::strcmp(argv[1], k_worker_flag) != 0) return -1;
    char self[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 127;
    std::string program(self, static_cast<std::size_t>(n));
    program = program.substr(0, program.rfind('/') + 1) + k_decoder_program;
    char* args[] = {program.data(), argv[1], argv[2], nullptr};
    ::execv(program.c_str(), args);
    // Not there or not executable: serve the parent anyway, refusing each file with the
    // reason, so that only the files that need a decoder fail (each named in the run's
    // errors) and the rest of the run goes on.
    return refuse_all(std::atoi(argv[2]), "cannot start the decoder program " + program + ": " + std::strerror(errno) +
                                              " (it is installed next to lessmore)");
}

}  // namespace lessmore
