#include "metadata/sqlite_pool.hpp"

namespace nixedge::lab {

SqlitePool::SqlitePool(std::filesystem::path path, std::size_t max_connections,
                       std::chrono::milliseconds busy_timeout)
    : connections_(max_connections, [path = std::move(path), busy_timeout] {
          return SqliteConnection::open(path, busy_timeout);
      }) {}

} // namespace nixedge::lab
