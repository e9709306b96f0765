// The decoder worker process (include/lessmore/decoder_pool.hpp): serves one DecoderPool
// over the socket protocol of io/decoder_channel.hpp, running the third-party decoders
// (ITK, GDCM) of io/decoder_tasks.cpp. Built into the programs that decode: lessmore-decoder
// (apps/decoder_main.cpp), the tests and the benchmarks; the lessmore program itself starts
// lessmore-decoder instead (io/decoder_exec.cpp), so its start-up never loads ITK or GDCM.
#include <lessmore/decoder_pool.hpp>
#include <lessmore/error.hpp>

#include "io/decoder_channel.hpp"
#include "io/decoder_tasks.hpp"

#include <gdcmTrace.h>
#include <itkObject.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace lessmore {
namespace {

using namespace decoder_channel;

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
    // The decoders' own diagnostics off (a refused file is reported through the protocol).
    itk::Object::GlobalWarningDisplayOff();
    gdcm::Trace::WarningOff();
    gdcm::Trace::DebugOff();
    gdcm::Trace::ErrorOff();
    return serve(std::atoi(argv[2]));
}

}  // namespace lessmore
