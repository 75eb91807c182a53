// The auth matrix: every endpoint of the route table x every permission x
// every kind of token x every state of the cache named, each row asserting
// the HTTP status that the documented rules give (expected(), below: the ONE
// place they are written down here), and that a refused request changed
// nothing. The table of endpoints must list every (route, method) the
// router serves, so a new endpoint cannot skip it. A few rows run again over
// a real socket, where Expect: 100-continue must be answered only after the
// auth check.
#include "http_test_support.hpp"
#include "lab_support.hpp"

#include "attic/api_types.hpp"
#include "auth/jwt.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

using namespace nixedge;
using namespace nixedge::test;
using lab::Permission;
using lab::http::Status;
using lab::http::Verb;

namespace {

// ---- the dimensions -----------------------------------------------------------------

// What the cache named by the request is.
enum class CacheState { private_cache, public_cache, absent };
constexpr CacheState all_cache_states[] = {CacheState::private_cache, CacheState::public_cache,
                                           CacheState::absent};

std::string_view name_of(CacheState state) {
    switch (state) {
    case CacheState::private_cache:
        return "private";
    case CacheState::public_cache:
        return "public";
    case CacheState::absent:
        return "absent";
    }
    return "?";
}

enum class TokenKind {
    none,              // no Authorization header
    expired,           // exp an hour ago, far beyond the 5 min leeway
    not_yet_valid,     // nbf an hour ahead
    bad_signature,     // signed with another secret
    alg_none,          // {"alg":"none"} and no signature
    revoked_subject,   // its sub is in auth.revoked_subjects
    revoked_id,        // its id is in auth.revoked_token_ids
    other_cache,       // valid, the permission granted only on another cache
    unmatched_pattern, // valid, the permission granted on a pattern that does not match
    bearer,            // valid: Authorization: Bearer
    basic,             // valid: the password of Basic auth (Nix's netrc)
    wildcard,          // valid: granted on a wildcard pattern that matches
    expired_in_leeway, // exp a minute ago: inside the leeway, so valid
    nbf_in_leeway,     // nbf a minute ahead: inside the leeway, so valid
};
constexpr TokenKind all_token_kinds[] = {
    TokenKind::none,
    TokenKind::expired,
    TokenKind::not_yet_valid,
    TokenKind::bad_signature,
    TokenKind::alg_none,
    TokenKind::revoked_subject,
    TokenKind::revoked_id,
    TokenKind::other_cache,
    TokenKind::unmatched_pattern,
    TokenKind::bearer,
    TokenKind::basic,
    TokenKind::wildcard,
    TokenKind::expired_in_leeway,
    TokenKind::nbf_in_leeway,
};

std::string_view name_of(TokenKind kind) {
    switch (kind) {
    case TokenKind::none:
        return "no token";
    case TokenKind::expired:
        return "expired";
    case TokenKind::not_yet_valid:
        return "not yet valid";
    case TokenKind::bad_signature:
        return "wrong signature";
    case TokenKind::alg_none:
        return "alg none";
    case TokenKind::revoked_subject:
        return "revoked subject";
    case TokenKind::revoked_id:
        return "revoked token id";
    case TokenKind::other_cache:
        return "granted on another cache";
    case TokenKind::unmatched_pattern:
        return "granted on a pattern that does not match";
    case TokenKind::bearer:
        return "valid (Bearer)";
    case TokenKind::basic:
        return "valid (Basic password)";
    case TokenKind::wildcard:
        return "valid (wildcard pattern)";
    case TokenKind::expired_in_leeway:
        return "expired within the leeway";
    case TokenKind::nbf_in_leeway:
        return "nbf within the leeway";
    }
    return "?";
}

// A token that fails verification: 401 whatever it claims.
bool fails_verification(TokenKind kind) {
    switch (kind) {
    case TokenKind::expired:
    case TokenKind::not_yet_valid:
    case TokenKind::bad_signature:
    case TokenKind::alg_none:
    case TokenKind::revoked_subject:
    case TokenKind::revoked_id:
        return true;
    default:
        return false;
    }
}

// A verified token whose grant applies to the cache named.
bool grants_on_cache(TokenKind kind) {
    switch (kind) {
    case TokenKind::bearer:
    case TokenKind::basic:
    case TokenKind::wildcard:
    case TokenKind::expired_in_leeway:
    case TokenKind::nbf_in_leeway:
        return true;
    default:
        return false;
    }
}

// What a token grants: each letter alone, and cr+cq (what a retention change needs).
using PermissionSet = std::vector<Permission>;
const std::vector<PermissionSet> all_permission_sets = {
    {Permission::pull},
    {Permission::push},
    {Permission::delete_paths},
    {Permission::create_cache},
    {Permission::configure_cache},
    {Permission::configure_cache_retention},
    {Permission::destroy_cache},
    {Permission::configure_cache, Permission::configure_cache_retention},
};

std::string name_of(const PermissionSet& set) {
    std::string out;
    for (auto p : set)
        out += (out.empty() ? "" : "+") + std::string(lab::claim_letter(p));
    return out.empty() ? "-" : out;
}

// ---- the endpoints --------------------------------------------------------------------

enum class Rule {
    open,     // anyone, whatever the token (observability)
    cache,    // authorize(cache, each needed permission)
    creation, // authorize_creation: cc on the name, the cache need not exist
};

enum class Effect {
    none,          // reads, and what is accepted and dropped (PUT .ls)
    stage_nar,     // PUT nar: the upload is staged
    publish,       // PUT narinfo, upload-path: the path is published
    create,        // POST cache-config: the cache exists
    set_priority,  // PATCH: priority 7
    set_retention, // PATCH: retention 12345 s
    destroy,       // DELETE: the cache is gone
};

struct RequestSpec {
    std::string target;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

struct Paths; // the store paths the requests name, below

struct Endpoint {
    std::string label;
    std::string route; // the route table's name for it
    Verb method;
    Rule rule;
    PermissionSet needs;
    Effect effect = Effect::none;
    // A cache of its own per row (a row that succeeds changes it).
    bool own_cache = false;
    std::function<RequestSpec(const Paths&, const std::string& cache)> request;
};

// The one store path that reads find in the shared caches, the one that
// writes push, and an upload staged and not yet published.
struct Paths {
    StorePath read_path = path_named("auth-matrix-read");
    std::string read_nar = file_nar("read me");
    std::string read_nar_url; // the server's nar/<manifest>.nar.zst, once pushed
    StorePath write_path = path_named("auth-matrix-write");
    std::string write_nar = file_nar("write me");
    std::string staged_nar = file_nar("staged, waiting for its narinfo");
};

std::string upload_info_json(const std::string& cache, const StorePath& path,
                             const std::string& nar) {
    lab::attic::UploadPathInfo info;
    info.cache = cache;
    info.store_path_hash = path.hash;
    info.store_path = path.full();
    info.sigs = {"cache.example.org-1:c2lnbmF0dXJl"};
    info.nar_hash.digest = Sha256::digest(as_bytes(nar));
    info.nar_size = nar.size();
    return lab::attic::serialize(info);
}

RequestSpec put_narinfo_request(const Paths& p, const std::string& cache) {
    return {"/" + cache + "/" + p.write_path.hash + ".narinfo",
            client_narinfo(p.write_path, p.write_nar, nix_nar_url(p.write_nar)),
            {}};
}

RequestSpec head_staged_request(const Paths& p, const std::string& cache) {
    return {"/" + cache + "/" + nix_nar_url(p.staged_nar), {}, {}};
}

RequestSpec put_nar_request(const Paths& p, const std::string& cache) {
    return {"/" + cache + "/" + nix_nar_url(p.write_nar), p.write_nar, {}};
}

RequestSpec put_listing_request(const Paths& p, const std::string& cache) {
    return {"/" + cache + "/" + p.write_path.hash + ".ls",
            R"({"version":1,"root":{"type":"regular","size":8}})",
            {}};
}

RequestSpec missing_paths_request(const Paths& p, const std::string& cache) {
    return {"/_api/v1/get-missing-paths",
            R"({"cache":")" + cache + R"(","store_path_hashes":[")" + p.write_path.hash + R"("]})",
            {{"Content-Type", "application/json"}}};
}

RequestSpec upload_path_request(const Paths& p, const std::string& cache) {
    return {"/_api/v1/upload-path",
            p.write_nar,
            {{"X-Attic-Nar-Info", upload_info_json(cache, p.write_path, p.write_nar)},
             {"Content-Type", "application/octet-stream"}}};
}

// Attic's client sends a large path info as the first bytes of the body.
RequestSpec upload_preamble_request(const Paths& p, const std::string& cache) {
    auto info = upload_info_json(cache, p.write_path, p.write_nar);
    return {"/_api/v1/upload-path",
            info + p.write_nar,
            {{"X-Attic-Nar-Info-Preamble-Size", std::to_string(info.size())},
             {"Content-Type", "application/octet-stream"}}};
}

constexpr std::string_view create_body =
    R"({"keypair":"Generate","is_public":false,"store_dir":"/nix/store","priority":41,)"
    R"("upstream_cache_key_names":[]})";

Endpoint ep(std::string label, std::string route, Verb method, Rule rule, PermissionSet needs,
            Effect effect, bool own_cache,
            std::function<RequestSpec(const Paths&, const std::string&)> request) {
    return {std::move(label), std::move(route), method,    rule,
            std::move(needs), effect,           own_cache, std::move(request)};
}

// One row per (route, method) the table serves; HEAD beside each GET.
const std::vector<Endpoint>& endpoints() {
    using P = Permission;
    auto at = [](std::string suffix) {
        return [suffix](const Paths&, const std::string& cache) {
            return RequestSpec{"/" + cache + suffix, {}, {}};
        };
    };
    auto read_path = [](std::string suffix) {
        return [suffix](const Paths& p, const std::string& cache) {
            return RequestSpec{"/" + cache + "/" + p.read_path.hash + suffix, {}, {}};
        };
    };
    auto nar = [](const Paths& p, const std::string& cache) {
        return RequestSpec{"/" + cache + "/" + p.read_nar_url, {}, {}};
    };
    auto config = [](std::string_view body) {
        return [body = std::string(body)](const Paths&, const std::string& cache) {
            return RequestSpec{"/_api/v1/cache-config/" + cache, body, {}};
        };
    };
    auto open = [](std::string target) {
        return [target](const Paths&, const std::string&) { return RequestSpec{target, {}, {}}; };
    };
    const auto cache = Rule::cache;
    const auto none = Effect::none;
    const auto get = Verb::get;
    const auto head = Verb::head;
    static const std::vector<Endpoint> table = {
        ep("GET nix-cache-info", "nix-cache-info", get, cache, {P::pull}, none, false,
           at("/nix-cache-info")),
        ep("HEAD nix-cache-info", "nix-cache-info", head, cache, {P::pull}, none, false,
           at("/nix-cache-info")),
        ep("GET narinfo", "narinfo", get, cache, {P::pull}, none, false, read_path(".narinfo")),
        ep("HEAD narinfo", "narinfo", head, cache, {P::pull}, none, false, read_path(".narinfo")),
        ep("PUT narinfo", "narinfo-upload", Verb::put, cache, {P::push}, Effect::publish, true,
           put_narinfo_request),
        ep("GET nar", "nar", get, cache, {P::pull}, none, false, nar),
        ep("HEAD nar", "nar", head, cache, {P::pull}, none, false, nar),
        ep("HEAD nar (Nix's upload URL, staged)", "nar", head, cache, {P::pull}, none, false,
           head_staged_request),
        ep("PUT nar (Nix's upload URL)", "nar-upload", Verb::put, cache, {P::push},
           Effect::stage_nar, true, put_nar_request),
        ep("GET .ls", "listing", get, cache, {P::pull}, none, false, read_path(".ls")),
        ep("HEAD .ls", "listing", head, cache, {P::pull}, none, false, read_path(".ls")),
        ep("PUT .ls", "listing-upload", Verb::put, cache, {P::push}, none, false,
           put_listing_request),
        ep("GET cache-config", "attic-cache-config", get, cache, {P::pull}, none, false,
           config({})),
        ep("HEAD cache-config", "attic-cache-config", head, cache, {P::pull}, none, false,
           config({})),
        ep("GET attic-cache-info", "attic-cache-info", get, cache, {P::pull}, none, false,
           at("/attic-cache-info")),
        ep("HEAD attic-cache-info", "attic-cache-info", head, cache, {P::pull}, none, false,
           at("/attic-cache-info")),
        ep("POST cache-config (create)", "attic-cache-create", Verb::post, Rule::creation,
           {P::create_cache}, Effect::create, true, config(create_body)),
        ep("PATCH cache-config (priority)", "attic-cache-configure", Verb::patch, cache,
           {P::configure_cache}, Effect::set_priority, true, config(R"({"priority":7})")),
        ep("PATCH cache-config (retention)", "attic-cache-configure", Verb::patch, cache,
           {P::configure_cache, P::configure_cache_retention}, Effect::set_retention, true,
           config(R"({"retention_period":{"Period":12345}})")),
        ep("DELETE cache-config", "attic-cache-destroy", Verb::delete_, cache, {P::destroy_cache},
           Effect::destroy, true, config({})),
        ep("POST get-missing-paths", "attic-missing-paths", Verb::post, cache, {P::push}, none,
           false, missing_paths_request),
        ep("PUT upload-path", "attic-upload-path", Verb::put, cache, {P::push}, Effect::publish,
           true, upload_path_request),
        ep("PUT upload-path (info in a preamble)", "attic-upload-path", Verb::put, cache, {P::push},
           Effect::publish, true, upload_preamble_request),
        ep("GET healthz", "healthz", get, Rule::open, {}, none, false, open("/healthz")),
        ep("HEAD healthz", "healthz", head, Rule::open, {}, none, false, open("/healthz")),
        ep("GET readyz", "readyz", get, Rule::open, {}, none, false, open("/readyz")),
        ep("HEAD readyz", "readyz", head, Rule::open, {}, none, false, open("/readyz")),
        ep("GET metrics", "metrics", get, Rule::open, {}, none, false, open("/metrics")),
        ep("HEAD metrics", "metrics", head, Rule::open, {}, none, false, open("/metrics")),
    };
    return table;
}

// ---- the rules ------------------------------------------------------------------------

bool has_all(const PermissionSet& granted, const PermissionSet& needed) {
    return std::ranges::all_of(
        needed, [&](Permission p) { return std::ranges::find(granted, p) != granted.end(); });
}

// The status the documented rules give (docs/lab-server.md "Auth" and
// "Errors", routes/access.hpp), in their order:
//   - /metrics, /healthz, /readyz: anyone, 200;
//   - a token that does not verify (expired, not yet valid, wrong signature,
//     alg other than HS256, revoked): 401, whatever the cache;
//   - creation (POST cache-config): 401 without a token, 403 without cc on
//     the name; with cc, 200, or 400 cache_already_exists for a name taken;
//   - otherwise the permissions are the token's on the cache (none without
//     one, or when no pattern of it matches) plus r on a public cache:
//       none at all: 401, whether or not the cache exists;
//       some, and the cache does not exist: 404;
//       some, but not each one the endpoint needs: 403, or 401 without a token;
//       all it needs: 200.
int expected(const Endpoint& endpoint, const PermissionSet& granted, TokenKind kind,
             CacheState cache) {
    if (endpoint.rule == Rule::open)
        return 200;
    if (fails_verification(kind))
        return 401;
    const bool has_token = kind != TokenKind::none;
    PermissionSet effective = grants_on_cache(kind) ? granted : PermissionSet{};
    if (endpoint.rule == Rule::creation) {
        if (!has_token)
            return 401;
        if (!has_all(effective, endpoint.needs))
            return 403;
        return cache == CacheState::absent ? 200 : 400;
    }
    if (cache == CacheState::public_cache)
        effective.push_back(Permission::pull);
    if (effective.empty())
        return 401;
    if (cache == CacheState::absent)
        return 404;
    if (!has_all(effective, endpoint.needs))
        return has_token ? 403 : 401;
    return 200;
}

// ---- tokens ---------------------------------------------------------------------------

constexpr std::string_view revoked_subject = "ci-revoked";

Bytes server_secret() {
    return encoding::from_hex(test_secret_hex).value();
}

std::vector<lab::CacheGrant> grants_on(const std::string& pattern, const PermissionSet& set) {
    std::vector<lab::CacheGrant> grants;
    for (auto p : set)
        REQUIRE(lab::add_grant(grants, pattern, p));
    return grants;
}

std::string basic(const std::string& token) {
    return "Basic " + encoding::to_base64(as_bytes("nix:" + token));
}

struct TokenMint {
    std::int64_t now = lab::unix_now();
    std::vector<std::string> revoked_ids;

    std::string make(Bytes secret, std::string subject, std::int64_t made_at,
                     const std::vector<lab::CacheGrant>& grants) {
        auto token = lab::make_token(secret, subject, std::chrono::hours(1), grants, made_at);
        REQUIRE(token);
        return *token;
    }

    // The Authorization header of a `kind` token granting `set` on `cache`
    // (or elsewhere, for the kinds that grant elsewhere); empty: none.
    std::string authorization(TokenKind kind, const std::string& cache, const PermissionSet& set) {
        const auto secret = server_secret();
        switch (kind) {
        case TokenKind::none:
            return {};
        case TokenKind::expired: // exp = now - 1 h
            return "Bearer " + make(secret, "ci", now - 7200, grants_on(cache, set));
        case TokenKind::not_yet_valid: // nbf = now + 1 h
            return "Bearer " + make(secret, "ci", now + 3600, grants_on(cache, set));
        case TokenKind::bad_signature: {
            auto other = secret;
            other[0] ^= 0x5a;
            return "Bearer " + make(other, "ci", now, grants_on(cache, set));
        }
        case TokenKind::alg_none: {
            lab::TokenClaims claims;
            claims.subject = "ci";
            claims.expires_at = now + 3600;
            claims.not_before = now;
            claims.grants = grants_on(cache, set);
            return "Bearer " +
                   lab::jwt::base64url_encode(as_bytes(R"({"alg":"none","typ":"JWT"})")) + "." +
                   lab::jwt::base64url_encode(as_bytes(lab::serialize_claims(claims))) + ".";
        }
        case TokenKind::revoked_subject:
            return "Bearer " +
                   make(secret, std::string(revoked_subject), now, grants_on(cache, set));
        case TokenKind::revoked_id: {
            auto token = make(secret, "ci-listed-by-id", now, grants_on(cache, set));
            revoked_ids.push_back(lab::token_id(token));
            return "Bearer " + token;
        }
        case TokenKind::other_cache:
            return "Bearer " + make(secret, "ci", now, grants_on("other", set));
        case TokenKind::unmatched_pattern: // "main-*" does not match "main"
            return "Bearer " + make(secret, "ci", now, grants_on(cache + "-*", set));
        case TokenKind::bearer:
            return "Bearer " + make(secret, "ci", now, grants_on(cache, set));
        case TokenKind::basic:
            return basic(make(secret, "ci", now, grants_on(cache, set)));
        case TokenKind::wildcard:
            return "bearer " +
                   make(secret, "ci", now, grants_on(cache.substr(0, cache.size() - 1) + "*", set));
        case TokenKind::expired_in_leeway: // exp = now - 60 s, leeway 5 min
            return "Bearer " + make(secret, "ci", now - 3660, grants_on(cache, set));
        case TokenKind::nbf_in_leeway: // nbf = now + 60 s
            return "Bearer " + make(secret, "ci", now + 60, grants_on(cache, set));
        }
        return {};
    }

    // Everything, on every cache: sets the matrix up.
    std::string admin() {
        std::vector<lab::CacheGrant> grants;
        for (auto p : lab::all_permissions)
            REQUIRE(lab::add_grant(grants, "*", p));
        return "Bearer " + make(server_secret(), "matrix-admin", now, grants);
    }
};

// The [auth] section: a 5 min leeway, one revoked subject, the revoked ids.
std::string auth_toml(const std::vector<std::string>& revoked_ids) {
    std::string ids;
    for (const auto& id : revoked_ids)
        ids += (ids.empty() ? "\"" : ", \"") + id + "\"";
    return "[auth]\nclock_skew = \"5m\"\nrevoked_subjects = [\"" + std::string(revoked_subject) +
           "\"]\nrevoked_token_ids = [" + ids + "]\n";
}

// ---- calls and state ------------------------------------------------------------------

Result<lab::http::testing::CallResult> send(LabFixture& f, lab::http::Workers& workers, Verb method,
                                            const RequestSpec& spec,
                                            const std::string& authorization) {
    lab::http::testing::CallOptions options;
    options.headers.set(boost::beast::http::field::host, "lab.test");
    if (!authorization.empty())
        options.headers.set(boost::beast::http::field::authorization, authorization);
    for (const auto& [name, value] : spec.headers)
        options.headers.set(name, value);
    options.body = spec.body;
    options.default_body_limit = 1 << 20;
    options.workers = &workers;
    return lab::http::testing::call(*f.router, method, spec.target, std::move(options));
}

// Everything a write to `cache` could change, read from the database.
struct CacheSnapshot {
    std::optional<lab::CacheSettings> settings;
    std::vector<std::string> keys;
    std::optional<std::string> write_narinfo;
    std::optional<std::string> write_listing;
    bool write_nar_staged = false;
    std::size_t held = 0;
    bool operator==(const CacheSnapshot&) const = default;
};

CacheSnapshot snapshot(LabFixture& f, const Paths& p, const std::string& cache) {
    auto& metadata = *f.lab.metadata;
    CacheSnapshot s;
    auto found = metadata.get_cache(cache);
    REQUIRE(found);
    if (*found) {
        s.settings = (*found)->settings;
        for (const auto& key : (*found)->keys)
            s.keys.push_back(key.public_key);
    }
    s.write_narinfo = metadata.narinfo(cache, p.write_path.hash).value();
    s.write_listing = metadata.listing(cache, p.write_path.hash).value();
    s.write_nar_staged = metadata.find_staged(cache, nix_nar_url(p.write_nar)).value().has_value();
    s.held = metadata.held_paths(cache).value().size();
    return s;
}

// What a successful write must have done; empty if it did.
std::string missing_effect(Effect effect, const CacheSnapshot& before, const CacheSnapshot& after) {
    switch (effect) {
    case Effect::none:
        return before == after ? "" : "a read changed the cache";
    case Effect::stage_nar:
        return after.write_nar_staged ? "" : "the NAR is not staged";
    case Effect::publish:
        return after.write_narinfo ? "" : "the path is not published";
    case Effect::create:
        return after.settings ? "" : "the cache was not created";
    case Effect::set_priority:
        return after.settings && after.settings->priority == 7 ? "" : "the priority is not 7";
    case Effect::set_retention:
        return after.settings && after.settings->retention_seconds == 12345
                   ? ""
                   : "the retention is not 12345 s";
    case Effect::destroy:
        return after.settings ? "the cache still exists" : "";
    }
    return "?";
}

// ---- the plan -------------------------------------------------------------------------

struct Row {
    const Endpoint* endpoint;
    PermissionSet permissions;
    TokenKind kind;
    CacheState cache_state;
    std::string cache;
    std::string authorization;
    int expected;

    std::string describe() const {
        return endpoint->label + " | " + name_of(permissions) + " | " + std::string(name_of(kind)) +
               " | " + std::string(name_of(cache_state)) + " cache '" + cache + "'";
    }
};

// The shared caches the rows that change nothing use.
std::string shared_cache(CacheState state) {
    switch (state) {
    case CacheState::private_cache:
        return "priv";
    case CacheState::public_cache:
        return "pub";
    case CacheState::absent:
        return "absent";
    }
    return {};
}

std::vector<Row> plan_rows(TokenMint& mint) {
    std::vector<Row> rows;
    std::map<std::tuple<std::string, std::size_t, TokenKind>, std::string> minted;
    int fresh = 0;
    for (const auto& endpoint : endpoints()) {
        // The open endpoints name no cache: one pass.
        std::vector<CacheState> states(std::begin(all_cache_states), std::end(all_cache_states));
        if (endpoint.rule == Rule::open)
            states = {CacheState::private_cache};
        for (auto state : states) {
            for (auto kind : all_token_kinds) {
                // Without a token the permission dimension collapses to one row.
                const std::size_t sets = kind == TokenKind::none ? 1 : all_permission_sets.size();
                for (std::size_t i = 0; i < sets; ++i) {
                    const auto& set =
                        kind == TokenKind::none ? PermissionSet{} : all_permission_sets[i];
                    std::string cache = endpoint.own_cache ? "c" + std::to_string(++fresh) + "-" +
                                                                 std::string(name_of(state))
                                                           : shared_cache(state);
                    // The creation rows on a taken name use the shared caches:
                    // they can only be refused.
                    if (endpoint.rule == Rule::creation && state != CacheState::absent)
                        cache = shared_cache(state);
                    auto key = std::tuple{cache, i, kind};
                    auto it = minted.find(key);
                    if (it == minted.end())
                        it = minted.emplace(key, mint.authorization(kind, cache, set)).first;
                    rows.push_back(Row{&endpoint, set, kind, state, cache, it->second,
                                       expected(endpoint, set, kind, state)});
                }
            }
        }
    }
    return rows;
}

// The shared caches, and the read path published in both (a NAR staged too).
void set_up_shared(LabFixture& f, lab::http::Workers& workers, Paths& p, const std::string& admin) {
    f.create_cache("priv");
    f.create_cache("pub", true);
    f.create_cache("other");
    for (const std::string cache : {"priv", "pub"}) {
        auto url = nix_nar_url(p.read_nar);
        auto staged = send(f, workers, Verb::put, {"/" + cache + "/" + url, p.read_nar, {}}, admin);
        REQUIRE(staged);
        REQUIRE(staged->status == Status::ok);
        auto published = send(f, workers, Verb::put,
                              {"/" + cache + "/" + p.read_path.hash + ".narinfo",
                               client_narinfo(p.read_path, p.read_nar, url),
                               {}},
                              admin);
        REQUIRE(published);
        REQUIRE(published->status == Status::ok);
        auto waiting =
            send(f, workers, Verb::put,
                 {"/" + cache + "/" + nix_nar_url(p.staged_nar), p.staged_nar, {}}, admin);
        REQUIRE(waiting);
        REQUIRE(waiting->status == Status::ok);
    }
    auto info = parse_narinfo(
        send(f, workers, Verb::get, {"/priv/" + p.read_path.hash + ".narinfo", {}, {}}, admin)
            .value()
            .body);
    REQUIRE(info);
    p.read_nar_url = info->url;
}

// A row's own cache, as the row needs it before its request.
void set_up_own(LabFixture& f, lab::http::Workers& workers, const Paths& p, const Row& row,
                const std::string& admin) {
    if (row.cache_state == CacheState::absent || !row.endpoint->own_cache ||
        row.endpoint->rule == Rule::creation)
        return;
    f.create_cache(row.cache, row.cache_state == CacheState::public_cache);
    if (row.endpoint->route == "narinfo-upload") {
        auto staged =
            send(f, workers, Verb::put,
                 {"/" + row.cache + "/" + nix_nar_url(p.write_nar), p.write_nar, {}}, admin);
        REQUIRE(staged);
        REQUIRE(staged->status == Status::ok);
    }
}

bool is_success(int status) {
    return status >= 200 && status < 300;
}

} // namespace

TEST_CASE("auth matrix: every route of the route table is in the matrix", "[authmatrix]") {
    LabFixture f;
    std::set<std::pair<std::string, Verb>> listed;
    for (const auto& endpoint : endpoints())
        listed.insert({endpoint.route, endpoint.method});
    std::size_t served = 0;
    for (const auto& route : f.router->routes()) {
        // Every verb Beast knows, HEAD included (a GET route serves it).
        for (int v = static_cast<int>(Verb::delete_); v <= static_cast<int>(Verb::unlink); ++v) {
            auto verb = static_cast<Verb>(v);
            if (!route.methods.allows(verb))
                continue;
            ++served;
            INFO("route " << route.name << " (" << route.pattern.text() << ") serves "
                          << boost::beast::http::to_string(verb)
                          << ": add it to endpoints() in tests/lab/auth_matrix_test.cpp");
            CHECK(listed.contains({route.name, verb}));
        }
    }
    // And nothing listed that the table does not serve.
    for (const auto& entry : listed) {
        INFO("the matrix lists " << entry.first << " "
                                 << boost::beast::http::to_string(entry.second));
        CHECK(std::ranges::any_of(f.router->routes(), [&](const lab::http::Route& r) {
            return r.name == entry.first && r.methods.allows(entry.second);
        }));
    }
    CHECK(served == listed.size());
}

TEST_CASE("auth matrix: every endpoint x permission x token kind x cache", "[authmatrix]") {
    TokenMint mint;
    auto rows = plan_rows(mint);
    const auto admin = mint.admin();
    LabFixture f(auth_toml(mint.revoked_ids));
    lab::http::Workers workers(2);
    Paths paths;
    set_up_shared(f, workers, paths, admin);

    std::vector<std::string> mismatches;
    std::map<int, std::size_t> by_status;
    std::size_t state_checks = 0;
    for (const auto& row : rows) {
        set_up_own(f, workers, paths, row, admin);
        auto spec = row.endpoint->request(paths, row.cache);
        auto before = snapshot(f, paths, row.cache);
        auto got = send(f, workers, row.endpoint->method, spec, row.authorization);
        if (!got) {
            mismatches.push_back(row.describe() + ": the call failed: " + got.error().detail);
            continue;
        }
        if (got->route_name != row.endpoint->route)
            mismatches.push_back(row.describe() + ": served by route '" + got->route_name + "'");
        const int status = static_cast<int>(got->status);
        ++by_status[row.expected];
        if (status != row.expected)
            mismatches.push_back(row.describe() + ": " + std::to_string(status) + ", expected " +
                                 std::to_string(row.expected) + " " + got->body);
        auto after = snapshot(f, paths, row.cache);
        ++state_checks;
        if (!is_success(status)) {
            if (!(after == before))
                mismatches.push_back(row.describe() + ": refused with " + std::to_string(status) +
                                     ", but the cache changed");
        } else if (auto missing = missing_effect(row.endpoint->effect, before, after);
                   !missing.empty()) {
            mismatches.push_back(row.describe() + ": " + missing);
        }
    }

    std::printf("auth matrix: %zu rows asserted (%zu endpoints, %zu permission sets, %zu token "
                "kinds, %zu cache states), each with its status and the cache's state after it;",
                rows.size(), endpoints().size(), all_permission_sets.size(),
                std::size(all_token_kinds), std::size(all_cache_states));
    for (auto [status, n] : by_status)
        std::printf(" %d: %zu", status, n);
    std::printf("\n");
    std::fflush(stdout);
    INFO(mismatches.size() << " of " << rows.size() << " rows disagree with the rules");
    for (std::size_t i = 0; i < std::min<std::size_t>(mismatches.size(), 60); ++i)
        UNSCOPED_INFO(mismatches[i]);
    CHECK(mismatches.empty());
    CHECK(state_checks == rows.size());
}

namespace {

struct SocketAnswer {
    bool continued = false; // "100 Continue" came before the final answer
    int status = 0;
};

// One request over a connection of its own, as curl (Nix's uploader) sends
// it: with a body, Content-Length and Expect: 100-continue, the body only
// after a 100 Continue.
SocketAnswer over_socket(std::uint16_t port, Verb method, const RequestSpec& spec,
                         const std::string& authorization) {
    lab::http::test::RawClient client(port);
    std::string head = std::string(boost::beast::http::to_string(method)) + " " + spec.target +
                       " HTTP/1.1\r\nHost: lab.test\r\n";
    if (!authorization.empty())
        head += "Authorization: " + authorization + "\r\n";
    for (const auto& [name, value] : spec.headers)
        head += name + ": " + value + "\r\n";
    const bool has_body = method == Verb::put || method == Verb::post || method == Verb::patch;
    if (has_body)
        head +=
            "Content-Length: " + std::to_string(spec.body.size()) + "\r\nExpect: 100-continue\r\n";
    REQUIRE(client.send(head + "\r\n"));
    SocketAnswer answer;
    auto first = client.read_response(method == Verb::head);
    REQUIRE(first);
    if (first->status == 100) {
        answer.continued = true;
        REQUIRE(client.send(spec.body));
        first = client.read_response(method == Verb::head);
        REQUIRE(first);
    }
    answer.status = first->status;
    return answer;
}

const Endpoint& endpoint_named(std::string_view label) {
    for (const auto& endpoint : endpoints())
        if (endpoint.label == label)
            return endpoint;
    FAIL("no endpoint " << label);
    throw std::logic_error("unreachable");
}

} // namespace

TEST_CASE("auth matrix: over a real socket, Expect 100-continue only after the auth check",
          "[authmatrix]") {
    using P = Permission;
    struct Case {
        std::string_view endpoint;
        PermissionSet permissions;
        TokenKind kind;
        CacheState cache_state;
        // The refusal needs the body: the cache it names (get-missing-paths,
        // upload-path with the info in a preamble; only when a verified token
        // came, else it is 401 at once), or the retention change it asks for
        // (cq is checked once cr passed).
        bool body_first = false;
    };
    const auto nar = "PUT nar (Nix's upload URL)";
    const auto priv = CacheState::private_cache;
    const auto pub = CacheState::public_cache;
    using K = TokenKind;
    const std::vector<Case> cases = {
        {nar, {}, K::none, priv},
        {nar, {}, K::none, pub},
        {nar, {P::push}, K::expired, priv},
        {nar, {P::push}, K::bad_signature, priv},
        {nar, {P::push}, K::revoked_subject, priv},
        {nar, {P::push}, K::revoked_id, pub},
        {nar, {P::push}, K::unmatched_pattern, priv},
        {nar, {P::pull}, K::basic, priv},
        {nar, {P::push}, K::basic, CacheState::absent},
        {nar, {P::push}, K::basic, priv},
        {"PUT narinfo", {P::pull}, K::bearer, pub},
        {"PUT narinfo", {P::push}, K::basic, priv},
        {"PUT upload-path", {}, K::none, pub},
        {"PUT upload-path", {P::configure_cache}, K::bearer, priv},
        {"PUT upload-path", {P::push}, K::alg_none, priv},
        {"PUT upload-path", {P::push}, K::bearer, priv},
        {"PUT upload-path (info in a preamble)", {}, K::none, priv},
        {"PUT upload-path (info in a preamble)", {P::push}, K::expired, priv},
        {"PUT upload-path (info in a preamble)", {P::push}, K::bearer, priv},
        {"PATCH cache-config (retention)", {P::configure_cache_retention}, K::bearer, priv},
        {"PATCH cache-config (retention)", {P::configure_cache}, K::bearer, priv, true},
        {"POST get-missing-paths", {}, K::none, priv},
        {"POST get-missing-paths", {P::push}, K::bad_signature, pub},
        {"POST get-missing-paths", {P::pull}, K::bearer, priv, true},
        {"DELETE cache-config", {P::destroy_cache}, K::not_yet_valid, priv},
        {"GET narinfo", {}, K::none, priv},
        {"GET narinfo", {}, K::none, pub},
        {"GET narinfo", {P::pull}, K::basic, priv},
        {"HEAD nar", {P::push}, K::bearer, priv},
    };
    TokenMint mint;
    std::vector<Row> rows;
    int fresh = 0;
    for (const auto& c : cases) {
        const auto& endpoint = endpoint_named(c.endpoint);
        auto cache =
            endpoint.own_cache ? "s" + std::to_string(++fresh) : shared_cache(c.cache_state);
        rows.push_back(Row{&endpoint, c.permissions, c.kind, c.cache_state, cache,
                           mint.authorization(c.kind, cache, c.permissions),
                           expected(endpoint, c.permissions, c.kind, c.cache_state)});
    }
    const auto admin = mint.admin();
    LabFixture f(auth_toml(mint.revoked_ids));
    lab::http::Workers workers(1);
    Paths paths;
    set_up_shared(f, workers, paths, admin);
    lab::http::test::TestServer server{f.router};

    std::size_t continued = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& row = rows[i];
        INFO(row.describe() << ", expected " << row.expected);
        set_up_own(f, workers, paths, row, admin);
        auto spec = row.endpoint->request(paths, row.cache);
        auto before = snapshot(f, paths, row.cache);
        auto answer = over_socket(server.port(), row.endpoint->method, spec, row.authorization);
        CHECK(answer.status == row.expected);
        auto after = snapshot(f, paths, row.cache);
        const bool has_body = !spec.body.empty();
        if (is_success(row.expected)) {
            // Accepted: the server asked for the body, and got it.
            CHECK(answer.continued == has_body);
            CHECK(missing_effect(row.endpoint->effect, before, after).empty());
        } else {
            // Refused: the final answer came first, no body was asked for
            // (unless the refusal needs it), and nothing changed.
            CHECK(answer.continued == cases[i].body_first);
            CHECK(after == before);
        }
        continued += answer.continued ? 1 : 0;
    }
    std::printf("auth matrix over a socket: %zu rows, %zu answered 100 Continue\n", rows.size(),
                continued);
    std::fflush(stdout);
}
