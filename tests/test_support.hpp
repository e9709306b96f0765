#pragma once
// Helpers shared by the unit and CLI tests.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace lessmore::test {

namespace fs = std::filesystem;

fs::path ct_data();         // tests/data/ct: real CT committed with the tests (see its SOURCES.md)
fs::path source_dir();      // the repository
fs::path binary();          // the lessmore executable
fs::path bundled_sample();  // data/sample/example_ct_sm.nii.gz
fs::path dicom_fixtures();  // tests/data/dicom

// A fresh folder removed at the end of the test.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return m_path; }
    fs::path operator/(const std::string& name) const { return m_path / name; }

private:
    fs::path m_path;
};

struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};
// Runs the lessmore binary with args; stdout/stderr captured.
RunResult run_lessmore(const std::vector<std::string>& args);

// Starts the binary without waiting (stdout/stderr to files); wait_for() returns its exit
// code, or 128 + signal.
int spawn_lessmore(const std::vector<std::string>& args, const fs::path& out, const fs::path& err);
int wait_for(int pid);

// The binary started with stdout/stderr to files in `dir`, stopped (SIGKILL) and reported
// as timed out if it runs past `limit`: a hang fails the test instead of stalling it.
// max_rss_kb: the peak resident memory of the binary or the largest of its worker
// processes (getrusage of the waited-for child).
struct LimitedRun {
    int exit_code = -1;
    bool timed_out = false;
    long max_rss_kb = 0;
    std::string out;
    std::string err;
};
LimitedRun run_lessmore_with_limit(const std::vector<std::string>& args, const fs::path& dir, int limit_seconds);

// A manifest without what legitimately differs between equal runs: the "run" block
// (command, threads, timing) and the seconds fields.
nlohmann::json stable_manifest(nlohmann::json manifest);

std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& bytes);
// `data` compressed by zlib (an independent implementation of what lessmore reads): one
// gzip member (RFC 1952) at `level` (0: stored blocks, so its size is exact), and a zlib
// stream (RFC 1950) at zlib's default level. Throws std::runtime_error when zlib fails.
std::string gzip(const std::string& data, int level = 6);
std::string zlib_stream(const std::string& data);
nlohmann::json read_json(const fs::path& p);
std::vector<std::uint8_t> base64_decode(const std::string& text);
std::string sha256_hex(const std::uint8_t* data, std::size_t size);

// A minimal uncompressed NIfTI-1 (.nii) writer for odd test volumes.
// datatype: 2 uint8, 4 int16, 8 int32, 16 float32.
void write_nifti(const fs::path& p, const std::vector<int>& dims, int datatype, const std::string& voxel_bytes,
                 float slope = 0.0f, float intercept = 0.0f);

// A DICOM file's bytes with one top-level string element (e.g. SeriesNumber (0020,0011))
// set to `value` (padded to even length), in implicit or explicit VR little endian, for
// fixtures with odd header values. Throws when the element is not found.
std::string with_dicom_string(const std::string& file, std::uint16_t group, std::uint16_t element, std::string value);

// The same for a top-level US element (e.g. Rows (0028,0010)).
std::string with_dicom_us(const std::string& file, std::uint16_t group, std::uint16_t element, std::uint16_t value);

// The regular files below a folder, as paths relative to it (none when it is missing).
std::set<std::string> files_under(const fs::path& dir);

// Copies a folder tree (used to build odd datasets from real data).
void copy_tree(const fs::path& from, const fs::path& to);

}  // namespace lessmore::test
