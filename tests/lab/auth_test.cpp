#include "auth/authorization.hpp"
#include "auth/deny_list.hpp"
#include "auth/jwt.hpp"
#include "auth/permissions.hpp"
#include "auth/token.hpp"
#include "config/duration.hpp"

#include "nixedge/encoding.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace nixedge;
using namespace nixedge::lab;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t now = 1'700'000'000; // 2023-11-14

Bytes test_secret() {
    Bytes secret(32);
    for (std::size_t i = 0; i < secret.size(); ++i)
        secret[i] = static_cast<std::uint8_t>(i);
    return secret;
}

// Attic's own test secret ("very secure secret"), for the tokens from its test suite.
Bytes attic_test_secret() {
    return to_bytes("very secure secret");
}

std::vector<CacheGrant> grants_of(std::initializer_list<std::pair<const char*, Permission>> list) {
    std::vector<CacheGrant> grants;
    for (auto [pattern, permission] : list)
        REQUIRE(add_grant(grants, pattern, permission));
    return grants;
}

// A token signed with test_secret() whose claims are exactly `claims_json`.
std::string signed_claims(std::string_view claims_json) {
    return jwt::sign_hs256(test_secret(), claims_json).value();
}

// A token with a hand-made header, signed with test_secret().
std::string with_header(std::string_view header_json, std::string_view claims_json) {
    auto input = jwt::base64url_encode(as_bytes(header_json)) + "." +
                 jwt::base64url_encode(as_bytes(claims_json));
    auto mac = jwt::hmac_sha256(test_secret(), as_bytes(input)).value();
    return input + "." + jwt::base64url_encode(mac);
}

ErrorCode refusal(std::string_view token, VerifyOptions options = {now, 0s, nullptr}) {
    auto verified = verify_token(test_secret(), token, options);
    INFO(token);
    REQUIRE_FALSE(verified);
    INFO(verified.error().detail);
    CHECK(is_token_error(verified.error().code));
    return verified.error().code;
}

const std::string minimal_claims = R"({"https://jwt.attic.rs/v1":{"caches":{}}})";

} // namespace

// ---- base64url and HMAC -------------------------------------------------------

TEST_CASE("base64url: RFC 4648 vectors, URL alphabet, no padding", "[auth]") {
    const std::vector<std::pair<std::string, std::string>> vectors{
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        CHECK(jwt::base64url_encode(as_bytes(plain)) == encoded);
        CHECK(jwt::base64url_decode(encoded).value() == to_bytes(plain));
    }
    Bytes url_bytes{0xfb, 0xff, 0xbf};
    CHECK(jwt::base64url_encode(url_bytes) == "-_-_");
    CHECK(jwt::base64url_decode("-_-_").value() == url_bytes);
}

TEST_CASE("base64url: decoding is strict", "[auth]") {
    for (std::string_view bad : {"Zg==", "Zm9v+", "Zm9v/", "Z", "Zh", "Zm9", "Zm 9v", "Zm9v\n"}) {
        INFO(bad);
        CHECK_FALSE(jwt::base64url_decode(bad));
    }
}

TEST_CASE("base64url: round trip at every length up to 64", "[auth]") {
    Bytes data;
    for (int length = 0; length <= 64; ++length) {
        CHECK(jwt::base64url_decode(jwt::base64url_encode(data)).value() == data);
        data.push_back(static_cast<std::uint8_t>(length * 37 + 11));
    }
}

TEST_CASE("HMAC-SHA256: RFC 4231 test case 2", "[auth]") {
    auto mac = jwt::hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"));
    CHECK(encoding::to_hex(mac.value()) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK_FALSE(jwt::hmac_sha256({}, as_bytes("x")));
}

// ---- Attic's token format ---------------------------------------------------------

TEST_CASE("make_token: byte for byte what atticadm make-token signs", "[auth]") {
    // atticadm make-token --sub ci --validity 1y --pull main --pull 'team-*' --push main
    // at 1700000000 with this secret. atticadm adds --pull patterns first, then --push,
    // merging into an existing entry (IndexMap::entry), so "main" keeps its first place.
    auto grants = grants_of(
        {{"main", Permission::pull}, {"team-*", Permission::pull}, {"main", Permission::push}});
    auto validity = parse_duration("1y").value();
    auto token = make_token(test_secret(), "ci", validity, grants, now);
    REQUIRE(token);

    // jwt-simple's JWTClaims fields in declaration order (iat and the other unset
    // ones skipped), then Attic's flattened namespace; letters in r w d cc cr cq cd order.
    // exp = now + 365.25 days (humantime's year).
    const std::string expected_claims =
        R"({"exp":1731557600,"nbf":1700000000,"sub":"ci",)"
        R"("https://jwt.attic.rs/v1":{"caches":{"main":{"r":1,"w":1},"team-*":{"r":1}}}})";
    TokenClaims claims;
    claims.subject = "ci";
    claims.expires_at = now + validity.count();
    claims.not_before = now;
    claims.grants = grants;
    CHECK(serialize_claims(claims) == expected_claims);

    // Computed independently (Python hmac over the header and claims above).
    CHECK(*token ==
          "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
          "eyJleHAiOjE3MzE1NTc2MDAsIm5iZiI6MTcwMDAwMDAwMCwic3ViIjoiY2kiLCJodHRwczovL2p3dC5hdHRpYy5y"
          "cy92MSI6eyJjYWNoZXMiOnsibWFpbiI6eyJyIjoxLCJ3IjoxfSwidGVhbS0qIjp7InIiOjF9fX19."
          "9_EG3n43a7HnqBrxJUKbfc8bYKheHhyN38VOLYCueig");
    CHECK(token_id(*token) == "1efbc6c26ca41c24e9fe0ca88811d48ed6c078b49ade26e1203c78b50c65f707");
}

TEST_CASE("make_token: every permission letter, in Attic's order", "[auth]") {
    std::vector<CacheGrant> grants;
    for (auto permission : all_permissions)
        REQUIRE(add_grant(grants, "admin-*", permission));
    auto token = make_token(test_secret(), "root", 1h, grants, now);
    auto verified = verify_token(test_secret(), token.value(), {now, 0s, nullptr});
    REQUIRE(verified);
    CHECK(verified->claims.grants == grants);
    auto payload = jwt::verify_hs256(test_secret(), *token).value();
    CHECK_THAT(payload,
               Catch::Contains(R"("admin-*":{"r":1,"w":1,"d":1,"cc":1,"cr":1,"cq":1,"cd":1})"));
}

TEST_CASE("verify: a token from Attic's test suite (jwt-cli, iat, typ first)", "[auth]") {
    // attic token/src/tests.rs: secret "very secure secret"; patterns in this order:
    // all-*, all-ci-*, cache-ro, cache-rw, team-*.
    const std::string token =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDIzMjQ5ODYsImh0dHBzOi8vand0LmF0dGljLnJz"
        "L3YxIjp7ImNhY2hlcyI6eyJhbGwtKiI6eyJyIjoxfSwiYWxsLWNpLSoiOnsidyI6MX0sImNhY2hlLXJvIjp7InIi"
        "OjF9LCJjYWNoZS1ydyI6eyJyIjoxLCJ3IjoxfSwidGVhbS0qIjp7ImNjIjoxLCJyIjoxLCJ3IjoxfX19LCJpYXQi"
        "OjE3MTY2NjA1ODksInN1YiI6Im1lb3cifQ.8vtxp_1OEYdcnkGPM4c9ORXooJZV7DOTS4NRkMKN8mw";
    auto verified = verify_token(attic_test_secret(), token, {1'800'000'000, 0s, nullptr});
    REQUIRE(verified);
    const auto& claims = verified->claims;
    CHECK(claims.subject == "meow");
    CHECK(claims.expires_at == 4102324986);
    CHECK(claims.issued_at == 1716660589);

    // all-* comes first, so it wins over all-ci-* (the ordering Attic's test pins down).
    auto all_ci = claims.permissions_for("all-ci-abc");
    CHECK(all_ci.pull);
    CHECK_FALSE(all_ci.push);

    CHECK(claims.permissions_for("cache-rw") == Permissions{.pull = true, .push = true});
    CHECK(claims.permissions_for("cache-ro") == Permissions{.pull = true});
    CHECK(claims.permissions_for("team-xyz") ==
          Permissions{.pull = true, .push = true, .create_cache = true});
    CHECK_FALSE(claims.permissions_for("forbidden-cache").can_discover());

    // Its iat lies after 1700000000: a token issued in the future is refused.
    auto early = verify_token(attic_test_secret(), token, {now, 0s, nullptr});
    REQUIRE_FALSE(early);
    CHECK(early.error().code == ErrorCode::token_not_yet_valid);
}

TEST_CASE("verify: a token from Attic's older server tests (alg first, sub first)", "[auth]") {
    const std::string token =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtZW93IiwiZXhwIjo0MTAyMzI0OTg2LCJodHRwczov"
        "L2p3dC5hdHRpYy5ycy92MSI6eyJjYWNoZXMiOnsiY2FjaGUtcnciOnsiciI6MSwidyI6MX0sImNhY2hlLXJvIjp7"
        "InIiOjF9LCJ0ZWFtLSoiOnsiciI6MSwidyI6MSwiY2MiOjF9fX19.UlsIM9bQHr9SXGAcSQcoVPo9No8Zhh6Y5xfX"
        "8vCmKmA";
    auto verified = verify_token(attic_test_secret(), token, {now, 0s, nullptr});
    REQUIRE(verified);
    CHECK(verified->claims.permissions_for("cache-rw") == Permissions{.pull = true, .push = true});
    CHECK(verified->claims.permissions_for("team-xyz").create_cache);
    CHECK_FALSE(verified->claims.permissions_for("team-xyz").delete_paths);
}

TEST_CASE("verify: round trip of make_token", "[auth]") {
    auto grants = grants_of({{"main", Permission::pull}, {"main", Permission::push}});
    auto token = make_token(test_secret(), "ci", 1h, grants, now).value();
    auto verified = verify_token(test_secret(), token, {now + 10, 0s, nullptr});
    REQUIRE(verified);
    CHECK(verified->claims.subject == "ci");
    CHECK(verified->claims.expires_at == now + 3600);
    CHECK(verified->claims.not_before == now);
    CHECK_FALSE(verified->claims.issued_at);
    CHECK(verified->claims.grants == grants);
    CHECK(verified->id == token_id(token));
    CHECK(verified->claims.permissions_for("main") == Permissions{.pull = true, .push = true});
    CHECK(verified->claims.permissions_for("other") == Permissions{});
    CHECK(parse_claims(serialize_claims(verified->claims)).value() == verified->claims);
}

TEST_CASE("verify: tokens without sub or exp are valid, as in Attic", "[auth]") {
    auto verified = verify_token(test_secret(), signed_claims(minimal_claims), {now, 0s, nullptr});
    REQUIRE(verified);
    CHECK_FALSE(verified->claims.subject);
    CHECK_FALSE(verified->claims.expires_at);
    CHECK(verified->claims.grants.empty());
    // Unknown claims and unknown permission letters are ignored.
    auto extra = verify_token(
        test_secret(),
        signed_claims(
            R"({"iss":"x","aud":["a","b"],"custom":[1],"https://jwt.attic.rs/v1":{"caches":{"a":{"r":1,"zz":5}},"more":1}})"),
        {now, 0s, nullptr});
    REQUIRE(extra);
    CHECK(extra->claims.permissions_for("a") == Permissions{.pull = true});
}

// ---- refusals -------------------------------------------------------------------

TEST_CASE("verify: malformed tokens", "[auth]") {
    auto good = make_token(test_secret(), "ci", 1h, {}, now).value();
    auto header = good.substr(0, good.find('.'));
    for (const std::string& bad : {std::string(""), std::string("abc"), std::string("a.b"),
                                   good + ".x", std::string("!!!.e30.x"), header + ".e30.%%%",
                                   jwt::base64url_encode(as_bytes("not json")) + ".e30.AAAA",
                                   jwt::base64url_encode(as_bytes("[1]")) + ".e30.AAAA",
                                   std::string(jwt::max_token_length + 1, 'a')}) {
        INFO(bad.substr(0, 80));
        CHECK(refusal(bad) == ErrorCode::token_malformed);
    }
}

TEST_CASE("verify: malformed claims behind a good signature", "[auth]") {
    for (std::string_view claims :
         {R"(not json)", R"([1,2])", R"({})", R"({"https://jwt.attic.rs/v1":{}})",
          R"({"https://jwt.attic.rs/v1":{"caches":[]}})",
          R"({"https://jwt.attic.rs/v1":{"caches":{"bad pattern":{"r":1}}}})",
          R"({"https://jwt.attic.rs/v1":{"caches":{"-lead":{"r":1}}}})",
          R"({"https://jwt.attic.rs/v1":{"caches":{"a":{"r":2}}}})",
          R"({"https://jwt.attic.rs/v1":{"caches":{"a":{"r":true}}}})",
          R"({"https://jwt.attic.rs/v1":{"caches":{"a":{"w":1.0}}}})",
          R"({"https://jwt.attic.rs/v1":{"caches":{"a":1}}})",
          R"({"exp":"soon","https://jwt.attic.rs/v1":{"caches":{}}})",
          R"({"exp":-5,"https://jwt.attic.rs/v1":{"caches":{}}})",
          R"({"exp":1.5e9,"https://jwt.attic.rs/v1":{"caches":{}}})",
          R"({"nbf":null,"https://jwt.attic.rs/v1":{"caches":{}}})",
          R"({"sub":42,"https://jwt.attic.rs/v1":{"caches":{}}})",
          R"({"iss":1,"https://jwt.attic.rs/v1":{"caches":{}}})",
          R"({"aud":[1],"https://jwt.attic.rs/v1":{"caches":{}}})"}) {
        INFO(claims);
        CHECK(refusal(signed_claims(claims)) == ErrorCode::token_malformed);
    }
}

TEST_CASE("verify: only HS256, alg none and others are refused", "[auth]") {
    for (std::string_view header :
         {R"({"alg":"none","typ":"JWT"})", R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"RS256"})",
          R"({"alg":"hs256"})"}) {
        INFO(header);
        CHECK(refusal(with_header(header, minimal_claims)) ==
              ErrorCode::token_unsupported_algorithm);
    }
    // alg none with an empty signature, the classic forgery.
    auto forged = jwt::base64url_encode(as_bytes(R"({"alg":"none"})")) + "." +
                  jwt::base64url_encode(as_bytes(minimal_claims)) + ".";
    CHECK(refusal(forged) == ErrorCode::token_unsupported_algorithm);

    CHECK(refusal(with_header(R"({"typ":"JWT"})", minimal_claims)) == ErrorCode::token_malformed);
    CHECK(refusal(with_header(R"({"alg":"HS256","typ":"JWS"})", minimal_claims)) ==
          ErrorCode::token_malformed);
    // typ is optional, any case, and may be a +JWT media type.
    for (std::string_view header : {R"({"alg":"HS256"})", R"({"alg":"HS256","typ":"jwt"})",
                                    R"({"alg":"HS256","typ":"at+jwt","kid":"k"})"}) {
        INFO(header);
        CHECK(verify_token(test_secret(), with_header(header, minimal_claims), {now, 0s, nullptr}));
    }
}

TEST_CASE("verify: bad signatures", "[auth]") {
    auto token =
        make_token(test_secret(), "ci", 1h, grants_of({{"main", Permission::pull}}), now).value();
    // The last character carries 4 bits and 2 zero bits: 'A' and 'E' keep those zero.
    auto last = token.back() == 'A' ? 'E' : 'A';
    CHECK(refusal(token.substr(0, token.size() - 1) + last) == ErrorCode::token_bad_signature);

    auto other_secret = test_secret();
    other_secret[0] ^= 1;
    auto foreign = make_token(other_secret, "ci", 1h, {}, now).value();
    CHECK(refusal(foreign) == ErrorCode::token_bad_signature);

    // Claims swapped for others that grant more, the signature kept.
    auto first_dot = token.find('.');
    auto second_dot = token.find('.', first_dot + 1);
    auto tampered =
        token.substr(0, first_dot + 1) +
        jwt::base64url_encode(
            as_bytes(R"({"sub":"ci","https://jwt.attic.rs/v1":{"caches":{"*":{"r":1,"w":1}}}})")) +
        token.substr(second_dot);
    CHECK(refusal(tampered) == ErrorCode::token_bad_signature);

    // No secret configured: nothing verifies.
    auto unsigned_check = verify_token({}, token, {now, 0s, nullptr});
    REQUIRE_FALSE(unsigned_check);
    CHECK(unsigned_check.error().code == ErrorCode::token_bad_signature);

    // A truncated signature (40 characters: 30 whole bytes).
    CHECK(refusal(token.substr(0, token.size() - 3)) == ErrorCode::token_bad_signature);
}

TEST_CASE("verify: exp, nbf and iat, with and without leeway", "[auth]") {
    auto token = make_token(test_secret(), "ci", 1h, {}, now).value();
    auto exp = now + 3600;
    CHECK(verify_token(test_secret(), token, {exp, 0s, nullptr}));
    CHECK(refusal(token, {exp + 1, 0s, nullptr}) == ErrorCode::token_expired);
    CHECK(verify_token(test_secret(), token, {exp + 60, 60s, nullptr}));
    CHECK(refusal(token, {exp + 61, 60s, nullptr}) == ErrorCode::token_expired);

    // nbf is the minute it was made: a verifier whose clock runs behind refuses it.
    CHECK(refusal(token, {now - 1, 0s, nullptr}) == ErrorCode::token_not_yet_valid);
    CHECK(verify_token(test_secret(), token, {now - 30, 30s, nullptr}));

    auto issued_later =
        signed_claims(R"({"iat":1700000100,"https://jwt.attic.rs/v1":{"caches":{}}})");
    CHECK(refusal(issued_later) == ErrorCode::token_not_yet_valid);
    CHECK(verify_token(test_secret(), issued_later, {now, 100s, nullptr}));

    auto huge_exp =
        signed_claims(R"({"exp":18446744073709551615,"https://jwt.attic.rs/v1":{"caches":{}}})");
    CHECK(verify_token(test_secret(), huge_exp, {now, 0s, nullptr}));
}

TEST_CASE("verify: the deny-list refuses by subject and by token id", "[auth]") {
    auto token = make_token(test_secret(), "ci", 1h, {}, now).value();
    auto other = make_token(test_secret(), "laptop", 1h, {}, now).value();

    DenyList by_subject;
    by_subject.deny_subject("ci");
    CHECK(refusal(token, {now, 0s, &by_subject}) == ErrorCode::token_revoked);
    CHECK(verify_token(test_secret(), other, {now, 0s, &by_subject}));

    DenyList by_id;
    by_id.deny_token_id(token_id(other));
    CHECK(verify_token(test_secret(), token, {now, 0s, &by_id}));
    CHECK(refusal(other, {now, 0s, &by_id}) == ErrorCode::token_revoked);

    TokenVerifier verifier(test_secret(), 0s, by_id);
    CHECK(verifier.verify(token, now));
    CHECK(verifier.verify(other, now).error().code == ErrorCode::token_revoked);
}

TEST_CASE("verify: token error codes have stable names", "[auth]") {
    CHECK(error_code_name(ErrorCode::token_malformed) == "token_malformed");
    CHECK(error_code_name(ErrorCode::token_unsupported_algorithm) == "token_unsupported_algorithm");
    CHECK(error_code_name(ErrorCode::token_bad_signature) == "token_bad_signature");
    CHECK(error_code_name(ErrorCode::token_expired) == "token_expired");
    CHECK(error_code_name(ErrorCode::token_not_yet_valid) == "token_not_yet_valid");
    CHECK(error_code_name(ErrorCode::token_revoked) == "token_revoked");
    CHECK_FALSE(is_token_error(ErrorCode::invalid_argument));
}

// ---- patterns and precedence -----------------------------------------------------

TEST_CASE("patterns: wildcard matching as Attic's wildmatch does it", "[auth]") {
    CHECK(pattern_matches("team-*", "team-"));
    CHECK(pattern_matches("team-*", "team-abc"));
    CHECK_FALSE(pattern_matches("team-*", "abc-team"));
    CHECK(pattern_matches("no-wildcard", "no-wildcard"));
    CHECK_FALSE(pattern_matches("no-wildcard", "no-wildcard-xxx"));
    CHECK_FALSE(pattern_matches("no-wildcard", "xxx-no-wildcard"));
    CHECK(pattern_matches("*", "literally-anything"));
    CHECK(pattern_matches("*-ci-*", "team-ci-x"));
    CHECK(pattern_matches("a*b*c", "aXXbYYbZZc"));
    CHECK_FALSE(pattern_matches("a*b*c", "aXXbYY"));
    CHECK(pattern_matches("**", ""));
    CHECK_FALSE(pattern_matches("Main", "main"));
}

TEST_CASE("patterns: validity, as Attic's CacheNamePattern", "[auth]") {
    for (std::string_view good : {"main", "*", "team-*", "zhaofengli+*", "a_b", "A9", "*x*"})
        CHECK(is_valid_cache_pattern(good));
    for (std::string_view bad : {"", "-x", "_x", "+x", "a b", "a/b", "a?", "a.b", "é",
                                 "*-but-normal-restrictions-still-apply!!!"})
        CHECK_FALSE(is_valid_cache_pattern(bad));
    CHECK(is_valid_cache_pattern(std::string(50, 'a')));
    CHECK_FALSE(is_valid_cache_pattern(std::string(51, 'a')));
}

TEST_CASE("precedence: the exact pattern wins, even after a wildcard", "[auth]") {
    auto claims =
        parse_claims(R"({"https://jwt.attic.rs/v1":{"caches":{"*":{"r":1},"main":{"w":1}}}})");
    REQUIRE(claims);
    CHECK(claims->permissions_for("main") == Permissions{.push = true});
    CHECK(claims->permissions_for("other") == Permissions{.pull = true});
}

TEST_CASE("precedence: among wildcards the first in the token wins", "[auth]") {
    auto pull_first = parse_claims(
        R"({"https://jwt.attic.rs/v1":{"caches":{"all-*":{"r":1},"all-ci-*":{"w":1}}}})");
    auto push_first = parse_claims(
        R"({"https://jwt.attic.rs/v1":{"caches":{"all-ci-*":{"w":1},"all-*":{"r":1}}}})");
    CHECK(pull_first->permissions_for("all-ci-x") == Permissions{.pull = true});
    CHECK(push_first->permissions_for("all-ci-x") == Permissions{.push = true});
    // Permissions are not merged across patterns: the first match is all there is.
    CHECK(pull_first->permissions_for("all-x") == Permissions{.pull = true});
    CHECK(pull_first->permissions_for("none") == Permissions{});
    CHECK_FALSE(pull_first->permissions_for("none").can_discover());
}

TEST_CASE("precedence: a repeated pattern keeps its first place and its last value", "[auth]") {
    // serde into Attic's IndexMap does this with duplicate keys.
    auto claims = parse_claims(
        R"({"https://jwt.attic.rs/v1":{"caches":{"a-*":{"r":1},"*":{"d":1},"a-*":{"w":1}}}})");
    REQUIRE(claims);
    REQUIRE(claims->grants.size() == 2);
    CHECK(claims->grants[0].pattern == "a-*");
    CHECK(claims->permissions_for("a-1") == Permissions{.push = true});
}

TEST_CASE("permissions: letters, discovery and the public grant", "[auth]") {
    Permissions none;
    CHECK_FALSE(none.can_discover());
    for (auto permission : all_permissions) {
        Permissions one;
        one.grant(permission);
        CHECK(one.has(permission));
        CHECK(one.can_discover());
    }
    CHECK(claim_letter(Permission::pull) == "r");
    CHECK(claim_letter(Permission::push) == "w");
    CHECK(claim_letter(Permission::delete_paths) == "d");
    CHECK(claim_letter(Permission::create_cache) == "cc");
    CHECK(claim_letter(Permission::configure_cache) == "cr");
    CHECK(claim_letter(Permission::configure_cache_retention) == "cq");
    CHECK(claim_letter(Permission::destroy_cache) == "cd");
}

TEST_CASE("grants: add_grant merges per pattern and keeps first-seen order", "[auth]") {
    std::vector<CacheGrant> grants;
    REQUIRE(add_grant(grants, "b", Permission::pull));
    REQUIRE(add_grant(grants, "a", Permission::pull));
    REQUIRE(add_grant(grants, "b", Permission::push));
    REQUIRE(grants.size() == 2);
    CHECK(grants[0] == CacheGrant{"b", {.pull = true, .push = true}});
    CHECK(grants[1] == CacheGrant{"a", {.pull = true}});
    auto refused = add_grant(grants, "no spaces", Permission::pull);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::invalid_argument);
}

TEST_CASE("make_token: refuses what Attic could not read", "[auth]") {
    CHECK_FALSE(make_token(test_secret(), "", 1h, {}, now));
    CHECK_FALSE(make_token(test_secret(), "bad\xff utf8", 1h, {}, now));
    CHECK_FALSE(make_token(test_secret(), "ci", 0s, {}, now));
    CHECK_FALSE(make_token(test_secret(), "ci", -1h, {}, now));
    CHECK_FALSE(make_token({}, "ci", 1h, {}, now));
    CHECK_FALSE(make_token(test_secret(), "ci", 1h, {CacheGrant{"a b", {.pull = true}}}, now));
    CHECK_FALSE(make_token(test_secret(), "ci", 1h,
                           {CacheGrant{"a", {.pull = true}}, CacheGrant{"a", {.push = true}}},
                           now));
    // Non-ASCII subjects are fine, and escaped as serde_json would.
    auto token = make_token(test_secret(), "zoë \"q\"\n", 1h, {}, now);
    REQUIRE(token);
    auto payload = jwt::verify_hs256(test_secret(), *token).value();
    CHECK_THAT(payload, Catch::Contains(R"("sub":"zoë \"q\"\n")"));
}

TEST_CASE("make_token: validity from durations like atticadm's", "[auth]") {
    for (auto [text, seconds] : {std::pair{"1y", 31'557'600}, std::pair{"30d", 2'592'000},
                                 std::pair{"12h", 43'200}, std::pair{"2w", 1'209'600}}) {
        INFO(text);
        auto token = make_token(test_secret(), "ci", parse_duration(text).value(), {}, now);
        auto verified = verify_token(test_secret(), token.value(), {now, 0s, nullptr});
        CHECK(verified->claims.expires_at == now + seconds);
    }
}

// ---- the Authorization header -----------------------------------------------------

TEST_CASE("authorization: Bearer and Basic, as Attic parses them", "[auth]") {
    CHECK(token_from_authorization("Bearer abc.def.ghi") == "abc.def.ghi");
    CHECK(token_from_authorization("bearer some-token") == "some-token");
    CHECK(token_from_authorization("BEARER  spaced ") == "spaced");
    // Attic's own vectors: user "someuser", password "somepass"; scheme in any case.
    CHECK(token_from_authorization("Basic c29tZXVzZXI6c29tZXBhc3M=") == "somepass");
    CHECK(token_from_authorization("baSIC c29tZXVzZXI6c29tZXBhc3M=") == "somepass");
    // Nix's netrc with only a password sends an empty user name.
    auto netrc = "Basic " + encoding::to_base64(as_bytes(":eyJ.token.sig"));
    CHECK(token_from_authorization(netrc) == "eyJ.token.sig");
    // Everything after the first colon is the password.
    auto colons = "Basic " + encoding::to_base64(as_bytes("u:a:b"));
    CHECK(token_from_authorization(colons) == "a:b");
}

TEST_CASE("authorization: anything else carries no token", "[auth]") {
    for (std::string bad :
         {std::string(""), std::string("Bearer"), std::string("Bearer "), std::string("Token x"),
          std::string("Digest username=\"a\""), std::string("Basic"),
          std::string("Basic !!!notbase64"), "Basic " + encoding::to_base64(as_bytes("nocolon")),
          "Basic " + encoding::to_base64(as_bytes("user:")), std::string("Bearerx y")}) {
        INFO(bad);
        CHECK_FALSE(token_from_authorization(bad));
    }
}
