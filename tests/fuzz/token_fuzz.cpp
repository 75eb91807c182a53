// The lab server's token path: Authorization header -> token -> HS256 JWT ->
// Attic claims -> permissions for a cache. The input is tried as a token, as
// an Authorization header value, and (re-signed with the fuzz secret, so the
// claims parser sees it) as a token's payload and as raw claims JSON. Errors
// are fine; crashes are not, and neither is any of:
//   - a failure that is not a token error (the HTTP layer answers 401 only for those);
//   - a token that verifies with one secret and also with another (or with none);
//   - verified claims that differ from parse_claims of the payload, or that
//     do not survive serialize_claims -> parse_claims and make_token -> verify;
//   - a verified token not refused once its id or subject is denied, or once it expired;
//   - permissions_for disagreeing with the rule (exact pattern first, else the
//     first wildcard match in the token's order) under a reference matcher;
//   - a token taken from a header that is empty, or that does not come back
//     from "Bearer <t>" and "Basic base64(user:<t>)".
#include "auth/authorization.hpp"
#include "auth/jwt.hpp"
#include "auth/token.hpp"

#include "nixedge/encoding.hpp"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace nixedge;
using namespace nixedge::lab;

namespace {

// 1800000000 = 2027-01-15: after the seeds' nbf/iat, before their exp (but one).
constexpr std::int64_t fuzz_now = 1'800'000'000;

void require(bool condition) {
    if (!condition)
        std::abort();
}

// The key `nixedge-server make-token` made the seeds with
// (NIXEDGE_TOKEN_HS256_SECRET=000102...1f) and tests/lab/auth_test.cpp's test_secret().
const Bytes& fuzz_secret() {
    static const Bytes secret = [] {
        Bytes s(32);
        for (std::size_t i = 0; i < s.size(); ++i)
            s[i] = static_cast<std::uint8_t>(i);
        return s;
    }();
    return secret;
}

// Attic's test secret: the golden tokens of its test suite verify with it.
const Bytes& attic_secret() {
    static const Bytes secret = to_bytes("very secure secret");
    return secret;
}

const Bytes& wrong_secret() {
    static const Bytes secret = [] {
        Bytes s = fuzz_secret();
        s.back() ^= 1;
        return s;
    }();
    return secret;
}

// The plain definition of Attic's wildcard match ('*' = any run, the empty
// one included), to check the greedy one against.
bool reference_match(std::string_view pattern, std::string_view name) {
    // matches[j]: pattern[0..i) matches name[0..j)
    std::vector<char> matches(name.size() + 1, 0), next(name.size() + 1, 0);
    matches[0] = 1;
    for (char p : pattern) {
        next.assign(name.size() + 1, 0);
        if (p == '*') {
            char any = 0;
            for (std::size_t j = 0; j <= name.size(); ++j) {
                any = any || matches[j];
                next[j] = any;
            }
        } else {
            for (std::size_t j = 1; j <= name.size(); ++j)
                next[j] = matches[j - 1] && name[j - 1] == p;
        }
        matches.swap(next);
    }
    return matches[name.size()] != 0;
}

void check_permissions(const TokenClaims& claims) {
    std::vector<std::string> names = {"main", "team-xyz", "all-ci-abc", "a", "-", ""};
    for (const auto& grant : claims.grants) {
        // Patterns in a claim are distinct (JSON object keys), so each one's own entry wins.
        require(claims.permissions_for(grant.pattern) == grant.permissions);
        std::string empty_stars, filled_stars;
        for (char c : grant.pattern) {
            if (c != '*')
                empty_stars += c, filled_stars += c;
            else
                filled_stars += "x-*y";
        }
        names.push_back(std::move(empty_stars));
        names.push_back(std::move(filled_stars));
    }
    for (const auto& name : names) {
        Permissions expected;
        bool exact = false;
        for (const auto& grant : claims.grants)
            if (grant.pattern == name) {
                expected = grant.permissions;
                exact = true;
                break;
            }
        if (!exact)
            for (const auto& grant : claims.grants) {
                bool matched = pattern_matches(grant.pattern, name);
                require(matched == reference_match(grant.pattern, name));
                if (matched) {
                    expected = grant.permissions;
                    break;
                }
            }
        require(claims.permissions_for(name) == expected);
    }
}

// Everything that must hold of a token that verified with `secret` at fuzz_now.
void check_verified(const Bytes& secret, std::string_view token, const VerifiedToken& verified) {
    const auto& claims = verified.claims;
    require(verified.id == token_id(token) && verified.id.size() == 64);

    // Another secret, or none, never accepts it; the header was fine, so it is the signature.
    for (const Bytes* other : {&wrong_secret(), &attic_secret(), &fuzz_secret()}) {
        if (*other == secret)
            continue;
        auto again = verify_token(*other, token, {fuzz_now, {}, nullptr});
        require(!again && again.error().code == ErrorCode::token_bad_signature);
    }
    auto no_secret = verify_token({}, token, {fuzz_now, {}, nullptr});
    require(!no_secret && no_secret.error().code == ErrorCode::token_bad_signature);

    // The claims are exactly what the payload says, and survive a round trip.
    auto payload = jwt::verify_hs256(secret, token);
    require(payload.ok());
    auto parsed = parse_claims(*payload);
    require(parsed.ok() && *parsed == claims);
    auto serialized = serialize_claims(claims);
    auto reparsed = parse_claims(serialized);
    require(reparsed.ok() && *reparsed == claims && serialize_claims(*reparsed) == serialized);
    auto resigned = jwt::sign_hs256(secret, serialized);
    require(resigned.ok());
    auto reverified = verify_token(secret, *resigned, {fuzz_now, {}, nullptr});
    require(reverified.ok() && reverified->claims == claims);

    // Revocation by id and by subject.
    DenyList by_id;
    by_id.deny_token_id(verified.id);
    auto revoked = verify_token(secret, token, {fuzz_now, {}, &by_id});
    require(!revoked && revoked.error().code == ErrorCode::token_revoked);
    if (claims.subject) {
        DenyList by_subject;
        by_subject.deny_subject(*claims.subject);
        auto denied = verify_token(secret, token, {fuzz_now, {}, &by_subject});
        require(!denied && denied.error().code == ErrorCode::token_revoked);
    }

    // Past its exp it is expired (it verified at fuzz_now, so iat and nbf are not ahead).
    if (claims.expires_at && *claims.expires_at < std::numeric_limits<std::int64_t>::max()) {
        auto late = verify_token(secret, token, {*claims.expires_at + 1, {}, nullptr});
        require(!late && late.error().code == ErrorCode::token_expired);
    }

    check_permissions(claims);

    // What make_token makes of these grants verifies to the same grants and subject.
    if (claims.subject && !claims.subject->empty()) {
        auto made =
            make_token(secret, *claims.subject, std::chrono::hours(1), claims.grants, fuzz_now);
        if (made) {
            auto back = verify_token(secret, *made, {fuzz_now, {}, nullptr});
            require(back.ok() && back->claims.grants == claims.grants &&
                    back->claims.subject == claims.subject &&
                    back->claims.expires_at == fuzz_now + 3600);
        } else {
            // Only a subject that is not UTF-8 is refused; parsed JSON strings always are.
            require(false);
        }
    }
}

void verify_with(const Bytes& secret, std::string_view token) {
    auto verified = verify_token(secret, token, {fuzz_now, {}, nullptr});
    if (!verified) {
        require(is_token_error(verified.error().code));
        return;
    }
    check_verified(secret, token, *verified);
}

void try_token(std::string_view token) {
    verify_with(fuzz_secret(), token);
    verify_with(attic_secret(), token);
}

// The payload of a token (or the text itself) as claims: signed with the fuzz
// secret so that mutations of a seed's payload reach parse_claims.
void try_payload(std::string_view claims_json) {
    auto token = jwt::sign_hs256(fuzz_secret(), claims_json);
    require(token.ok());
    verify_with(fuzz_secret(), *token);
}

void try_authorization(std::string_view header_value) {
    auto token = token_from_authorization(header_value);
    if (!token)
        return;
    require(!token->empty());
    try_token(*token);
}

// A token given either way comes back whole.
void check_header_round_trip(std::string_view token) {
    if (token.empty() || token.find_first_not_of(" \t") == std::string_view::npos)
        return;
    auto first = token.front(), last = token.back();
    if (first != ' ' && first != '\t' && last != ' ' && last != '\t') {
        require(token_from_authorization("Bearer " + std::string(token)) == token);
        require(token_from_authorization(" bEaReR\t\t" + std::string(token) + " ") == token);
    }
    auto basic = "Basic " + encoding::to_base64(as_bytes("nix:" + std::string(token)));
    require(token_from_authorization(basic) == token);
    auto no_user = "basic " + encoding::to_base64(as_bytes(":" + std::string(token)));
    require(token_from_authorization(no_user) == token);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    try_token(text);
    try_authorization(text);
    check_header_round_trip(text);

    // base64url is strict and canonical: what decodes encodes back to itself.
    if (auto decoded = jwt::base64url_decode(text)) {
        require(jwt::base64url_encode(*decoded) == text);
        auto round = jwt::base64url_decode(jwt::base64url_encode(as_bytes(text)));
        require(round.ok() && as_chars(*round) == text);
    }

    auto first_dot = text.find('.');
    auto second_dot =
        first_dot == std::string_view::npos ? first_dot : text.find('.', first_dot + 1);
    if (second_dot != std::string_view::npos) {
        if (auto payload =
                jwt::base64url_decode(text.substr(first_dot + 1, second_dot - first_dot - 1)))
            try_payload(as_chars(*payload));
    } else if (!text.empty() && text.front() == '{') {
        try_payload(text);
    }
    return 0;
}
