// Timing helpers for the micro-benchmarks: median of repeated runs, because
// these machines are shared and noisy.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace nixedge::bench {

template <class F> double median_seconds(F&& run, int repetitions = 7) {
    std::vector<double> times;
    for (int i = 0; i < repetitions; ++i) {
        auto start = std::chrono::steady_clock::now();
        run();
        std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        times.push_back(elapsed.count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

// Keeps the optimizer from deleting work whose result is unused.
template <class T> void keep(const T& value) {
    asm volatile("" : : "g"(&value) : "memory");
}

} // namespace nixedge::bench
