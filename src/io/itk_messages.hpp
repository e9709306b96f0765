#pragma once
// ITK exception text as one line for lessmore's messages.
#include <lessmore/error.hpp>

#include <algorithm>
#include <string>

namespace lessmore {

// One line, whitespace runs collapsed, and without ITK's "itk::ERROR: PNGImageIO(0x55d0...): "
// prefix: an object address would make manifests differ from run to run.
inline std::string itk_message(const std::string& text) {
    std::string s = one_line(text);
    for (const char* prefix : {"itk::ERROR: ", "ITK ERROR: "}) {
        const auto error = s.find(prefix);
        if (error == std::string::npos) continue;
        const auto close = s.find("): ", error);
        if (close != std::string::npos) s.erase(error, close + 3 - error);
    }
    s.erase(std::unique(s.begin(), s.end(), [](char a, char b) { return a == ' ' && b == ' '; }), s.end());
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

}  // namespace lessmore
