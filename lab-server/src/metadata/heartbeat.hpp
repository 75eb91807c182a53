// A thread that calls a function at a fixed interval until stopped: what
// keeps a process's writer row in the metadata database fresh while the
// process lives (ClaimRules). A process that dies stops beating with it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace nixedge::lab {

class Heartbeat {
  public:
    Heartbeat() = default;
    Heartbeat(const Heartbeat&) = delete;
    Heartbeat& operator=(const Heartbeat&) = delete;
    ~Heartbeat() { stop(); }

    // Calls `beat` every `every`, first after one interval.
    void start(std::chrono::milliseconds every, std::function<void()> beat);
    // Returns once the thread has ended (a beat under way finishes first).
    void stop();

  private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace nixedge::lab
