#pragma once
// The one thread pool. parallel_for lets the calling thread take part, so it may be
// nested (a volume-level task may run a slice-level loop) without deadlock.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lessmore {

class ThreadPool {
public:
    // threads <= 0 means one per hardware core. A pool of 1 runs everything inline.
    explicit ThreadPool(int threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return m_size; }

    // Calls fn(i) for every i in [0, n), on up to size() threads, and returns when all
    // are done. If a call throws, no further indices are started; once the running ones
    // finish, the exception of the lowest failed index is rethrown.
    void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn);

private:
    // Runs task on a worker (or inline for a pool of 1); parallel_for's helpers.
    void submit(std::function<void()> task);
    void worker_loop();

    int m_size = 1;
    std::vector<std::thread> m_workers;
    std::deque<std::function<void()>> m_queue;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;
};

// The number of threads --threads 0 resolves to.
int hardware_threads();

}  // namespace lessmore
