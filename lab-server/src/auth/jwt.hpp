// JSON Web Tokens signed with HS256 (RFC 7519, RFC 7515 compact form), only
// as far as Attic's tokens need: the claims are someone else's business
// (auth/token.hpp). Errors carry the token_* codes of nixedge::ErrorCode.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace nixedge::lab::jwt {

// The header jwt-simple (Attic's JWT library) writes for an HS256 key without a key id.
inline constexpr std::string_view hs256_header = R"({"alg":"HS256","typ":"JWT"})";

// Longer tokens are refused unread; the HTTP header limit is far below this anyway.
inline constexpr std::size_t max_token_length = 64 * 1024;
// The header is parsed before the signature is checked, so it is kept small
// (jwt-simple's limit).
inline constexpr std::size_t max_header_length = 8192;

// base64url without padding (RFC 7515 section 2). Decoding is strict: no
// padding, no other alphabet, no stray bits in the last character.
std::string base64url_encode(ByteView data);
Result<Bytes> base64url_decode(std::string_view text);

Result<Sha256Digest> hmac_sha256(ByteView key, ByteView message);

// "<header>.<payload>.<signature>" with hs256_header. Fails only on an empty key.
Result<std::string> sign_hs256(ByteView secret, std::string_view payload_json);

// Checks the form, the header (alg must be HS256: "none" and every other
// algorithm are refused; typ, if present, must be JWT) and the signature, in
// constant time, before anything else of the token is read. Returns the
// payload's JSON text, not yet parsed. With an empty secret every token has a
// bad signature.
Result<std::string> verify_hs256(ByteView secret, std::string_view token);

} // namespace nixedge::lab::jwt
