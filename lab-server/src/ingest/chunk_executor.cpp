#include "ingest/chunk_executor.hpp"

#include <boost/asio/post.hpp>

namespace nixedge::lab {

ChunkExecutor::ChunkExecutor(unsigned threads, std::size_t max_in_flight)
    : threads_(threads), max_in_flight_(max_in_flight), pool_(threads) {}

ChunkExecutor::~ChunkExecutor() {
    pool_.join();
}

void ChunkExecutor::submit(std::function<void()> job) {
    {
        std::unique_lock lock(mutex_);
        slot_free_.wait(lock, [&] { return in_flight_ < max_in_flight_; });
        ++in_flight_;
    }
    boost::asio::post(pool_, [this, job = std::move(job)] {
        job();
        {
            std::lock_guard lock(mutex_);
            --in_flight_;
        }
        slot_free_.notify_one();
    });
}

} // namespace nixedge::lab
