#pragma once
// Third-party decoders (GDCM's codecs, ITK's NRRD/MetaImage/PNG/JPEG/TIFF readers) run in
// worker processes, so a decoder that aborts, crashes or hangs on a hostile file costs that
// file, never the run. Workers are the same program started with "__decode-worker"
// (posix_spawn, not fork, since the caller is multi-threaded); a program that uses
// lessmore's readers calls decoder_worker_main() first thing in main().
#include <lessmore/volume.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace lessmore {

// What a decoder task returns: task-specific metadata (JSON text) and the decoded bytes.
struct DecodedData {
    std::string meta;
    Bytes bytes;
};

class DecoderPool {
public:
    // program: the executable to start as a worker ("/proc/self/exe": this program);
    // at most max_workers run at once; a task taking longer than timeout is killed.
    DecoderPool(std::string program, std::size_t max_workers,
                std::chrono::milliseconds timeout = std::chrono::seconds(300));
    ~DecoderPool();
    DecoderPool(const DecoderPool&) = delete;
    DecoderPool& operator=(const DecoderPool&) = delete;

    // Runs a registered task ("dicom-pixels", "itk-volume", "image") on `path` in a worker
    // and returns its result. Thread-safe; blocks while all workers are busy. Throws
    // InputError (the caller names the path) when the decoder refuses the file, dies
    // ("decoder aborted (SIGABRT) while reading this file") or hangs (the worker is
    // killed); the next call starts a new worker.
    DecodedData run(const std::string& task, const std::string& path, const std::string& args = "");

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// When argv asks for a decoder worker, serves requests until the parent goes away and
// returns the exit code; otherwise returns -1 at once.
int decoder_worker_main(int argc, char** argv);

}  // namespace lessmore
