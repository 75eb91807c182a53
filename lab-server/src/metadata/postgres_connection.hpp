// A thin layer over one libpq connection with the shape of SqliteConnection:
// `?` parameters bound in order (rewritten to $1, $2...), rows stepped one at
// a time, and PostgreSQL errors turned into nixedge errors. Results come as
// text (bytea is decoded), so the store code reads both databases alike.
// A connection is used by one thread at a time (PostgresPool hands them out).
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <libpq-fe.h>

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab {

// The URL with its password (if any) replaced by "***", for messages.
std::string mask_postgres_url(std::string_view url);

class PostgresConnection;

// One statement execution. It runs at the first step(); bind errors are kept
// and reported there, so callers check a single Result.
class PostgresQuery {
  public:
    PostgresQuery(PostgresConnection* connection, std::string_view sql);
    PostgresQuery(PostgresQuery&& other) noexcept;
    PostgresQuery& operator=(PostgresQuery&&) = delete;
    PostgresQuery(const PostgresQuery&) = delete;
    ~PostgresQuery();

    PostgresQuery& bind(std::int64_t value);
    PostgresQuery& bind(bool value);
    template <std::integral T>
    requires(!std::same_as<T, bool> &&
             !std::same_as<T, std::int64_t>) PostgresQuery& bind(T value) {
        return bind(static_cast<std::int64_t>(value));
    }
    PostgresQuery& bind(std::string_view text);
    PostgresQuery& bind(const char* text) { return bind(std::string_view(text)); }
    PostgresQuery& bind(const std::string& text) { return bind(std::string_view(text)); }
    PostgresQuery& bind(std::nullopt_t);
    PostgresQuery& bind(const std::optional<std::string>& text);
    PostgresQuery& bind_blob(ByteView bytes);
    template <class... Args> PostgresQuery& bind_all(const Args&... args) {
        (bind(args), ...);
        return *this;
    }

    // true: a row is ready to read; false: the statement is done.
    Result<bool> step();
    // Runs the statement, ignoring any rows.
    Result<void> run();

    std::int64_t int64(int column) const;
    std::uint64_t uint64(int column) const { return static_cast<std::uint64_t>(int64(column)); }
    bool boolean(int column) const;
    std::string text(int column) const;
    bool is_null(int column) const;

  private:
    Result<void> execute();

    PostgresConnection* connection_;
    std::string sql_;
    std::vector<std::optional<std::string>> values_;
    std::vector<int> formats_; // 0 text, 1 binary (bytea)
    PGresult* result_ = nullptr;
    int row_ = -1;
    int rows_ = 0;
    std::optional<Error> error_; // a failed execution, reported by every later step()
};

class PostgresConnection {
  public:
    // database_unavailable (with the URL's password masked) if the server
    // cannot be reached or refuses the login.
    static Result<std::unique_ptr<PostgresConnection>> open(const std::string& url);
    ~PostgresConnection();
    PostgresConnection(const PostgresConnection&) = delete;
    PostgresConnection& operator=(const PostgresConnection&) = delete;

    // Runs statements that take no parameters (schema, BEGIN/COMMIT).
    Result<void> exec(const char* sql);
    PostgresQuery query(std::string_view sql) { return PostgresQuery(this, sql); }
    template <class... Args> PostgresQuery query(std::string_view sql, const Args&... args) {
        PostgresQuery q(this, sql);
        q.bind_all(args...);
        return q;
    }
    template <class... Args> Result<void> run(std::string_view sql, const Args&... args) {
        return query(sql, args...).run();
    }

    // Rows changed by the last statement that ran.
    std::int64_t changes() const { return changes_; }
    // The SQLSTATE of the last failure ("" if it had none, e.g. a lost connection).
    const std::string& last_sqlstate() const { return last_sqlstate_; }
    // The connection is gone (server restarted, network): drop it.
    bool broken() const;
    PGconn* handle() { return conn_; }

    // Internal to PostgresQuery: a finished command's error, or its changes.
    Error error_from(PGresult* result, std::string_view context);
    void note_changes(PGresult* result);

  private:
    explicit PostgresConnection(PGconn* conn) : conn_(conn) {}

    PGconn* conn_;
    std::int64_t changes_ = 0;
    std::string last_sqlstate_;
};

// SQLSTATEs after which the transaction may simply run again.
bool is_retryable_sqlstate(std::string_view sqlstate);

} // namespace nixedge::lab
