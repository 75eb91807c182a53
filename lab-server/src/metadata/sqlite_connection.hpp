// A thin layer over one SQLite connection: cached prepared statements, bound
// parameters in order, and SQLite result codes turned into nixedge errors.
// A connection is used by one thread at a time (SqlitePool hands them out).
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <sqlite3.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nixedge::lab {

// Busy, full, I/O and permission failures are database_unavailable (the
// operator's problem, worth a retry); constraint violations are conflict;
// anything else is internal (a bug).
Error sqlite_error(sqlite3* db, int rc, std::string_view context);

// One statement execution. Prepare and bind failures are kept and reported by
// the first step(), so callers check a single Result. Resets its statement on
// destruction, releasing the read snapshot it may hold.
class SqliteQuery {
  public:
    // `in_use` (cached statements only) is cleared when the query ends;
    // a statement of its own (in_use null) is finalized instead.
    SqliteQuery(sqlite3* db, sqlite3_stmt* statement, bool* in_use);
    explicit SqliteQuery(Error error);
    SqliteQuery(SqliteQuery&& other) noexcept;
    SqliteQuery& operator=(SqliteQuery&&) = delete;
    SqliteQuery(const SqliteQuery&) = delete;
    ~SqliteQuery();

    // Each bind sets the next parameter: 1, 2, 3... in call order.
    SqliteQuery& bind(std::int64_t value);
    SqliteQuery& bind(bool value) { return bind(std::int64_t{value ? 1 : 0}); }
    template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, std::int64_t>) SqliteQuery& bind(T value) {
        return bind(static_cast<std::int64_t>(value));
    }
    SqliteQuery& bind(std::string_view text);
    SqliteQuery& bind(const char* text) { return bind(std::string_view(text)); }
    SqliteQuery& bind(const std::string& text) { return bind(std::string_view(text)); }
    SqliteQuery& bind(std::nullopt_t);
    SqliteQuery& bind(const std::optional<std::string>& text);
    SqliteQuery& bind_blob(ByteView bytes);
    template <class... Args> SqliteQuery& bind_all(const Args&... args) {
        (bind(args), ...);
        return *this;
    }

    // true: a row is ready to read; false: the statement is done.
    Result<bool> step();
    // Steps to the end, ignoring any rows.
    Result<void> run();

    std::int64_t int64(int column) const;
    std::uint64_t uint64(int column) const { return static_cast<std::uint64_t>(int64(column)); }
    bool boolean(int column) const { return int64(column) != 0; }
    std::string text(int column) const;
    bool is_null(int column) const;

  private:
    void note_bind(int rc);

    sqlite3* db_ = nullptr;
    sqlite3_stmt* statement_ = nullptr;
    bool* in_use_ = nullptr;
    int next_parameter_ = 1;
    std::optional<Error> error_;
};

class SqliteConnection {
  public:
    static Result<std::unique_ptr<SqliteConnection>> open(const std::filesystem::path& path,
                                                          std::chrono::milliseconds busy_timeout);
    ~SqliteConnection();
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    // Runs statements that take no parameters (schema, PRAGMA, BEGIN/COMMIT).
    Result<void> exec(const char* sql);
    // A prepared statement, cached per connection by its text.
    SqliteQuery query(std::string_view sql);
    template <class... Args> SqliteQuery query(std::string_view sql, const Args&... args) {
        auto q = query(sql);
        q.bind_all(args...);
        return q;
    }
    // Runs one statement with parameters, ignoring any rows.
    template <class... Args> Result<void> run(std::string_view sql, const Args&... args) {
        return query(sql, args...).run();
    }

    std::int64_t changes() const;
    std::int64_t last_insert_id() const;
    sqlite3* handle() { return db_; }

  private:
    explicit SqliteConnection(sqlite3* db) : db_(db) {}

    struct CachedStatement {
        sqlite3_stmt* statement = nullptr;
        bool in_use = false;
    };

    sqlite3* db_;
    // Node-based: the address of each in_use flag stays valid.
    std::unordered_map<std::string, CachedStatement> statements_;
};

} // namespace nixedge::lab
