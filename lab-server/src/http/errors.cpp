#include "http/errors.hpp"

#include <nlohmann/json.hpp>

namespace nixedge::lab::http {

namespace {
constexpr std::string_view generic_internal_message = "internal error; see the server log";
}

std::string_view problem_name(Problem problem) {
    switch (problem) {
    case Problem::bad_request:
        return "bad_request";
    case Problem::unauthorized:
        return "unauthorized";
    case Problem::forbidden:
        return "forbidden";
    case Problem::not_found:
        return "not_found";
    case Problem::method_not_allowed:
        return "method_not_allowed";
    case Problem::request_timeout:
        return "request_timeout";
    case Problem::conflict:
        return "conflict";
    case Problem::length_required:
        return "length_required";
    case Problem::payload_too_large:
        return "payload_too_large";
    case Problem::uri_too_long:
        return "uri_too_long";
    case Problem::unsupported_media_type:
        return "unsupported_media_type";
    case Problem::range_not_satisfiable:
        return "range_not_satisfiable";
    case Problem::header_too_large:
        return "header_too_large";
    case Problem::too_many_requests:
        return "too_many_requests";
    case Problem::internal:
        return "internal";
    case Problem::not_implemented:
        return "not_implemented";
    case Problem::service_unavailable:
        return "service_unavailable";
    case Problem::cache_already_exists:
        return "cache_already_exists";
    }
    return "internal";
}

Status problem_status(Problem problem) {
    switch (problem) {
    case Problem::bad_request:
        return Status::bad_request;
    case Problem::unauthorized:
        return Status::unauthorized;
    case Problem::forbidden:
        return Status::forbidden;
    case Problem::not_found:
        return Status::not_found;
    case Problem::method_not_allowed:
        return Status::method_not_allowed;
    case Problem::request_timeout:
        return Status::request_timeout;
    case Problem::conflict:
        return Status::conflict;
    case Problem::length_required:
        return Status::length_required;
    case Problem::payload_too_large:
        return Status::payload_too_large;
    case Problem::uri_too_long:
        return Status::uri_too_long;
    case Problem::unsupported_media_type:
        return Status::unsupported_media_type;
    case Problem::range_not_satisfiable:
        return Status::range_not_satisfiable;
    case Problem::header_too_large:
        return Status::request_header_fields_too_large;
    case Problem::too_many_requests:
        return Status::too_many_requests;
    case Problem::internal:
        return Status::internal_server_error;
    case Problem::not_implemented:
        return Status::not_implemented;
    case Problem::service_unavailable:
        return Status::service_unavailable;
    case Problem::cache_already_exists:
        return Status::bad_request;
    }
    return Status::internal_server_error;
}

Status error_status(ErrorCode code) {
    switch (code) {
    // What a client sent is wrong.
    case ErrorCode::invalid_encoding:
    case ErrorCode::invalid_store_path:
    case ErrorCode::invalid_narinfo:
    case ErrorCode::invalid_key:
    case ErrorCode::bad_signature:
    case ErrorCode::invalid_nar:
    case ErrorCode::decompression_failed:
    case ErrorCode::invalid_cache_name:
    case ErrorCode::invalid_argument:
        return Status::bad_request;
    case ErrorCode::range_not_satisfiable:
        return Status::range_not_satisfiable;
    case ErrorCode::limit_exceeded:
        return Status::payload_too_large;
    // Every reason a token is refused is "unauthorized" to the client; the
    // reason itself goes to the log.
    case ErrorCode::token_malformed:
    case ErrorCode::token_unsupported_algorithm:
    case ErrorCode::token_bad_signature:
    case ErrorCode::token_expired:
    case ErrorCode::token_not_yet_valid:
    case ErrorCode::token_revoked:
    case ErrorCode::unauthorized:
        return Status::unauthorized;
    case ErrorCode::forbidden:
        return Status::forbidden;
    case ErrorCode::not_found:
        return Status::not_found;
    case ErrorCode::conflict:
        return Status::conflict;
    // Worth a retry: the backends may come back.
    case ErrorCode::storage_unavailable:
    case ErrorCode::database_unavailable:
        return Status::service_unavailable;
    // Only the client makes it (a server it could not reach).
    case ErrorCode::unreachable:
        return Status::bad_gateway;
    // Manifests are written by the server, never sent by clients: one that
    // does not parse is stored data gone bad.
    case ErrorCode::invalid_manifest:
    case ErrorCode::compression_failed:
    case ErrorCode::internal:
        return Status::internal_server_error;
    }
    return Status::internal_server_error;
}

std::string error_body(std::string_view name, Status status, std::string_view message) {
    nlohmann::json body = {
        {"code", static_cast<unsigned>(status)},
        {"error", name},
        {"message", message},
    };
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response problem_response(Problem problem, std::string message) {
    Status status = problem_status(problem);
    Response res;
    if (problem == Problem::internal) {
        res = Response::json(status,
                             error_body(problem_name(problem), status, generic_internal_message));
        res.log_detail = std::move(message);
    } else {
        res = Response::json(status, error_body(problem_name(problem), status, message));
    }
    return res;
}

Response error_response(const Error& error) {
    Status status = error_status(error.code);
    // Server-side failures: the client gets a generic message (details carry
    // paths and backend errors), the log gets everything.
    if (status == Status::internal_server_error || status == Status::service_unavailable) {
        auto message = status == Status::service_unavailable
                           ? std::string_view("a storage backend is unavailable; retry later")
                           : generic_internal_message;
        Response res =
            Response::json(status, error_body(error_code_name(error.code), status, message));
        res.log_detail = std::string(error_code_name(error.code)) + ": " + error.detail;
        return res;
    }
    return Response::json(status, error_body(error_code_name(error.code), status, error.detail));
}

} // namespace nixedge::lab::http
