#include "metadata/sqlite_connection.hpp"

#include <utility>

namespace nixedge::lab {

namespace {

ErrorCode code_for(int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return ErrorCode::database_unavailable;
    case SQLITE_CONSTRAINT:
        return ErrorCode::conflict;
    default:
        return ErrorCode::internal;
    }
}

// Enough of the statement to find it in the source, not a whole schema.
std::string abbreviate(std::string_view sql) {
    constexpr std::size_t keep = 60;
    auto start = sql.find_first_not_of(" \n");
    sql = start == std::string_view::npos ? std::string_view{} : sql.substr(start);
    return sql.size() <= keep ? std::string(sql) : std::string(sql.substr(0, keep)) + "...";
}

} // namespace

Error sqlite_error(sqlite3* db, int rc, std::string_view context) {
    std::string detail = "sqlite: ";
    detail += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (!context.empty())
        detail += " (in " + abbreviate(context) + ")";
    return make_error(code_for(rc), std::move(detail));
}

SqliteQuery::SqliteQuery(sqlite3* db, sqlite3_stmt* statement, bool* in_use)
    : db_(db), statement_(statement), in_use_(in_use) {
    if (in_use_)
        *in_use_ = true;
}

SqliteQuery::SqliteQuery(Error error) : error_(std::move(error)) {}

SqliteQuery::SqliteQuery(SqliteQuery&& other) noexcept
    : db_(other.db_), statement_(std::exchange(other.statement_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)), next_parameter_(other.next_parameter_),
      error_(std::move(other.error_)) {}

SqliteQuery::~SqliteQuery() {
    if (!statement_)
        return;
    if (!in_use_) {
        sqlite3_finalize(statement_);
        return;
    }
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
    *in_use_ = false;
}

void SqliteQuery::note_bind(int rc) {
    if (rc != SQLITE_OK && !error_)
        error_ = sqlite_error(db_, rc, sqlite3_sql(statement_));
    ++next_parameter_;
}

SqliteQuery& SqliteQuery::bind(std::int64_t value) {
    if (statement_)
        note_bind(sqlite3_bind_int64(statement_, next_parameter_, value));
    return *this;
}

SqliteQuery& SqliteQuery::bind(std::string_view text) {
    if (statement_)
        note_bind(sqlite3_bind_text64(statement_, next_parameter_, text.data(), text.size(),
                                      SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
}

SqliteQuery& SqliteQuery::bind(std::nullopt_t) {
    if (statement_)
        note_bind(sqlite3_bind_null(statement_, next_parameter_));
    return *this;
}

SqliteQuery& SqliteQuery::bind(const std::optional<std::string>& text) {
    return text ? bind(std::string_view(*text)) : bind(std::nullopt);
}

SqliteQuery& SqliteQuery::bind_blob(ByteView bytes) {
    if (statement_)
        note_bind(sqlite3_bind_blob64(statement_, next_parameter_, bytes.data(), bytes.size(),
                                      SQLITE_TRANSIENT));
    return *this;
}

Result<bool> SqliteQuery::step() {
    if (error_)
        return *error_;
    int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    error_ = sqlite_error(db_, rc, sqlite3_sql(statement_));
    return *error_;
}

Result<void> SqliteQuery::run() {
    while (true) {
        auto row = step();
        if (!row)
            return row.error();
        if (!*row)
            return {};
    }
}

std::int64_t SqliteQuery::int64(int column) const {
    return sqlite3_column_int64(statement_, column);
}

std::string SqliteQuery::text(int column) const {
    auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement_, column));
    return data ? std::string(data, size) : std::string();
}

bool SqliteQuery::is_null(int column) const {
    return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<SqliteConnection>>
SqliteConnection::open(const std::filesystem::path& path, std::chrono::milliseconds busy_timeout) {
    sqlite3* db = nullptr;
    // NOMUTEX: the pool guarantees one thread per connection at a time.
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    std::unique_ptr<SqliteConnection> connection(new SqliteConnection(db));
    if (rc != SQLITE_OK)
        return sqlite_error(db, rc, "open " + path.string());
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
    // Per connection: foreign keys enforce the reference rules GC relies on;
    // FULL syncs the WAL on every commit, so an acknowledged push survives a
    // power cut (NORMAL could lose the last commits).
    if (auto ok = connection->exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"); !ok)
        return ok.error();
    return connection;
}

SqliteConnection::~SqliteConnection() {
    for (auto& [sql, cached] : statements_)
        sqlite3_finalize(cached.statement);
    sqlite3_close(db_);
}

Result<void> SqliteConnection::exec(const char* sql) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
        return sqlite_error(db_, rc, sql);
    return {};
}

SqliteQuery SqliteConnection::query(std::string_view sql) {
    auto cached = statements_.find(std::string(sql));
    if (cached != statements_.end() && !cached->second.in_use)
        return SqliteQuery(db_, cached->second.statement, &cached->second.in_use);
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK)
        return SqliteQuery(sqlite_error(db_, rc, sql));
    // The cached statement is busy (a query nested in another's loop): this
    // query gets a statement of its own.
    if (cached != statements_.end())
        return SqliteQuery(db_, statement, nullptr);
    auto inserted = statements_.emplace(std::string(sql), CachedStatement{statement, false}).first;
    return SqliteQuery(db_, statement, &inserted->second.in_use);
}

std::int64_t SqliteConnection::changes() const {
    return sqlite3_changes64(db_);
}

std::int64_t SqliteConnection::last_insert_id() const {
    return sqlite3_last_insert_rowid(db_);
}

} // namespace nixedge::lab
