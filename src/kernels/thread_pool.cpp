#include <lessmore/thread_pool.hpp>

#include <exception>
#include <limits>
#include <memory>

namespace lessmore {

int hardware_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int threads) : m_size(threads <= 0 ? hardware_threads() : threads) {
    // The calling thread works too, so a pool of N starts N - 1 workers.
    for (int i = 1; i < m_size; ++i) m_workers.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    for (auto& t : m_workers) t.join();
}

void ThreadPool::worker_loop() {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_cv.wait(lock, [this] { return m_stop || !m_queue.empty(); });
            if (m_queue.empty()) return;  // stopping
            task = std::move(m_queue.front());
            m_queue.pop_front();
        }
        task();
    }
}

void ThreadPool::submit(std::function<void()> task) {
    if (m_workers.empty()) {
        task();
        return;
    }
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_queue.push_back(std::move(task));
    }
    m_cv.notify_one();
}

namespace {

struct ForJob {
    std::size_t n = 0;
    const std::function<void(std::size_t)>* fn = nullptr;
    std::mutex mutex;
    std::condition_variable idle;
    std::size_t next = 0;         // the next index to hand out
    std::size_t in_progress = 0;  // indices being run now
    std::size_t error_index = std::numeric_limits<std::size_t>::max();
    std::exception_ptr error;

    // Takes indices until none are left. After a failure no more are handed out: a failed
    // loop (Ctrl-C, a full disk) should stop soon, not run to the end.
    void run() {
        for (;;) {
            std::size_t i = 0;
            {
                std::lock_guard<std::mutex> lock(mutex);
                if (next >= n) return;
                i = next++;
                ++in_progress;
            }
            try {
                (*fn)(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex);
                if (i < error_index) {
                    error_index = i;
                    error = std::current_exception();
                }
                next = n;
            }
            std::lock_guard<std::mutex> lock(mutex);
            if (--in_progress == 0 && next >= n) idle.notify_all();
        }
    }
};

}  // namespace

void ThreadPool::parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (n == 0) return;
    if (m_workers.empty() || n == 1) {
        // Same error rule as the parallel path: the lowest failing index wins.
        for (std::size_t i = 0; i < n; ++i) fn(i);  // the first failure stops the loop
        return;
    }
    auto job = std::make_shared<ForJob>();
    job->n = n;
    job->fn = &fn;
    const std::size_t helpers = std::min<std::size_t>(m_workers.size(), n - 1);
    for (std::size_t h = 0; h < helpers; ++h) submit([job] { job->run(); });
    job->run();
    std::unique_lock<std::mutex> lock(job->mutex);
    job->idle.wait(lock, [&] { return job->in_progress == 0; });
    if (job->error) std::rethrow_exception(job->error);
}

}  // namespace lessmore
