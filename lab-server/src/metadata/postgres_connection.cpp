#include "metadata/postgres_connection.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace nixedge::lab {

namespace {

// Connection loss, server shutting down or starting, out of resources,
// refused login, missing database: the operator's problem, worth a retry.
bool unavailable_sqlstate(std::string_view s) {
    return s.starts_with("08") || s.starts_with("53") || s.starts_with("57") ||
           s.starts_with("58") || s.starts_with("28") || s == "3D000" || s.empty();
}

ErrorCode code_for(std::string_view sqlstate) {
    if (unavailable_sqlstate(sqlstate) || is_retryable_sqlstate(sqlstate))
        return ErrorCode::database_unavailable;
    if (sqlstate.starts_with("23"))
        return ErrorCode::conflict;
    return ErrorCode::internal;
}

std::string abbreviate(std::string_view sql) {
    constexpr std::size_t keep = 60;
    auto start = sql.find_first_not_of(" \n");
    sql = start == std::string_view::npos ? std::string_view{} : sql.substr(start);
    return sql.size() <= keep ? std::string(sql) : std::string(sql.substr(0, keep)) + "...";
}

std::string trimmed(const char* message) {
    std::string text = message ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    for (auto& ch : text)
        if (ch == '\n')
            ch = ' ';
    return text;
}

// `?` -> $1, $2... outside quoted literals and identifiers, so one SQL text
// serves both databases.
std::string numbered_parameters(std::string_view sql) {
    std::string out;
    out.reserve(sql.size() + 16);
    int next = 1;
    char quote = 0;
    for (char ch : sql) {
        if (quote) {
            out += ch;
            if (ch == quote)
                quote = 0;
            continue;
        }
        if (ch == '\'' || ch == '"') {
            quote = ch;
            out += ch;
        } else if (ch == '?') {
            out += '$' + std::to_string(next++);
        } else {
            out += ch;
        }
    }
    return out;
}

std::string hex_escape_bytea(ByteView bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = "\\x";
    out.reserve(2 + bytes.size() * 2);
    for (auto b : bytes) {
        out += digits[static_cast<std::uint8_t>(b) >> 4];
        out += digits[static_cast<std::uint8_t>(b) & 0xf];
    }
    return out;
}

int hex_value(char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return 0;
}

constexpr Oid bytea_oid = 17;
constexpr Oid bool_oid = 16;

} // namespace

bool is_retryable_sqlstate(std::string_view sqlstate) {
    return sqlstate == "40001" || sqlstate == "40P01"; // serialization failure, deadlock
}

std::string mask_postgres_url(std::string_view url) {
    // scheme://user:password@host...: mask between the first ':' after the
    // scheme and the last '@' of the authority.
    auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        return std::string(url);
    auto authority_start = scheme_end + 3;
    auto authority_end = url.find_first_of("/?", authority_start);
    auto authority = url.substr(authority_start, authority_end == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : authority_end - authority_start);
    auto at = authority.rfind('@');
    if (at == std::string_view::npos)
        return std::string(url);
    auto colon = authority.find(':');
    if (colon == std::string_view::npos || colon > at)
        return std::string(url);
    std::string masked(url.substr(0, authority_start + colon + 1));
    masked += "***";
    masked += url.substr(authority_start + at);
    return masked;
}

// ---- PostgresConnection ----

Result<std::unique_ptr<PostgresConnection>> PostgresConnection::open(const std::string& url) {
    PGconn* conn = PQconnectdb(url.c_str());
    std::unique_ptr<PostgresConnection> connection(new PostgresConnection(conn));
    if (!conn)
        return make_error(ErrorCode::database_unavailable, "postgresql: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
        auto message = trimmed(PQerrorMessage(conn));
        // libpq does not echo passwords, but a message must never carry one.
        if (const char* password = PQpass(conn); password && *password)
            for (auto at = message.find(password); at != std::string::npos;
                 at = message.find(password))
                message.replace(at, std::strlen(password), "***");
        return make_error(ErrorCode::database_unavailable, "postgresql: cannot connect to " +
                                                               mask_postgres_url(url) + ": " +
                                                               message);
    }
    // Plain integers and text in answers, UTC, and no notices on stderr.
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    if (auto ok = connection->exec("SET client_min_messages = warning; SET TIME ZONE 'UTC'"); !ok)
        return ok.error();
    return connection;
}

PostgresConnection::~PostgresConnection() {
    if (conn_)
        PQfinish(conn_);
}

bool PostgresConnection::broken() const {
    return !conn_ || PQstatus(conn_) != CONNECTION_OK;
}

Error PostgresConnection::error_from(PGresult* result, std::string_view context) {
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    last_sqlstate_ = state ? state : "";
    std::string detail = "postgresql: ";
    auto message = trimmed(result ? PQresultErrorMessage(result) : nullptr);
    if (message.empty())
        message = trimmed(PQerrorMessage(conn_));
    detail += message.empty() ? "connection lost" : message;
    if (!context.empty())
        detail += " (in " + abbreviate(context) + ")";
    auto code = broken() ? ErrorCode::database_unavailable : code_for(last_sqlstate_);
    return make_error(code, std::move(detail));
}

void PostgresConnection::note_changes(PGresult* result) {
    const char* tuples = PQcmdTuples(result);
    changes_ = tuples && *tuples ? std::strtoll(tuples, nullptr, 10) : 0;
    last_sqlstate_.clear();
}

Result<void> PostgresConnection::exec(const char* sql) {
    PGresult* result = PQexec(conn_, sql);
    auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    Result<void> outcome;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        outcome = error_from(result, sql);
    else
        note_changes(result);
    PQclear(result);
    return outcome;
}

// ---- PostgresQuery ----

PostgresQuery::PostgresQuery(PostgresConnection* connection, std::string_view sql)
    : connection_(connection), sql_(numbered_parameters(sql)) {}

PostgresQuery::PostgresQuery(PostgresQuery&& other) noexcept
    : connection_(other.connection_), sql_(std::move(other.sql_)),
      values_(std::move(other.values_)), formats_(std::move(other.formats_)),
      result_(std::exchange(other.result_, nullptr)), row_(other.row_), rows_(other.rows_),
      error_(std::move(other.error_)) {}

PostgresQuery::~PostgresQuery() {
    if (result_)
        PQclear(result_);
}

PostgresQuery& PostgresQuery::bind(std::int64_t value) {
    values_.emplace_back(std::to_string(value));
    formats_.push_back(0);
    return *this;
}

PostgresQuery& PostgresQuery::bind(bool value) {
    // Accepted by boolean columns ('1'/'0') and integer ones alike.
    values_.emplace_back(value ? "1" : "0");
    formats_.push_back(0);
    return *this;
}

PostgresQuery& PostgresQuery::bind(std::string_view text) {
    values_.emplace_back(std::string(text));
    formats_.push_back(0);
    return *this;
}

PostgresQuery& PostgresQuery::bind(std::nullopt_t) {
    values_.emplace_back(std::nullopt);
    formats_.push_back(0);
    return *this;
}

PostgresQuery& PostgresQuery::bind(const std::optional<std::string>& text) {
    return text ? bind(std::string_view(*text)) : bind(std::nullopt);
}

PostgresQuery& PostgresQuery::bind_blob(ByteView bytes) {
    values_.emplace_back(hex_escape_bytea(bytes)); // bytea's text input form
    formats_.push_back(0);
    return *this;
}

Result<void> PostgresQuery::execute() {
    std::vector<const char*> values;
    std::vector<int> lengths;
    values.reserve(values_.size());
    for (const auto& value : values_) {
        values.push_back(value ? value->c_str() : nullptr);
        lengths.push_back(value ? static_cast<int>(value->size()) : 0);
    }
    result_ = PQexecParams(connection_->handle(), sql_.c_str(), static_cast<int>(values.size()),
                           nullptr, values.data(), lengths.data(), formats_.data(), 0);
    auto status = result_ ? PQresultStatus(result_) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        return connection_->error_from(result_, sql_);
    connection_->note_changes(result_);
    rows_ = PQntuples(result_);
    return {};
}

Result<bool> PostgresQuery::step() {
    if (error_)
        return *error_;
    if (!result_) {
        if (auto ok = execute(); !ok) {
            error_ = ok.error();
            return *error_;
        }
    }
    if (row_ + 1 >= rows_) {
        row_ = rows_;
        return false;
    }
    ++row_;
    return true;
}

Result<void> PostgresQuery::run() {
    auto ran = step();
    if (!ran)
        return ran.error();
    return {};
}

std::int64_t PostgresQuery::int64(int column) const {
    const char* value = PQgetvalue(result_, row_, column);
    if (PQftype(result_, column) == bool_oid)
        return value[0] == 't' ? 1 : 0;
    std::int64_t number = 0;
    std::from_chars(value, value + std::strlen(value), number);
    return number;
}

bool PostgresQuery::boolean(int column) const {
    const char* value = PQgetvalue(result_, row_, column);
    if (PQftype(result_, column) == bool_oid)
        return value[0] == 't';
    return int64(column) != 0;
}

std::string PostgresQuery::text(int column) const {
    if (PQgetisnull(result_, row_, column))
        return {};
    const char* value = PQgetvalue(result_, row_, column);
    auto size = static_cast<std::size_t>(PQgetlength(result_, row_, column));
    if (PQftype(result_, column) == bytea_oid && size >= 2 && value[0] == '\\' && value[1] == 'x') {
        std::string bytes;
        bytes.reserve((size - 2) / 2);
        for (std::size_t i = 2; i + 1 < size; i += 2)
            bytes += static_cast<char>(hex_value(value[i]) << 4 | hex_value(value[i + 1]));
        return bytes;
    }
    return std::string(value, size);
}

bool PostgresQuery::is_null(int column) const {
    return PQgetisnull(result_, row_, column) != 0;
}

} // namespace nixedge::lab
