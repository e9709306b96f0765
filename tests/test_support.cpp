#include "test_support.hpp"

#include <lessmore/base64.hpp>
#include <lessmore/decoder_pool.hpp>
#include <lessmore/library_setup.hpp>
#include <lessmore/sha256.hpp>

#include <zlib.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

extern char** environ;

namespace lessmore::test {

fs::path source_dir() { return fs::path(LESSMORE_SOURCE_DIR); }
fs::path ct_data() { return source_dir() / "tests" / "data" / "ct"; }
fs::path binary() { return fs::path(LESSMORE_BINARY); }
fs::path bundled_sample() { return source_dir() / "data" / "sample" / "example_ct_sm.nii.gz"; }
fs::path dicom_fixtures() { return source_dir() / "tests" / "data" / "dicom"; }

TempDir::TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "lessmore-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    // Make everything removable again (tests may chmod files).
    for (auto it = fs::recursive_directory_iterator(m_path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_symlink(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(m_path, ec);
}

std::string with_dicom_string(const std::string& file, std::uint16_t group, std::uint16_t element, std::string value) {
    if (value.size() % 2) value += ' ';
    const char tag[4] = {static_cast<char>(group & 0xff), static_cast<char>(group >> 8),
                         static_cast<char>(element & 0xff), static_cast<char>(element >> 8)};
    for (std::size_t at = 132; (at = file.find(std::string(tag, 4), at)) != std::string::npos; ++at) {
        if (at + 8 > file.size()) break;
        const bool explicit_vr = std::isupper(static_cast<unsigned char>(file[at + 4])) &&
                                 std::isupper(static_cast<unsigned char>(file[at + 5]));
        std::string head = file.substr(at, explicit_vr ? 6 : 4);
        std::size_t old_len = 0, value_at = 0;
        if (explicit_vr) {
            old_len = static_cast<unsigned char>(file[at + 6]) | (static_cast<unsigned char>(file[at + 7]) << 8);
            value_at = at + 8;
            head += std::string{static_cast<char>(value.size() & 0xff), static_cast<char>(value.size() >> 8)};
        } else {
            for (int k = 3; k >= 0; --k) old_len = old_len * 256 + static_cast<unsigned char>(file[at + 4 + k]);
            value_at = at + 8;
            for (int k = 0; k < 4; ++k) head += static_cast<char>((value.size() >> (8 * k)) & 0xff);
        }
        if (value_at + old_len > file.size()) continue;
        return file.substr(0, at) + head + value + file.substr(value_at + old_len);
    }
    throw std::runtime_error("with_dicom_string: element not found");
}

std::string with_dicom_us(const std::string& file, std::uint16_t group, std::uint16_t element, std::uint16_t value) {
    const char tag[4] = {static_cast<char>(group & 0xff), static_cast<char>(group >> 8),
                         static_cast<char>(element & 0xff), static_cast<char>(element >> 8)};
    for (std::size_t at = 132; (at = file.find(std::string(tag, 4), at)) != std::string::npos; ++at) {
        const bool explicit_vr = at + 10 <= file.size() && file.compare(at + 4, 2, "US") == 0;
        const std::size_t value_at = at + 8;
        const std::size_t length =
            explicit_vr ? static_cast<unsigned char>(file[at + 6]) : static_cast<unsigned char>(file[at + 4]);
        if (length != 2 || value_at + 2 > file.size()) continue;
        std::string out = file;
        out[value_at] = static_cast<char>(value & 0xff);
        out[value_at + 1] = static_cast<char>(value >> 8);
        return out;
    }
    throw std::runtime_error("with_dicom_us: element not found");
}

std::set<std::string> files_under(const fs::path& dir) {
    std::set<std::string> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) out.insert(fs::relative(e.path(), dir).string());
    return out;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string gzip(const std::string& data, int level) {
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate failed");
    return out;
}

std::string zlib_stream(const std::string& data) {
    uLongf size = compressBound(static_cast<uLong>(data.size()));
    std::string out(size, '\0');
    if (compress(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(data.data()),
                 static_cast<uLong>(data.size())) != Z_OK)
        throw std::runtime_error("zlib: compress failed");
    out.resize(size);
    return out;
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

int spawn_lessmore(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
    std::vector<std::string> all = {binary().string()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + all[0]);
    return pid;
}

int wait_for(int pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

namespace {

// Every manifest a CLI test's reduce or merge wrote is checked against what docs/output.md
// defines (docs/manifest.schema.json, the CSV's columns and types) by
// tests/cli/validate_manifests.py, which ctest runs after the CLI tests: with
// LESSMORE_MANIFEST_COLLECT set, a run that ended (exit 0 or 1) leaves a copy of OUT's
// manifest.json and manifest.csv there, named by the test, the process and a counter.
void collect_manifest(const std::vector<std::string>& args, int exit_code) {
    const char* collect = std::getenv("LESSMORE_MANIFEST_COLLECT");
    if (!collect || !*collect || args.empty() || (args[0] != "reduce" && args[0] != "merge")) return;
    if (exit_code != 0 && exit_code != 1) return;
    for (std::size_t k = 1; k + 1 < args.size(); ++k) {
        if (args[k] != "-o" && args[k] != "--output") continue;
        const fs::path out = args[k + 1];
        std::error_code ec;
        if (!fs::is_regular_file(fs::symlink_status(out / "manifest.json", ec)) ||
            !fs::is_regular_file(fs::symlink_status(out / "manifest.csv", ec)))
            return;
        static std::atomic<unsigned> counter{0};
        const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
        const std::string name = (test ? std::string(test->test_suite_name()) + "." + test->name() : "run") + "-" +
                                 std::to_string(::getpid()) + "-" + std::to_string(counter++);
        fs::create_directories(collect, ec);
        fs::copy_file(out / "manifest.csv", fs::path(collect) / (name + ".csv"), ec);
        fs::copy_file(out / "manifest.json", fs::path(collect) / (name + ".json"), ec);
        return;
    }
}

}  // namespace

RunResult run_lessmore(const std::vector<std::string>& args) {
    TempDir io;
    RunResult r;
    r.exit_code = wait_for(spawn_lessmore(args, io / "stdout", io / "stderr"));
    collect_manifest(args, r.exit_code);
    r.out = read_file(io / "stdout");
    r.err = read_file(io / "stderr");
    return r;
}

LimitedRun run_lessmore_with_limit(const std::vector<std::string>& args, const fs::path& dir, int limit_seconds) {
    const int pid = spawn_lessmore(args, dir / "stdout.txt", dir / "stderr.txt");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limit_seconds);
    LimitedRun r;
    int status = 0;
    struct rusage usage {};
    for (;;) {
        if (::wait4(pid, &status, WNOHANG, &usage) == pid) break;
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::wait4(pid, &status, 0, &usage);
            r.timed_out = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    r.exit_code = r.timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.max_rss_kb = usage.ru_maxrss;
    collect_manifest(args, r.exit_code);
    r.out = read_file(dir / "stdout.txt");
    r.err = read_file(dir / "stderr.txt");
    return r;
}

nlohmann::json stable_manifest(nlohmann::json m) {
    m.erase("run");
    m["summary"].erase("seconds");
    for (auto& v : m["volumes"]) v.erase("seconds");
    return m;
}

// Golden files carry bytes as canonical base64 (Python's base64.b64encode): the library's
// decoder, tested on its own in tests/kernels/test_base64.cpp, reads them.
std::vector<std::uint8_t> base64_decode(const std::string& text) {
    const auto bytes = lessmore::base64_decode(text);
    if (!bytes) throw std::runtime_error("golden data: not canonical base64: " + text.substr(0, 40));
    return {bytes->begin(), bytes->end()};
}

std::string sha256_hex(const std::uint8_t* data, std::size_t size) { return lessmore::sha256_hex(data, size); }

void write_nifti(const fs::path& p, const std::vector<int>& dims, int datatype, const std::string& voxel_bytes,
                 float slope, float intercept) {
    std::array<char, 352> hdr{};
    auto put = [&](std::size_t off, const void* v, std::size_t n) { std::memcpy(hdr.data() + off, v, n); };
    const std::int32_t sizeof_hdr = 348;
    put(0, &sizeof_hdr, 4);
    std::int16_t dim[8] = {static_cast<std::int16_t>(dims.size()), 1, 1, 1, 1, 1, 1, 1};
    for (std::size_t i = 0; i < dims.size(); ++i) dim[i + 1] = static_cast<std::int16_t>(dims[i]);
    put(40, dim, 16);
    const std::int16_t dt = static_cast<std::int16_t>(datatype);
    put(70, &dt, 2);
    const std::int16_t bitpix = datatype == 2 ? 8 : datatype == 4 ? 16 : 32;
    put(72, &bitpix, 2);
    const float pixdim[8] = {1, 1, 1, 2.5f, 1, 1, 1, 1};
    put(76, pixdim, 32);
    const float vox_offset = 352;
    put(108, &vox_offset, 4);
    put(112, &slope, 4);
    put(116, &intercept, 4);
    const std::int16_t sform = 1;
    put(254, &sform, 2);
    const float srow_x[4] = {1, 0, 0, 0}, srow_y[4] = {0, 1, 0, 0}, srow_z[4] = {0, 0, 2.5f, -10};
    put(280, srow_x, 16);
    put(296, srow_y, 16);
    put(312, srow_z, 16);
    put(344, "n+1\0", 4);
    write_file(p, std::string(hdr.data(), hdr.size()) + voxel_bytes);
}

void copy_tree(const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

}  // namespace lessmore::test

// The test programs make the CLI's start-up settings (apps/main.cpp) and are decoder
// workers (include/lessmore/decoder_pool.hpp) like it.
int main(int argc, char** argv) {
    lessmore::configure_libraries();
    if (const int worker = lessmore::decoder_worker_main(argc, argv); worker >= 0) return worker;
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
