#include "metadata/sqlite_pool.hpp"

namespace nixedge::lab {

SqlitePool::SqlitePool(std::filesystem::path path, std::size_t max_connections,
                       std::chrono::milliseconds busy_timeout)
    : path_(std::move(path)), max_connections_(max_connections < 1 ? 1 : max_connections),
      busy_timeout_(busy_timeout) {}

Result<SqlitePool::Lease> SqlitePool::acquire() {
    std::unique_lock lock(mutex_);
    returned_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
    if (!idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(connection));
    }
    ++open_;
    lock.unlock();
    auto connection = SqliteConnection::open(path_, busy_timeout_);
    if (!connection) {
        lock.lock();
        --open_;
        returned_.notify_one();
        return connection.error();
    }
    return Lease(this, std::move(connection).value());
}

void SqlitePool::release(std::unique_ptr<SqliteConnection> connection) {
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(connection));
    }
    returned_.notify_one();
}

} // namespace nixedge::lab
