// Connections to one PostgreSQL database, shared by every thread of the
// process, with the transaction kinds the store needs.
//
// A bounded pool: up to max_connections, opened lazily; callers wait when all
// are out. A connection found broken (the server restarted, the network
// dropped it) is closed instead of going back to the pool.
//
// Transactions (every replica runs the same code against one database):
// - read: REPEATABLE READ, READ ONLY: one snapshot for the whole call, like
//   a SQLite read transaction (edge_plan's lists agree with each other).
// - write: SERIALIZABLE, the isolation SQLite's single writer gives. A
//   serialization failure, deadlock or unique violation rolls back and runs
//   fn again (up to max_attempts). Every insert into a unique key is checked
//   first in the same transaction, so a unique violation means a concurrent
//   transaction committed that row meanwhile (PostgreSQL does not always
//   report this race as a serialization failure): the next run sees the row
//   and answers as SQLite would, e.g. two replicas publishing the same path
//   end with one row, one "published" and one "unchanged", not a 409.
// - write_unsynced (chunk claims and marks): READ COMMITTED with
//   synchronous_commit off. First-writer-wins comes from INSERT ... ON
//   CONFLICT DO NOTHING, which waits for a concurrent inserter and then sees
//   its row, and takeovers are compare-and-set, so claims need no stronger
//   isolation and never fail with serialization errors.
// Lost connections: when a connection breaks before COMMIT was sent, nothing
// was committed, so the transaction runs again once on a new connection. A
// connection lost during COMMIT is ambiguous (it may have committed): the
// caller gets database_unavailable.
#pragma once

#include "metadata/connection_pool.hpp"
#include "metadata/postgres_connection.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace nixedge::lab {

class PostgresPool {
  public:
    PostgresPool(std::string url, std::size_t max_connections, int max_attempts);

    using Lease = ConnectionPool<PostgresConnection>::Lease;
    Result<Lease> acquire() { return connections_.acquire(); }

    template <class F> auto read(F&& fn) {
        return run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn);
    }
    template <class F> auto write(F&& fn) { return run("BEGIN ISOLATION LEVEL SERIALIZABLE", fn); }
    template <class F> auto write_unsynced(F&& fn) {
        return run("BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit = off", fn);
    }

    // Connections open now (idle or leased), for tests.
    std::size_t open_connections() { return connections_.open_connections(); }

  private:
    enum class Failure { none, retry, fatal };

    // attempt² ms give or take half, at random.
    static std::chrono::microseconds retry_pause(int attempt) {
        thread_local std::minstd_rand random(std::random_device{}());
        std::uniform_int_distribution<int> micros(attempt * attempt * 500,
                                                  attempt * attempt * 1500);
        return std::chrono::microseconds(micros(random));
    }

    static bool is_race_sqlstate(std::string_view sqlstate) {
        return is_retryable_sqlstate(sqlstate) || sqlstate == "23505"; // unique_violation
    }

    template <class F> auto run(const char* begin, F& fn) {
        using R = std::invoke_result_t<F&, PostgresConnection&>;
        bool reconnected = false;
        for (int attempt = 1;; ++attempt) {
            auto lease = acquire();
            if (!lease)
                return R(lease.error());
            Failure failure = Failure::none;
            R result = attempt_once(**lease, begin, fn, failure);
            if (failure == Failure::none)
                return result;
            if ((*lease)->broken()) {
                // Nothing committed (COMMIT was never sent): once more, on a
                // fresh connection.
                if (failure == Failure::fatal || reconnected)
                    return result;
                reconnected = true;
                continue;
            }
            if (failure == Failure::fatal || attempt >= max_attempts_)
                return result;
            // Jittered: transactions that failed together must not retry
            // in lockstep and fail together again.
            std::this_thread::sleep_for(retry_pause(attempt));
        }
    }

    template <class F>
    static auto attempt_once(PostgresConnection& c, const char* begin, F& fn, Failure& failure) {
        using R = std::invoke_result_t<F&, PostgresConnection&>;
        failure = Failure::none;
        if (auto ok = c.exec(begin); !ok) {
            failure = Failure::retry;
            return R(ok.error());
        }
        R result = fn(c);
        if (!result) {
            // A retryable SQLSTATE or a lost connection is the database's
            // doing, not the request's: worth another attempt.
            if (is_race_sqlstate(c.last_sqlstate()) || c.broken())
                failure = Failure::retry;
            if (!c.broken())
                (void)c.exec("ROLLBACK");
            return result;
        }
        if (auto ok = c.exec("COMMIT"); !ok) {
            // A serialization failure at commit rolled back; a lost
            // connection may or may not have committed.
            failure = is_race_sqlstate(c.last_sqlstate()) && !c.broken() ? Failure::retry
                                                                         : Failure::fatal;
            if (!c.broken())
                (void)c.exec("ROLLBACK");
            return R(ok.error());
        }
        return result;
    }

    ConnectionPool<PostgresConnection> connections_;
    int max_attempts_;
};

} // namespace nixedge::lab
