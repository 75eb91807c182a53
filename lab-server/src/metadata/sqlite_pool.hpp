// Connections to one SQLite database shared by every thread of the process.
//
// Threading model: a small pool of connections, each used by one thread at a
// time (opened lazily, up to max_connections; callers wait when all are out).
// Readers run in parallel (WAL: a reader never blocks on a writer and sees a
// consistent snapshot). Writers in this process queue on one mutex and then
// BEGIN IMMEDIATE: SQLite admits one writer per database anyway, and queueing
// in-process is fair and fast where busy_timeout polling is neither.
// BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails
// halfway when it upgrades from reading to writing; busy_timeout covers other
// processes (a second server on the same file, `nixedge-server fsck`).
#pragma once

#include "metadata/connection_pool.hpp"
#include "metadata/sqlite_connection.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

namespace nixedge::lab {

class SqlitePool {
  public:
    SqlitePool(std::filesystem::path path, std::size_t max_connections,
               std::chrono::milliseconds busy_timeout);

    using Lease = ConnectionPool<SqliteConnection>::Lease;
    Result<Lease> acquire() { return connections_.acquire(); }

    // Runs fn(connection) in a read transaction (one consistent snapshot).
    template <class F> auto read(F&& fn) { return with_connection("BEGIN", fn); }

    // Runs fn(connection) in a write transaction; commits only if fn
    // succeeds, rolls back on an error result or an exception.
    template <class F> auto write(F&& fn) {
        std::lock_guard lock(write_mutex_);
        return with_connection("BEGIN IMMEDIATE", fn);
    }

    // A write transaction whose commit is not synced to disk before it
    // returns (PRAGMA synchronous = NORMAL): in WAL mode it becomes durable
    // with the next ordinary write()'s commit, which syncs the log with every
    // frame before it. For rows whose loss in a crash is harmless and that a
    // later durable commit depends on anyway (chunk claims and marks, before
    // the NAR that uses the chunks is recorded): a commit then costs no fsync.
    template <class F> auto write_unsynced(F&& fn) {
        using R = std::invoke_result_t<F&, SqliteConnection&>;
        std::lock_guard lock(write_mutex_);
        auto lease = acquire();
        if (!lease)
            return R(lease.error());
        if (auto ok = (*lease)->exec("PRAGMA synchronous = NORMAL"); !ok)
            return R(ok.error());
        R result = in_transaction(**lease, "BEGIN IMMEDIATE", fn);
        if (auto ok = (*lease)->exec("PRAGMA synchronous = FULL"); !ok)
            return R(ok.error()); // only when the database itself is failing
        return result;
    }

  private:
    template <class F> auto with_connection(const char* begin, F& fn) {
        using R = std::invoke_result_t<F&, SqliteConnection&>;
        auto lease = acquire();
        if (!lease)
            return R(lease.error());
        return in_transaction(**lease, begin, fn);
    }

    template <class F> static auto in_transaction(SqliteConnection& c, const char* begin, F& fn) {
        using R = std::invoke_result_t<F&, SqliteConnection&>;
        if (auto ok = c.exec(begin); !ok)
            return R(ok.error());
        RollbackGuard guard{c};
        R result = fn(c);
        if (!result)
            return result;
        if (auto ok = c.exec("COMMIT"); !ok)
            return R(ok.error());
        guard.armed = false;
        return result;
    }

    struct RollbackGuard {
        SqliteConnection& connection;
        bool armed = true;
        ~RollbackGuard() {
            if (armed)
                (void)connection.exec("ROLLBACK");
        }
    };

    ConnectionPool<SqliteConnection> connections_;
    std::mutex write_mutex_;
};

} // namespace nixedge::lab
