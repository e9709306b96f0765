#include "test_support.hpp"

#include <lessmore/thread_pool.hpp>

#include <atomic>

namespace lessmore {
namespace {

TEST(ThreadPool, RunsEveryIndexOnce) {
    for (int threads : {1, 2, 4}) {
        ThreadPool pool(threads);
        std::vector<std::atomic<int>> hits(1000);
        pool.parallel_for(hits.size(), [&](std::size_t i) { hits[i]++; });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
}

TEST(ThreadPool, LowestFailingIndexWinsForAnyThreadCount) {
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        try {
            pool.parallel_for(100, [](std::size_t i) {
                if (i == 17 || i == 80) throw std::runtime_error(std::to_string(i));
            });
            FAIL() << "no exception";
        } catch (const std::runtime_error& e) {
            EXPECT_STREQ(e.what(), "17");
        }
    }
}

TEST(ThreadPool, NestedLoopsDoNotDeadlock) {
    ThreadPool pool(2);
    std::atomic<int> sum{0};
    pool.parallel_for(8,
                      [&](std::size_t) { pool.parallel_for(50, [&](std::size_t j) { sum += static_cast<int>(j); }); });
    EXPECT_EQ(sum.load(), 8 * (49 * 50 / 2));
}

TEST(ThreadPool, ZeroMeansHardwareThreads) {
    ThreadPool pool(0);
    EXPECT_EQ(pool.size(), hardware_threads());
}

}  // namespace
}  // namespace lessmore
