#include "auth/token.hpp"

#include "auth/jwt.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

namespace nixedge::lab {
namespace {

// Keeps the claims in the order of the JSON text: that order decides which
// wildcard pattern wins. Like serde into Attic's IndexMap, a repeated key
// keeps its first place and takes its last value.
using Json = nlohmann::ordered_json;

Error malformed(std::string why) {
    return make_error(ErrorCode::token_malformed, "token claims are malformed: " + why);
}

Error invalid(std::string why) {
    return make_error(ErrorCode::invalid_argument, std::move(why));
}

// NumericDate claims: jwt-simple 0.11 takes integers only.
Result<std::optional<std::int64_t>> read_timestamp(const Json& claims, const char* name) {
    auto found = claims.find(name);
    if (found == claims.end())
        return std::optional<std::int64_t>{};
    if (found->is_number_unsigned()) {
        auto value = found->get<std::uint64_t>();
        constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        return std::optional<std::int64_t>(static_cast<std::int64_t>(std::min(value, max)));
    }
    return malformed(std::string(name) + " is not a non-negative integer");
}

Result<std::optional<std::string>> read_optional_string(const Json& claims, const char* name) {
    auto found = claims.find(name);
    if (found == claims.end() || found->is_null())
        return std::optional<std::string>{};
    if (!found->is_string())
        return malformed(std::string(name) + " is not a string");
    return std::optional<std::string>(found->get<std::string>());
}

// Claims Attic does not use but whose type its parser checks.
Result<void> check_other_registered_claims(const Json& claims) {
    for (const char* name : {"iss", "jti", "nonce"})
        if (auto value = read_optional_string(claims, name); !value)
            return value.error();
    if (auto aud = claims.find("aud");
        aud != claims.end() && !aud->is_null() && !aud->is_string()) {
        bool strings = aud->is_array() &&
                       std::ranges::all_of(*aud, [](const Json& a) { return a.is_string(); });
        if (!strings)
            return malformed("aud is neither a string nor an array of strings");
    }
    return {};
}

// serde_with's BoolFromInt (strict): 0 or 1, nothing else.
Result<Permissions> read_permissions(const Json& letters, const std::string& pattern) {
    if (!letters.is_object())
        return malformed("permissions of \"" + pattern + "\" are not an object");
    Permissions permissions;
    for (auto permission : all_permissions) {
        auto found = letters.find(claim_letter(permission));
        if (found == letters.end())
            continue;
        if (!found->is_number_integer() || (*found != 0 && *found != 1))
            return malformed("permission " + std::string(claim_letter(permission)) + " of \"" +
                             pattern + "\" is not 0 or 1");
        if (*found == 1)
            permissions.grant(permission);
    }
    return permissions;
}

Result<std::vector<CacheGrant>> read_grants(const Json& claims) {
    auto attic = claims.find(attic_claims_namespace);
    if (attic == claims.end() || !attic->is_object())
        return malformed("no \"" + std::string(attic_claims_namespace) + "\" object");
    auto caches = attic->find("caches");
    if (caches == attic->end() || !caches->is_object())
        return malformed("no caches object");
    std::vector<CacheGrant> grants;
    for (const auto& [pattern, letters] : caches->items()) {
        if (!is_valid_cache_pattern(pattern))
            return malformed("\"" + pattern.substr(0, 64) + "\" is not a cache name pattern");
        auto permissions = read_permissions(letters, pattern);
        if (!permissions)
            return permissions.error();
        grants.push_back({pattern, *permissions});
    }
    return grants;
}

Result<void> check_times(const TokenClaims& claims, const VerifyOptions& options) {
    auto skew = options.clock_skew.count();
    auto now = options.now;
    if (claims.issued_at && *claims.issued_at > now + skew)
        return make_error(ErrorCode::token_not_yet_valid, "token was issued in the future (iat " +
                                                              std::to_string(*claims.issued_at) +
                                                              ", now " + std::to_string(now) + ")");
    if (claims.not_before && *claims.not_before > now + skew)
        return make_error(ErrorCode::token_not_yet_valid, "token is not valid before " +
                                                              std::to_string(*claims.not_before) +
                                                              " (now " + std::to_string(now) + ")");
    if (claims.expires_at && now - skew > *claims.expires_at)
        return make_error(ErrorCode::token_expired, "token expired at " +
                                                        std::to_string(*claims.expires_at) +
                                                        " (now " + std::to_string(now) + ")");
    return {};
}

// The subject goes into JSON, which must be UTF-8; serde's String is too.
bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = lead < 0x80           ? 1
                             : (lead >> 5) == 0x6  ? 2
                             : (lead >> 4) == 0xe  ? 3
                             : (lead >> 3) == 0x1e ? 4
                                                   : 0;
        if (length == 0 || i + length > text.size())
            return false;
        std::uint32_t code = length == 1 ? lead : lead & (0x7f >> length);
        for (std::size_t k = 1; k < length; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xc0) != 0x80)
                return false;
            code = code << 6 | (next & 0x3f);
        }
        constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < smallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
            return false;
        i += length;
    }
    return true;
}

Result<void> check_grants_for_signing(const std::vector<CacheGrant>& grants) {
    for (std::size_t i = 0; i < grants.size(); ++i) {
        const auto& pattern = grants[i].pattern;
        if (!is_valid_cache_pattern(pattern))
            return invalid("\"" + pattern + "\" is not a cache name pattern");
        for (std::size_t k = 0; k < i; ++k)
            if (grants[k].pattern == pattern)
                return invalid("pattern \"" + pattern +
                               "\" appears twice; merge it with add_grant");
    }
    return {};
}

} // namespace

Result<void> add_grant(std::vector<CacheGrant>& grants, std::string_view pattern,
                       Permission permission) {
    if (!is_valid_cache_pattern(pattern))
        return invalid("\"" + std::string(pattern) +
                       "\" is not a cache name pattern (letters, digits, '-', '_', '+' and "
                       "the wildcard '*'; at most 50)");
    auto existing = std::ranges::find(grants, pattern, &CacheGrant::pattern);
    if (existing == grants.end())
        existing = grants.insert(grants.end(), CacheGrant{std::string(pattern), {}});
    existing->permissions.grant(permission);
    return {};
}

Permissions TokenClaims::permissions_for(std::string_view cache_name) const {
    auto exact = std::ranges::find(grants, cache_name, &CacheGrant::pattern);
    if (exact != grants.end())
        return exact->permissions;
    for (const auto& grant : grants)
        if (pattern_matches(grant.pattern, cache_name))
            return grant.permissions;
    return {};
}

Result<TokenClaims> parse_claims(std::string_view json) {
    auto claims = Json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (!claims.is_object())
        return malformed("not a JSON object");
    TokenClaims parsed;
    auto subject = read_optional_string(claims, "sub");
    if (!subject)
        return subject.error();
    parsed.subject = std::move(subject.value());
    struct Timestamp {
        const char* name;
        std::optional<std::int64_t>* field;
    };
    for (auto [name, field] :
         {Timestamp{"exp", &parsed.expires_at}, Timestamp{"nbf", &parsed.not_before},
          Timestamp{"iat", &parsed.issued_at}}) {
        auto value = read_timestamp(claims, name);
        if (!value)
            return value.error();
        *field = *value;
    }
    if (auto others = check_other_registered_claims(claims); !others)
        return others.error();
    auto grants = read_grants(claims);
    if (!grants)
        return grants.error();
    parsed.grants = std::move(grants.value());
    return parsed;
}

std::string serialize_claims(const TokenClaims& claims) {
    // jwt-simple's field order (iat, exp, nbf, iss, sub, aud, jti, nonce), then
    // Attic's namespace, flattened after them.
    Json json = Json::object();
    if (claims.issued_at)
        json["iat"] = *claims.issued_at;
    if (claims.expires_at)
        json["exp"] = *claims.expires_at;
    if (claims.not_before)
        json["nbf"] = *claims.not_before;
    if (claims.subject)
        json["sub"] = *claims.subject;
    Json caches = Json::object();
    for (const auto& grant : claims.grants) {
        Json letters = Json::object();
        for (auto permission : all_permissions)
            if (grant.permissions.has(permission))
                letters[std::string(claim_letter(permission))] = 1;
        caches[grant.pattern] = std::move(letters);
    }
    json[std::string(attic_claims_namespace)]["caches"] = std::move(caches);
    return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::int64_t unix_now() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

Result<std::string> make_token(ByteView secret, std::string_view subject,
                               std::chrono::seconds validity, const std::vector<CacheGrant>& grants,
                               std::int64_t now) {
    if (subject.empty() || !is_valid_utf8(subject))
        return invalid("a token needs a subject in UTF-8");
    if (validity.count() <= 0 || validity.count() > std::numeric_limits<std::int64_t>::max() - now)
        return invalid("token validity must be positive and end before the year 292277026596");
    if (auto checked = check_grants_for_signing(grants); !checked)
        return checked.error();
    TokenClaims claims;
    claims.subject = std::string(subject);
    claims.expires_at = now + validity.count();
    claims.not_before = now;
    claims.grants = grants;
    return jwt::sign_hs256(secret, serialize_claims(claims));
}

Result<VerifiedToken> verify_token(ByteView secret, std::string_view token,
                                   const VerifyOptions& options) {
    auto payload = jwt::verify_hs256(secret, token);
    if (!payload)
        return payload.error();
    auto claims = parse_claims(*payload);
    if (!claims)
        return claims.error();
    if (auto timely = check_times(*claims, options); !timely)
        return timely.error();
    VerifiedToken verified{std::move(claims.value()), token_id(token)};
    if (options.deny_list && options.deny_list->denies(verified.claims.subject, verified.id))
        return make_error(ErrorCode::token_revoked,
                          "token " + verified.id + " is revoked (its id or subject is denied)");
    return verified;
}

bool is_token_error(ErrorCode code) {
    switch (code) {
    case ErrorCode::token_malformed:
    case ErrorCode::token_unsupported_algorithm:
    case ErrorCode::token_bad_signature:
    case ErrorCode::token_expired:
    case ErrorCode::token_not_yet_valid:
    case ErrorCode::token_revoked:
        return true;
    default:
        return false;
    }
}

} // namespace nixedge::lab
