// The server's background work, on a thread of its own (each step is a few
// database calls, or a GC run that deletes objects): every tick it stops
// staging uploads whose narinfo never came and writes the lab reads recorded
// since the last tick; every gc.interval it runs GC, unless another replica
// did meanwhile (the last run is in the database) or is running it now.
#pragma once

#include "routes/lab_context.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace nixedge::lab {

class Maintenance {
  public:
    explicit Maintenance(LabContext& context);
    // Stops the thread after its current step, then writes the last reads.
    ~Maintenance();

    Maintenance(const Maintenance&) = delete;
    Maintenance& operator=(const Maintenance&) = delete;

  private:
    void tick(std::stop_token stop);
    bool gc_due();
    void collect_garbage(std::stop_token stop);

    LabContext& context_;
    std::chrono::seconds period_;
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::jthread thread_;
};

} // namespace nixedge::lab
