// Secrets come from the environment only, never from server.toml (which
// lives in a ConfigMap and in git).
#pragma once

#include "config/environment.hpp"
#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace nixedge::lab {

// The HS256 key for bearer tokens, in either of two spellings:
//   NIXEDGE_TOKEN_HS256_SECRET         hex, as `openssl rand -hex 32` prints it
//   NIXEDGE_TOKEN_HS256_SECRET_BASE64  standard padded base64 of the key bytes, the
//                                      way ATTIC_SERVER_TOKEN_HS256_SECRET_BASE64
//                                      gives it (so an Attic secret carries over)
// Both may be set only if they decode to the same key.
inline constexpr std::string_view token_secret_hex_variable = "NIXEDGE_TOKEN_HS256_SECRET";
inline constexpr std::string_view token_secret_base64_variable =
    "NIXEDGE_TOKEN_HS256_SECRET_BASE64";
// Replaces [database] url; the place for a URL that carries a password.
inline constexpr std::string_view database_url_variable = "NIXEDGE_DATABASE_URL";

// The S3 credentials when storage.type is "s3" (both required then).
inline constexpr std::string_view s3_access_key_id_variable = "NIXEDGE_S3_ACCESS_KEY_ID";
inline constexpr std::string_view s3_secret_access_key_variable = "NIXEDGE_S3_SECRET_ACCESS_KEY";

// HS256 keys shorter than the hash output are guessable in principle (RFC 7518
// section 3.2 requires at least 256 bits).
inline constexpr std::size_t min_token_secret_bytes = 32;

// nullopt when neither variable is set. Surrounding whitespace is ignored (a
// secret file mounted into the environment often ends with a newline); a
// variable that is set but empty is an error. Messages never contain the secret.
Result<std::optional<Bytes>> read_token_secret(const Environment& env);

struct S3Credentials {
    std::string access_key_id;
    std::string secret_access_key;
};
// Both variables, whitespace trimmed; an error names the variable that is
// unset or empty, never a value.
Result<S3Credentials> read_s3_credentials(const Environment& env);

} // namespace nixedge::lab
