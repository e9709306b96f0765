#pragma once
// What the fuzz targets share: a scratch folder for readers that take a path (on
// /dev/shm when it is there, so no input touches a disk), and the checks every target
// makes on what a reader says about bad input.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace lessmore::fuzz {

// This process's scratch folder (created on first use, removed at exit).
const std::filesystem::path& scratch();

// Writes bytes to path, replacing it.
void write_file(const std::filesystem::path& path, const std::uint8_t* data, std::size_t size);
void write_file(const std::filesystem::path& path, const std::string& bytes);

// A reader's message for bad input must be one line (docs: every error is one line).
// Traps (a crash libFuzzer reports, with the input saved) when it is not.
void check_message(const char* what);

// Reads every byte of [data, data + size), so AddressSanitizer sees a span that points
// outside its buffer; returns a value the caller can ignore.
std::uint8_t touch(const std::uint8_t* data, std::size_t size);

// Traps unless the condition holds: a property of a reader's result, not a sanitizer error.
#define LESSMORE_FUZZ_CHECK(cond)                                       \
    do {                                                                \
        if (!(cond)) ::lessmore::fuzz::fail(#cond, __FILE__, __LINE__); \
    } while (false)
[[noreturn]] void fail(const char* what, const char* file, int line);

}  // namespace lessmore::fuzz
