#pragma once
// Cooperative cancellation (Ctrl-C): the core checks it between units of work.
#include <lessmore/error.hpp>

#include <atomic>

namespace lessmore {

class CancelToken {
public:
    void cancel() { m_flag.store(true); }
    bool cancelled() const { return m_flag.load(); }
    // Throws Interrupted once cancelled.
    void check() const {
        if (cancelled()) throw Interrupted();
    }

private:
    std::atomic<bool> m_flag{false};
};

}  // namespace lessmore
