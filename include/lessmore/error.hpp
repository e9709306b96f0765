#pragma once
// Error types. All are caught once, in the command line's main().
#include <stdexcept>
#include <string>

namespace lessmore {

// Text on one line: line breaks and other control characters become spaces. Every error
// message goes through it (Error's constructor), so text taken from a file (a data file's
// name, a header field) can never split a message or the manifest's `errors` entry.
inline std::string one_line(std::string text) {
    for (char& c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return text;
}

// Base of every error lessmore reports; what() is one line meant for the user.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(one_line(what)) {}
    explicit Error(const char* what) : Error(std::string(what)) {}
};

// A file or volume could not be read or is not usable; other volumes go on.
class InputError : public Error {
public:
    using Error::Error;
};

// Bad or conflicting options; nothing is written (exit code 2).
class UsageError : public Error {
public:
    using Error::Error;
};

// The run was cancelled (SIGINT/SIGTERM); exit code 130.
class Interrupted : public Error {
public:
    Interrupted() : Error("interrupted") {}
};

}  // namespace lessmore
