#include "metadata/postgres_pool.hpp"

namespace nixedge::lab {

PostgresPool::PostgresPool(std::string url, std::size_t max_connections, int max_attempts)
    : connections_(max_connections,
                   [url = std::move(url)] { return PostgresConnection::open(url); }),
      max_attempts_(max_attempts < 1 ? 1 : max_attempts) {}

} // namespace nixedge::lab
