#pragma once
// One file read front to back through one descriptor: its bytes as they are, or, for a
// gzip file, its content decompressed in a single pass (never re-opened, never seeking
// back) with every member's CRC-32 and length checked as the member ends.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace lessmore {

// Deflate expands at most 1032:1 (a 258-byte match coded in 2 bits), so a gzip file of
// n bytes cannot hold more than n * 1032 bytes of content.
constexpr std::uint64_t k_max_deflate_ratio = 1032;

// Sequential content of one open file. Errors are InputError with a one-line message
// (no path: the caller names the file).
class InputStream {
public:
    virtual ~InputStream() = default;
    // The next `count` bytes of content into dest; "... ends early" when there are fewer.
    virtual void read(std::byte* dest, std::size_t count) = 0;
    // Passes over the next `count` bytes (gzip: decompressed and dropped).
    virtual void skip(std::uint64_t count) = 0;
    // Checks the rest and closes the file. Gzip: the rest is decompressed so that every
    // member's CRC-32 and length are checked; zero bytes after the last member are
    // ignored (as gzip and Python's gzip module do: tape padding), anything else there
    // is "trailing garbage". A plain file is only closed (bytes past what the caller
    // needs are allowed). The destructor closes without checking.
    virtual void finish() = 0;
    // Content bytes read or skipped so far.
    virtual std::uint64_t position() const = 0;
    // The size of the file on disk.
    virtual std::uint64_t file_size() const = 0;
    // The most content the file can hold: its size, or its size * k_max_deflate_ratio.
    virtual std::uint64_t capacity() const = 0;
    virtual bool is_gzip() const = 0;
    // How much content the caller needs in all, for "ends early" messages only.
    void expect(std::uint64_t total) { m_expected = total; }

protected:
    std::uint64_t m_expected = 0;
};

// Opens the regular file at `path` (exactly that file) once; it is read as gzip when it
// starts with the gzip magic bytes 1f 8b. Throws InputError ("cannot open: ...",
// "not a regular file").
std::unique_ptr<InputStream> open_input_stream(const std::filesystem::path& path);

}  // namespace lessmore
