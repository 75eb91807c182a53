// The one place that turns errors into HTTP answers. Every error body is
// Attic's (server/src/error.rs), so the `attic` CLI shows our messages:
//
//     {"code": <HTTP status>, "error": "<stable name>", "message": "<detail>"}
//
// `error` is nixedge::ErrorCode's name, or a Problem's for HTTP-level errors
// that have no core code (unauthorized, not_found, conflict, ...). Internal
// errors become a generic 500 whose detail goes to the log only (no paths,
// no SQL, no bucket keys leak to clients).
#pragma once

#include "http/message.hpp"
#include "nixedge/result.hpp"

#include <string>
#include <string_view>

namespace nixedge::lab::http {

// HTTP-level errors. Names are stable (clients and metrics see them).
enum class Problem {
    bad_request,
    unauthorized,
    forbidden,
    not_found,
    method_not_allowed,
    request_timeout,
    conflict,
    length_required,
    payload_too_large,
    uri_too_long,
    unsupported_media_type,
    range_not_satisfiable,
    header_too_large,
    too_many_requests,
    internal,
    not_implemented,
    service_unavailable,
    // Attic's CacheAlreadyExists, with Attic's status (400).
    cache_already_exists,
};

std::string_view problem_name(Problem problem);
Status problem_status(Problem problem);

// The status for a core error code. Adding an ErrorCode without mapping it here
// fails the build (the switch has no default), on purpose.
Status error_status(ErrorCode code);

// The JSON error body.
std::string error_body(std::string_view name, Status status, std::string_view message);

Response problem_response(Problem problem, std::string message);
// 500: the client gets a generic message; the detail is kept in log_detail.
Response error_response(const Error& error);

} // namespace nixedge::lab::http
