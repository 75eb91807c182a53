// Attic's cache administration (server/src/api/v1/cache_config.rs in Attic),
// so `attic cache create|info|configure|destroy` and `nixedge cache ...` work:
//
//   GET    /_api/v1/cache-config/{cache}   (and /{cache}/attic-cache-info)  pull
//   POST   /_api/v1/cache-config/{cache}   create                           cc
//   PATCH  /_api/v1/cache-config/{cache}   configure                        cr (+ cq for retention)
//   DELETE /_api/v1/cache-config/{cache}   destroy                          cd
//
// Where nixedge differs from atticd, the difference keeps data safe: a new
// keypair is a rotation (the old keys keep signing until removed), a cache
// keeps /nix/store as its store directory, and a destroyed edge cache's NARs
// stay in the sync plan for the GC grace period, as with `cache destroy`.
#include "routes/access.hpp"
#include "routes/lab_routes.hpp"

#include "attic/api_types.hpp"
#include "http/errors.hpp"
#include "http/workers.hpp"
#include "nixedge/bucket_layout.hpp"

#include <algorithm>
#include <limits>

namespace nixedge::lab {

namespace {

constexpr std::uint64_t max_config_bytes = 64 * 1024;

// Attic's api_endpoint: the configured public URL, else what the client used
// (the scheme an ingress that terminates TLS says it was, in X-Forwarded-Proto).
std::string api_endpoint(const LabContext& context, const http::Request& req) {
    const auto& configured = context.lab.config.server.public_url;
    if (!configured.empty())
        return configured;
    std::string scheme = req.header("X-Forwarded-Proto") == "https" ? "https://" : "http://";
    auto host = req.header("Host");
    if (host.empty())
        return scheme + context.lab.config.server.listen.to_string() + "/";
    return scheme + std::string(host) + "/";
}

attic::CacheConfig cache_config(const LabContext& context, const http::Request& req,
                                const Cache& cache) {
    const auto& s = cache.settings;
    attic::CacheConfig config;
    config.api_endpoint = api_endpoint(context, req);
    config.substituter_endpoint = *config.api_endpoint + cache.name;
    for (const auto& key : cache.keys)
        if (key.state == KeyState::active && !config.public_key)
            config.public_key = key.public_key;
    config.is_public = s.is_public;
    config.store_dir = std::string(attic::default_store_dir);
    config.priority = static_cast<std::int32_t>(
        std::clamp<std::int64_t>(s.priority, 0, std::numeric_limits<std::int32_t>::max()));
    config.upstream_cache_key_names = s.upstream_key_names;
    // Attic's Period(0) means what a retention of 0 means here: never expire.
    config.retention_period = attic::RetentionPeriodConfig{
        false, static_cast<std::uint32_t>(std::clamp<std::int64_t>(
                   s.retention_seconds, 0, std::numeric_limits<std::uint32_t>::max()))};
    config.edge_enabled = s.edge_enabled;
    config.allow_upstream_references = s.allow_upstream_references;
    return config;
}

Result<void> check_store_dir(const std::optional<std::string>& store_dir) {
    if (!store_dir || *store_dir == attic::default_store_dir)
        return {};
    return make_error(ErrorCode::invalid_argument, "store_dir '" + *store_dir +
                                                       "' is not supported: caches serve " +
                                                       std::string(attic::default_store_dir));
}

Result<void> check_upstream_key_names(const std::vector<std::string>& names) {
    for (const auto& name : names)
        if (auto ok = validate_key_name(name); !ok)
            return make_error(ErrorCode::invalid_argument,
                              "upstream_cache_key_names: " + ok.error().detail);
    return {};
}

Result<std::int64_t> checked_priority(std::int32_t priority) {
    if (priority < 0)
        return make_error(ErrorCode::invalid_argument,
                          "priority " + std::to_string(priority) + " is negative");
    return priority;
}

// "<cache>-N" with the first N no key of the cache has.
std::string next_key_name(const Cache& cache) {
    for (int n = 1;; ++n) {
        auto name = cache.name + "-" + std::to_string(n);
        if (std::ranges::none_of(cache.keys, [&](const CacheKey& k) { return k.name == name; }))
            return name;
    }
}

Result<SecretKey> signing_key(const attic::KeypairConfig& keypair, std::string generated_name) {
    if (keypair.generate)
        return generate_signing_key(generated_name);
    auto key = parse_secret_key(keypair.secret_key);
    if (!key)
        return make_error(ErrorCode::invalid_argument, "keypair: " + key.error().detail);
    return key;
}

// A new keypair on an existing cache: the new key signs from now on, the old
// ones keep signing beside it (two Sig lines) so clients that trust only
// them keep working until they are removed.
Result<void> rotate_key(MetadataStore& metadata, const Cache& cache,
                        const attic::KeypairConfig& keypair) {
    auto key = signing_key(keypair, next_key_name(cache));
    if (!key)
        return key.error();
    for (const auto& existing : cache.keys)
        if (existing.name == key->name)
            return make_error(ErrorCode::invalid_argument,
                              "the cache already has a key named '" + key->name + "'");
    if (auto added = metadata.add_cache_key(cache.name, *key, KeyState::active); !added)
        return added;
    for (const auto& existing : cache.keys)
        if (existing.state == KeyState::active)
            if (auto ok =
                    metadata.set_cache_key_state(cache.name, existing.name, KeyState::retiring);
                !ok)
                return ok;
    return {};
}

// The cache's objects in the bucket follow its change before the answer.
Result<void> write_bucket_changes(LabContext& context, const std::string& cache) {
    context.caches->forget(cache);
    context.narinfos->clear();
    if (auto drained = context.drainer.drain(); !drained)
        return Error{drained.error().code,
                     "the change is saved, but the bucket could not be updated yet: " +
                         drained.error().detail};
    return {};
}

boost::asio::awaitable<Result<std::string>> read_json(http::Request& req) {
    co_return co_await req.body().read_all(max_config_bytes);
}

http::Response answer(const Result<void>& done) {
    if (!done)
        return http::error_response(done.error());
    return http::Response::empty(http::Status::ok);
}

// ---- handlers ----------------------------------------------------------------------

boost::asio::awaitable<http::Response> get_config(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::pull);
    if (!cache)
        co_return http::error_response(cache.error());
    co_return http::Response::json(http::Status::ok,
                                   attic::serialize(cache_config(context, req, *cache)));
}

Result<void> create(LabContext& context, const std::string& name,
                    const attic::CreateCacheRequest& request) {
    if (auto ok = validate_cache_name(name); !ok)
        return ok;
    if (auto ok = check_store_dir(request.store_dir); !ok)
        return ok;
    if (auto ok = check_upstream_key_names(request.upstream_cache_key_names); !ok)
        return ok;
    auto priority = checked_priority(request.priority);
    if (!priority)
        return priority.error();
    auto key = signing_key(request.keypair, default_key_name(name));
    if (!key)
        return key.error();
    auto settings = default_cache_settings(context.lab.config);
    settings.is_public = request.is_public;
    settings.priority = *priority;
    settings.upstream_key_names = request.upstream_cache_key_names;
    // Clients skip what upstream keys signed, so references to such paths
    // never arrive: a cache that names upstream keys must accept them.
    settings.allow_upstream_references = !request.upstream_cache_key_names.empty();
    auto created = context.lab.metadata->create_cache(name, settings, *key);
    if (!created) {
        if (created.error().code == ErrorCode::conflict)
            return make_error(ErrorCode::conflict, "cache '" + name + "' already exists");
        return created.error();
    }
    return write_bucket_changes(context, name);
}

boost::asio::awaitable<http::Response> create_cache(LabContext& context, http::Request& req) {
    const std::string name(req.param("cache"));
    if (auto allowed = authorize_creation(context, req, name); !allowed)
        co_return http::error_response(allowed.error());
    auto body = co_await read_json(req);
    if (!body)
        co_return http::error_response(body.error());
    auto request = attic::parse_create_cache_request(*body);
    if (!request)
        co_return http::error_response(request.error());
    auto done = co_await req.workers().run([&] { return create(context, name, *request); });
    // Attic answers 400 CacheAlreadyExists; its client shows error and message.
    if (!done && done.error().code == ErrorCode::conflict)
        co_return http::problem_response(http::Problem::cache_already_exists, done.error().detail);
    co_return answer(done);
}

Result<CacheSettingsUpdate> settings_update(const LabContext& context,
                                            const attic::CacheConfig& config) {
    CacheSettingsUpdate update;
    if (auto ok = check_store_dir(config.store_dir); !ok)
        return ok.error();
    update.is_public = config.is_public;
    update.edge_enabled = config.edge_enabled;
    update.allow_upstream_references = config.allow_upstream_references;
    if (config.priority) {
        auto priority = checked_priority(*config.priority);
        if (!priority)
            return priority.error();
        update.priority = *priority;
    }
    if (config.upstream_cache_key_names) {
        if (auto ok = check_upstream_key_names(*config.upstream_cache_key_names); !ok)
            return ok.error();
        update.upstream_key_names = config.upstream_cache_key_names;
    }
    if (config.retention_period)
        update.retention_seconds = config.retention_period->global
                                       ? context.lab.config.caches.default_retention.count()
                                       : std::int64_t{config.retention_period->seconds};
    return update;
}

bool changes_anything(const CacheSettingsUpdate& u, const attic::CacheConfig& config) {
    return u.is_public || u.edge_enabled || u.priority || u.retention_seconds ||
           u.allow_upstream_references || u.upstream_key_names || config.keypair ||
           config.store_dir;
}

Result<void> configure(LabContext& context, const Cache& cache, const attic::CacheConfig& config,
                       const CacheSettingsUpdate& update) {
    auto& metadata = *context.lab.metadata;
    if (config.keypair)
        if (auto ok = rotate_key(metadata, cache, *config.keypair); !ok)
            return ok;
    if (auto updated = metadata.update_cache(cache.name, update); !updated)
        return updated.error();
    return write_bucket_changes(context, cache.name);
}

boost::asio::awaitable<http::Response> configure_cache(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::configure_cache);
    if (!cache)
        co_return http::error_response(cache.error());
    auto body = co_await read_json(req);
    if (!body)
        co_return http::error_response(body.error());
    auto config = attic::parse_cache_config(*body);
    if (!config)
        co_return http::error_response(config.error());
    auto update = settings_update(context, *config);
    if (!update)
        co_return http::error_response(update.error());
    if (!changes_anything(*update, *config))
        co_return http::error_response(
            make_error(ErrorCode::invalid_argument, "no modifiable fields were set"));
    if (config->retention_period) {
        auto allowed = authorize(context, req, cache->name, Permission::configure_cache_retention);
        if (!allowed)
            co_return http::error_response(allowed.error());
    }
    co_return answer(
        co_await req.workers().run([&] { return configure(context, *cache, *config, *update); }));
}

boost::asio::awaitable<http::Response> destroy_cache(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::destroy_cache);
    if (!cache)
        co_return http::error_response(cache.error());
    co_return answer(co_await req.workers().run([&]() -> Result<void> {
        // An edge cache's NARs stay in the sync plan for the GC grace period
        // (an edge may still serve its narinfos), as for any removed path.
        const auto keep_until = system_clock_now() + context.lab.config.gc.orphan_grace.count();
        if (auto ok = context.lab.metadata->destroy_cache(cache->name, keep_until); !ok)
            return ok;
        return write_bucket_changes(context, cache->name);
    }));
}

} // namespace

Result<void> add_attic_cache_routes(http::Router& router, LabContext& context) {
    const http::RouteOptions small_body{.body_limit = max_config_bytes};
    auto route = [&context](auto handler) {
        return [&context, handler](http::Request& req) { return handler(context, req); };
    };
    for (auto [methods, pattern, name, handler] :
         {std::tuple{http::MethodSet{http::Verb::get}, "/_api/v1/cache-config/{cache}",
                     "attic-cache-config", route(get_config)},
          std::tuple{http::MethodSet{http::Verb::get}, "/{cache}/attic-cache-info",
                     "attic-cache-info", route(get_config)},
          std::tuple{http::MethodSet{http::Verb::post}, "/_api/v1/cache-config/{cache}",
                     "attic-cache-create", route(create_cache)},
          std::tuple{http::MethodSet{http::Verb::patch}, "/_api/v1/cache-config/{cache}",
                     "attic-cache-configure", route(configure_cache)},
          std::tuple{http::MethodSet{http::Verb::delete_}, "/_api/v1/cache-config/{cache}",
                     "attic-cache-destroy", route(destroy_cache)}})
        if (auto added = router.add(methods, pattern, name, handler, small_body); !added)
            return added;
    return {};
}

} // namespace nixedge::lab
