#include "nixedge/result.hpp"

namespace nixedge {

std::string_view error_code_name(ErrorCode code) {
    switch (code) {
    case ErrorCode::invalid_encoding:
        return "invalid_encoding";
    case ErrorCode::invalid_store_path:
        return "invalid_store_path";
    case ErrorCode::invalid_narinfo:
        return "invalid_narinfo";
    case ErrorCode::invalid_key:
        return "invalid_key";
    case ErrorCode::bad_signature:
        return "bad_signature";
    case ErrorCode::invalid_nar:
        return "invalid_nar";
    case ErrorCode::invalid_manifest:
        return "invalid_manifest";
    case ErrorCode::range_not_satisfiable:
        return "range_not_satisfiable";
    case ErrorCode::compression_failed:
        return "compression_failed";
    case ErrorCode::decompression_failed:
        return "decompression_failed";
    case ErrorCode::invalid_cache_name:
        return "invalid_cache_name";
    case ErrorCode::invalid_argument:
        return "invalid_argument";
    case ErrorCode::limit_exceeded:
        return "limit_exceeded";
    case ErrorCode::internal:
        return "internal";
    case ErrorCode::token_malformed:
        return "token_malformed";
    case ErrorCode::token_unsupported_algorithm:
        return "token_unsupported_algorithm";
    case ErrorCode::token_bad_signature:
        return "token_bad_signature";
    case ErrorCode::token_expired:
        return "token_expired";
    case ErrorCode::token_not_yet_valid:
        return "token_not_yet_valid";
    case ErrorCode::token_revoked:
        return "token_revoked";
    case ErrorCode::not_found:
        return "not_found";
    case ErrorCode::conflict:
        return "conflict";
    case ErrorCode::storage_unavailable:
        return "storage_unavailable";
    case ErrorCode::database_unavailable:
        return "database_unavailable";
    case ErrorCode::unauthorized:
        return "unauthorized";
    case ErrorCode::forbidden:
        return "forbidden";
    case ErrorCode::unreachable:
        return "unreachable";
    }
    return "unknown";
}

} // namespace nixedge
