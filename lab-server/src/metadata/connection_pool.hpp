// The connections of one database shared by every thread of the process, for
// both stores (SqlitePool, PostgresPool): up to max_connections, opened
// lazily by `open`; callers wait while all are out. A connection that reports
// itself broken (Connection::broken(), where it has one: the server went
// away) is closed on return, with every idle one, which died with it; the
// next caller connects afresh.
#pragma once

#include "nixedge/result.hpp"

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace nixedge::lab {

template <class Connection> class ConnectionPool {
  public:
    using Opener = std::function<Result<std::unique_ptr<Connection>>()>;

    ConnectionPool(std::size_t max_connections, Opener open)
        : max_connections_(max_connections < 1 ? 1 : max_connections), open_(std::move(open)) {}

    // A borrowed connection, returned to the pool when the lease ends.
    class Lease {
      public:
        Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection)
            : pool_(pool), connection_(std::move(connection)) {}
        Lease(Lease&& other) noexcept = default;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (connection_)
                pool_->release(std::move(connection_));
        }
        Connection& operator*() { return *connection_; }
        Connection* operator->() { return connection_.get(); }

      private:
        ConnectionPool* pool_;
        std::unique_ptr<Connection> connection_;
    };

    Result<Lease> acquire() {
        std::unique_lock lock(mutex_);
        returned_.wait(lock, [&] { return !idle_.empty() || opened_ < max_connections_; });
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            return Lease(this, std::move(connection));
        }
        ++opened_;
        lock.unlock();
        auto connection = open_();
        if (!connection) {
            lock.lock();
            --opened_;
            returned_.notify_one();
            return connection.error();
        }
        return Lease(this, std::move(connection).value());
    }

    // Connections open now (idle or leased), for tests.
    std::size_t open_connections() {
        std::lock_guard lock(mutex_);
        return opened_;
    }

  private:
    void release(std::unique_ptr<Connection> connection) {
        std::vector<std::unique_ptr<Connection>> dropped; // closed outside the lock
        {
            std::lock_guard lock(mutex_);
            if (is_broken(*connection)) {
                dropped = std::move(idle_);
                idle_.clear();
                opened_ -= dropped.size() + 1;
                dropped.push_back(std::move(connection));
            } else {
                idle_.push_back(std::move(connection));
            }
        }
        returned_.notify_all();
    }

    static bool is_broken(Connection& connection) {
        if constexpr (requires { connection.broken(); })
            return connection.broken();
        else
            return false;
    }

    std::size_t max_connections_;
    Opener open_;
    std::mutex mutex_; // guards idle_ and opened_
    std::condition_variable returned_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t opened_ = 0;
};

} // namespace nixedge::lab
