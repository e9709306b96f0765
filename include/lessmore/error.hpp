#pragma once
// Error types. All are caught once, in the command line's main().
#include <stdexcept>
#include <string>

namespace lessmore {

// Base of every error lessmore reports; what() is one line meant for the user.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
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

// A library's error text (OpenCV, ITK) on one line, for lessmore's messages.
inline std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}

// The run was cancelled (SIGINT/SIGTERM); exit code 130.
class Interrupted : public Error {
public:
    Interrupted() : Error("interrupted") {}
};

}  // namespace lessmore
