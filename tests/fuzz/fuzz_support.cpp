#include "fuzz_support.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace lessmore::fuzz {
namespace {

std::filesystem::path make_scratch() {
    namespace fs = std::filesystem;
    std::error_code ec;
    const char* tmp = std::getenv("TMPDIR");
    const fs::path base = fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm")
                          : tmp && *tmp                                                       ? fs::path(tmp)
                                                                                              : fs::path("/tmp");
    std::string dir = (base / "lessmore-fuzz-XXXXXX").string();
    if (!::mkdtemp(dir.data())) {
        std::perror("lessmore fuzz: cannot create a scratch folder");
        std::abort();
    }
    return dir;
}

struct Scratch {
    std::filesystem::path path = make_scratch();
    ~Scratch() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

}  // namespace

const std::filesystem::path& scratch() {
    static const Scratch s;
    return s.path;
}

void write_file(const std::filesystem::path& path, const std::uint8_t* data, std::size_t size) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::perror(path.c_str());
        std::abort();
    }
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd, data + done, size - done);
        if (n <= 0) {
            std::perror(path.c_str());
            std::abort();
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
    write_file(path, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

void fail(const char* what, const char* file, int line) {
    std::fprintf(stderr, "lessmore fuzz: check failed at %s:%d: %s\n", file, line, what);
    std::abort();
}

void check_message(const char* what) {
    if (std::strchr(what, '\n') || std::strchr(what, '\r') || *what == '\0') {
        std::fprintf(stderr, "lessmore fuzz: an error message is not one line: \"%s\"\n", what);
        std::abort();
    }
}

std::uint8_t touch(const std::uint8_t* data, std::size_t size) {
    std::uint8_t sum = 0;
    for (std::size_t i = 0; i < size; ++i) sum = static_cast<std::uint8_t>(sum + data[i]);
    return sum;
}

}  // namespace lessmore::fuzz
