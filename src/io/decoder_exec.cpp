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
#include <cstring>
#include <string>

namespace lessmore {

namespace {
using decoder_channel::k_worker_flag;
constexpr const char* k_decoder_program = "lessmore-decoder";
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
    // Not there or not executable: the parent sees no greeting and reports, naming the
    // file it was reading, that decoder processes cannot start.
    return 127;
}

}  // namespace lessmore
