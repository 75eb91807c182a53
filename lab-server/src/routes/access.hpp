// Who may do what to a cache, for every route: the token from the
// Authorization header (Bearer, or the Basic-auth password that Nix sends from
// a netrc), Attic's claims, and the cache's public flag. As in Attic:
//   - a token that does not verify: 401, whatever the cache;
//   - no permission at all on the cache (public read counts): 401, whether or
//     not the cache exists, so a private cache's existence is not revealed;
//   - some permission, but the cache does not exist: 404;
//   - some permission, but not the one needed: 403 (401 without a token, so
//     an anonymous reader of a public cache is asked to authenticate to push).
#pragma once

#include "auth/permissions.hpp"
#include "http/message.hpp"
#include "routes/lab_context.hpp"

namespace nixedge::lab {

// The cache, if the request may do `permission` to it. Errors: unauthorized,
// forbidden, not_found, token_* (all answered by http::error_response).
// Records the token's subject on the request for the access log.
Result<Cache> authorize(LabContext& context, http::Request& request, std::string_view cache_name,
                        Permission permission);

// For a request that names its cache only in its body (Attic's push
// endpoints): without a token, or with one that does not verify, it is
// unauthorized whatever the cache, so this answers before the body is read.
// authorize() still decides once the body names the cache.
Result<void> authenticate(LabContext& context, http::Request& request);

// Whether the request may create a cache of that name (which need not exist,
// and whose existence is not looked at): unauthorized without a token or
// with a bad one, forbidden without the cc permission.
Result<void> authorize_creation(LabContext& context, http::Request& request,
                                std::string_view cache_name);

} // namespace nixedge::lab
