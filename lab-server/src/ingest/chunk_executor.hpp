// Threads that compress and store chunks for every upload, so one large NAR
// uses every core (the chunker runs ahead while earlier chunks are being
// compressed) and one chunk's fsync overlaps another's compression. The
// number of chunks in flight is capped for the whole server, which with the
// 4 MiB chunk cap bounds the memory ingest holds whatever the NAR sizes and
// the number of concurrent uploads.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>

namespace nixedge::lab {

class ChunkExecutor {
  public:
    // threads: pool size (CPU work plus waits on storage); max_in_flight:
    // chunks submitted and not yet finished, across all uploads.
    ChunkExecutor(unsigned threads, std::size_t max_in_flight);
    ~ChunkExecutor();
    ChunkExecutor(const ChunkExecutor&) = delete;
    ChunkExecutor& operator=(const ChunkExecutor&) = delete;

    // Runs job on a pool thread; blocks while max_in_flight jobs are pending.
    // Never call from a pool thread.
    void submit(std::function<void()> job);

    unsigned threads() const { return threads_; }
    std::size_t max_in_flight() const { return max_in_flight_; }

  private:
    unsigned threads_;
    std::size_t max_in_flight_;
    std::mutex mutex_;
    std::condition_variable slot_free_;
    std::size_t in_flight_ = 0;
    boost::asio::thread_pool pool_;
};

} // namespace nixedge::lab
