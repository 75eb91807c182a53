#include "routes/access.hpp"

#include "auth/authorization.hpp"
#include "nixedge/bucket_layout.hpp"

namespace nixedge::lab {

namespace {

// The permissions the request's token grants on the cache (none without one).
Result<Permissions> token_permissions(LabContext& context, http::Request& request,
                                      const std::optional<std::string>& token,
                                      std::string_view cache_name) {
    if (!token)
        return Permissions{};
    if (!context.tokens)
        return make_error(ErrorCode::unauthorized,
                          "this server accepts no tokens (no token secret is configured)");
    auto verified = context.tokens->verify(*token);
    if (!verified)
        return verified.error();
    request.set_subject(verified->claims.subject.value_or("token:" + verified->id.substr(0, 12)));
    return verified->claims.permissions_for(cache_name);
}

} // namespace

Result<Cache> authorize(LabContext& context, http::Request& request, std::string_view cache_name,
                        Permission permission) {
    auto token = token_from_authorization(request.header("Authorization"));
    auto permissions = token_permissions(context, request, token, cache_name);
    if (!permissions)
        return permissions.error();
    std::optional<Cache> cache;
    if (validate_cache_name(cache_name)) {
        auto found = context.caches->find(std::string(cache_name));
        if (!found)
            return found.error();
        cache = std::move(*found);
    }
    if (cache && cache->settings.is_public)
        permissions->grant(Permission::pull);
    if (!permissions->can_discover())
        return make_error(ErrorCode::unauthorized, "authentication required");
    if (!cache)
        return make_error(ErrorCode::not_found, "no cache named '" + std::string(cache_name) + "'");
    // Anonymous callers are asked to authenticate rather than told "never".
    if (!permissions->has(permission) && !token)
        return make_error(ErrorCode::unauthorized, "authentication required");
    if (!permissions->has(permission))
        return make_error(ErrorCode::forbidden, "the token does not allow " +
                                                    std::string(claim_letter(permission)) +
                                                    " on cache '" + cache->name + "'");
    return std::move(*cache);
}

Result<void> authenticate(LabContext& context, http::Request& request) {
    auto token = token_from_authorization(request.header("Authorization"));
    if (!token)
        return make_error(ErrorCode::unauthorized, "authentication required");
    if (auto verified = token_permissions(context, request, token, {}); !verified)
        return verified.error();
    return {};
}

Result<void> authorize_creation(LabContext& context, http::Request& request,
                                std::string_view cache_name) {
    auto token = token_from_authorization(request.header("Authorization"));
    if (!token)
        return make_error(ErrorCode::unauthorized, "authentication required");
    auto permissions = token_permissions(context, request, token, cache_name);
    if (!permissions)
        return permissions.error();
    if (!permissions->has(Permission::create_cache))
        return make_error(ErrorCode::forbidden,
                          "the token does not allow " +
                              std::string(claim_letter(Permission::create_cache)) + " on cache '" +
                              std::string(cache_name) + "'");
    return {};
}

} // namespace nixedge::lab
