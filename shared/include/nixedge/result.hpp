// Errors as values: every fallible call in the core returns Result<T>.
// Nothing in shared/ throws, so the same code runs in wasm built without
// exception support.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace nixedge {

// Stable codes: the numbers are part of the wasm ABI and of log/metric labels.
// Append only; never renumber.
enum class ErrorCode : std::uint16_t {
    invalid_encoding = 1,
    invalid_store_path = 2,
    invalid_narinfo = 3,
    invalid_key = 4,
    bad_signature = 5,
    invalid_nar = 6,
    invalid_manifest = 7,
    range_not_satisfiable = 8,
    compression_failed = 9,
    decompression_failed = 10,
    invalid_cache_name = 11,
    invalid_argument = 12,
    limit_exceeded = 13,
    internal = 14,
    // Bearer tokens (the lab's auth): each reason a token is refused, so the
    // HTTP layer can answer 401 and log why.
    token_malformed = 15,
    token_unsupported_algorithm = 16,
    token_bad_signature = 17,
    token_expired = 18,
    token_not_yet_valid = 19,
    token_revoked = 20,
    // The lab server's own failures (never produced by the core itself).
    not_found = 21,            // no such object, cache, path or row
    conflict = 22,             // the request contradicts what is already recorded
    storage_unavailable = 23,  // the object store failed (disk full, permission, network)
    database_unavailable = 24, // the metadata database failed or stayed busy
    unauthorized = 25,         // no valid token, and the resource is not public
    forbidden = 26,            // a valid token without the permission needed
    // The `nixedge` client's: the server did not answer at all (refused,
    // unresolvable, timed out), as opposed to answering with an error.
    unreachable = 27,
};

std::string_view error_code_name(ErrorCode code);

struct Error {
    ErrorCode code;
    std::string detail;
};

// Builds an Error; detail is for operators and tests, the code is for programs.
inline Error make_error(ErrorCode code, std::string detail) {
    return Error{code, std::move(detail)};
}

template <class T> class [[nodiscard]] Result {
  public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { return std::get<1>(state_); }

  private:
    std::variant<T, Error> state_;
};

template <> class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return error_; }

  private:
    Error error_{ErrorCode::internal, {}};
    bool failed_ = false;
};

} // namespace nixedge
