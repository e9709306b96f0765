#pragma once
// What the core reports while it works. The core never touches the terminal; the
// command line decides what to show. Methods may be called from worker threads.
#include <cstddef>
#include <string>

namespace lessmore {

class ProgressSink {
public:
    virtual ~ProgressSink() = default;
    virtual void sources_found(std::size_t /*sources*/) {}
    virtual void volume_started(const std::string& /*id*/, std::size_t /*slices*/) {}
    virtual void slices_done(std::size_t /*count*/) {}
    virtual void volume_finished(const std::string& /*id*/, std::size_t /*slices*/, std::size_t /*kept*/,
                                 double /*seconds*/) {}
    virtual void volume_failed(const std::string& /*path*/, const std::string& /*message*/) {}
    virtual void warning(const std::string& /*path*/, const std::string& /*message*/) {}
    virtual void debug(const std::string& /*message*/) {}
};

}  // namespace lessmore
