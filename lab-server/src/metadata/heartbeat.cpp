#include "metadata/heartbeat.hpp"

namespace nixedge::lab {

void Heartbeat::start(std::chrono::milliseconds every, std::function<void()> beat) {
    stop();
    stopping_ = false;
    thread_ = std::thread([this, every, beat = std::move(beat)] {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, every, [this] { return stopping_; })) {
            lock.unlock();
            beat();
            lock.lock();
        }
    });
}

void Heartbeat::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

} // namespace nixedge::lab
