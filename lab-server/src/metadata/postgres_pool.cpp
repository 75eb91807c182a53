#include "metadata/postgres_pool.hpp"

namespace nixedge::lab {

PostgresPool::PostgresPool(std::string url, std::size_t max_connections, int max_attempts)
    : url_(std::move(url)), max_connections_(max_connections < 1 ? 1 : max_connections),
      max_attempts_(max_attempts < 1 ? 1 : max_attempts) {}

Result<PostgresPool::Lease> PostgresPool::acquire() {
    std::unique_lock lock(mutex_);
    returned_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
    if (!idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(connection));
    }
    ++open_;
    lock.unlock();
    auto connection = PostgresConnection::open(url_);
    if (!connection) {
        lock.lock();
        --open_;
        returned_.notify_one();
        return connection.error();
    }
    return Lease(this, std::move(connection).value());
}

void PostgresPool::release(std::unique_ptr<PostgresConnection> connection) {
    std::vector<std::unique_ptr<PostgresConnection>> dropped;
    {
        std::lock_guard lock(mutex_);
        if (connection->broken()) {
            // The server went away: the idle connections went with it. Closed
            // now, so the next call connects afresh instead of failing on them.
            dropped = std::move(idle_);
            idle_.clear();
            open_ -= dropped.size() + 1;
            dropped.push_back(std::move(connection));
        } else {
            idle_.push_back(std::move(connection));
        }
    }
    returned_.notify_all();
}

std::size_t PostgresPool::open_connections() {
    std::lock_guard lock(mutex_);
    return open_;
}

} // namespace nixedge::lab
