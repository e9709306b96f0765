#pragma once
// What the core reports while it works. The core never touches the terminal; the
// command line decides what to show. Methods may be called from worker threads.
#include <cstddef>
#include <string>

namespace lessmore {

class ProgressSink {
public:
    virtual ~ProgressSink() = default;
    // The work ahead: sources to read (after sharding and resuming) and an estimate of
    // their slices (exact for DICOM and image folders, 0 for a volume file until read).
    virtual void sources_found(std::size_t /*sources*/, std::size_t /*estimated_slices*/) {}
    // A source an earlier run finished (--resume): its volumes are kept, not read again.
    // Reported before sources_found.
    virtual void source_skipped(const std::string& /*id*/, std::size_t /*volumes*/, std::size_t /*slices*/) {}
    // A source read to its end: `volumes` of its volumes finished (each reported by
    // volume_finished before), `failed` files or volumes of it failed (volume_failed).
    virtual void source_done(const std::string& /*id*/, std::size_t /*volumes*/, std::size_t /*failed*/) {}
    virtual void volume_started(const std::string& /*id*/, std::size_t /*slices*/) {}
    virtual void slices_done(std::size_t /*count*/) {}
    virtual void volume_finished(const std::string& /*id*/, std::size_t /*slices*/, std::size_t /*kept*/,
                                 double /*seconds*/) {}
    virtual void volume_failed(const std::string& /*path*/, const std::string& /*message*/) {}
    virtual void warning(const std::string& /*path*/, const std::string& /*message*/) {}
    // A file skipped on purpose (not an image, a localizer, a duplicate): not a failure.
    virtual void file_skipped(const std::string& /*path*/, const std::string& /*reason*/) {}
    virtual void debug(const std::string& /*message*/) {}
    // The run's totals, as its manifest's summary has them (sources of an earlier run included).
    virtual void finished(std::size_t /*volumes*/, std::size_t /*slices*/, std::size_t /*kept*/, std::size_t /*failed*/,
                          double /*seconds*/) {}
};

// Reports nothing.
class NullProgress final : public ProgressSink {};

}  // namespace lessmore
