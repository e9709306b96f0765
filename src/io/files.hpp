#pragma once
// Small filesystem helpers shared by readers and writers.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace lessmore {

// Writes bytes to a temporary file beside `path` and renames it over `path`, so a
// reader never sees a half-written file. `sync` also fsyncs (for the manifest).
// Throws Error naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, bool sync = false);

// The lower-cased extension, with ".nii.gz"-style double extensions kept whole.
std::string extension_of(const std::filesystem::path& path);

// strerror(errno) as a std::string.
std::string errno_text(int err);

// Path text for messages and the manifest (generic form, no quotes).
std::string path_text(const std::filesystem::path& path);

}  // namespace lessmore
