// Attic's tokens: HS256 JWTs whose claims say, per cache name pattern, what
// the bearer may do. A token made by `atticadm make-token` with the same
// secret works here, and make_token produces what atticadm produces.
//
// The claims, as Attic's serializer lays them out (jwt-simple's JWTClaims,
// absent fields left out, then Attic's namespace):
//   {"exp":1731557600,"nbf":1700000000,"sub":"ci",
//    "https://jwt.attic.rs/v1":{"caches":{"main":{"r":1,"w":1},"team-*":{"r":1}}}}
// A pattern's permission letters come in the order r w d cc cr cq cd, only
// those granted, each as the integer 1.
//
// Verification follows Attic (jwt-simple 0.11 with Attic's options): `sub`
// and `exp` are optional; `exp`, `nbf` and `iat` are checked when present,
// with no clock leeway unless one is configured; unknown claims are ignored;
// a claim of the wrong type, an invalid pattern or a permission other than 0
// or 1 makes the whole token malformed, as does a missing Attic namespace.
#pragma once

#include "auth/deny_list.hpp"
#include "auth/permissions.hpp"
#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab {

inline constexpr std::string_view attic_claims_namespace = "https://jwt.attic.rs/v1";

struct CacheGrant {
    std::string pattern;
    Permissions permissions;
    bool operator==(const CacheGrant&) const = default;
};

// Grants `permission` on `pattern`: added to the pattern's entry if there is
// one, else as a new entry at the end, which is how atticadm builds its claim
// from --pull, --push, ... (in that order of flags).
Result<void> add_grant(std::vector<CacheGrant>& grants, std::string_view pattern,
                       Permission permission);

struct TokenClaims {
    std::optional<std::string> subject;     // sub
    std::optional<std::int64_t> expires_at; // exp, Unix seconds
    std::optional<std::int64_t> not_before; // nbf
    std::optional<std::int64_t> issued_at;  // iat
    std::vector<CacheGrant> grants;         // in the token's order, which matters:

    // A pattern equal to the cache name wins; otherwise the first pattern in
    // the token's order whose wildcards match (Attic keeps the claim in an
    // IndexMap, so "first" is the order of the JSON text, since Attic PR #135).
    // No match: no permissions.
    Permissions permissions_for(std::string_view cache_name) const;

    bool operator==(const TokenClaims&) const = default;
};

Result<TokenClaims> parse_claims(std::string_view json);
std::string serialize_claims(const TokenClaims& claims);

std::int64_t unix_now();

// The token atticadm would make: sub, exp = now + validity, nbf = now, and
// the grants in their order. Patterns must be valid and distinct (use
// add_grant), the subject non-empty UTF-8, the validity positive.
Result<std::string> make_token(ByteView secret, std::string_view subject,
                               std::chrono::seconds validity, const std::vector<CacheGrant>& grants,
                               std::int64_t now = unix_now());

struct VerifiedToken {
    TokenClaims claims;
    std::string id; // token_id(token), for logs and the deny-list
};

struct VerifyOptions {
    std::int64_t now = unix_now();
    std::chrono::seconds clock_skew{0};
    const DenyList* deny_list = nullptr;
};

// Fails with token_malformed, token_unsupported_algorithm, token_bad_signature,
// token_expired, token_not_yet_valid (nbf ahead, or iat in the future) or
// token_revoked.
Result<VerifiedToken> verify_token(ByteView secret, std::string_view token,
                                   const VerifyOptions& options = {});

// What the HTTP layer keeps: the secret, the leeway and the deny-list.
class TokenVerifier {
  public:
    TokenVerifier(Bytes secret, std::chrono::seconds clock_skew, DenyList deny_list)
        : secret_(std::move(secret)), clock_skew_(clock_skew), deny_list_(std::move(deny_list)) {}

    Result<VerifiedToken> verify(std::string_view token, std::int64_t now = unix_now()) const {
        return verify_token(secret_, token, {now, clock_skew_, &deny_list_});
    }

  private:
    Bytes secret_;
    std::chrono::seconds clock_skew_;
    DenyList deny_list_;
};

// True for the codes verify_token fails with: the HTTP layer answers 401.
bool is_token_error(ErrorCode code);

} // namespace nixedge::lab
