#include "outbox/edge_objects.hpp"

#include "nixedge/bucket_layout.hpp"

namespace nixedge::lab {

namespace {

using Rendered = Result<std::optional<std::string>>;

// A cache's objects exist in the bucket only while it is on the edge.
Rendered render_cache_object(MetadataStore& metadata, const ObjectKeyInfo& info) {
    auto cache = metadata.get_cache(info.cache);
    if (!cache)
        return cache.error();
    if (!*cache || !on_edge((*cache)->settings))
        return std::optional<std::string>{};
    if (info.kind == ObjectKind::nix_cache_info)
        return std::optional<std::string>{nix_cache_info_text((*cache)->settings.priority)};
    if (info.kind == ObjectKind::narinfo)
        return metadata.narinfo(info.cache, info.store_hash);
    return metadata.listing(info.cache, info.store_hash);
}

} // namespace

Rendered render_edge_object(MetadataStore& metadata, std::string_view key) {
    auto info = parse_object_key(key);
    if (!info)
        return info.error();
    switch (info->kind) {
    case ObjectKind::layout_marker:
        return std::optional<std::string>{layout_marker_text()};
    case ObjectKind::sync_plan: {
        auto plan = metadata.edge_plan();
        if (!plan)
            return plan.error();
        return std::optional<std::string>{encode_sync_plan(*plan)};
    }
    case ObjectKind::nix_cache_info:
    case ObjectKind::narinfo:
    case ObjectKind::listing:
        return render_cache_object(metadata, *info);
    case ObjectKind::chunk:
    case ObjectKind::manifest:
    case ObjectKind::sync_status:
        break;
    }
    return make_error(ErrorCode::invalid_argument,
                      "'" + std::string(key) + "' is not rendered from the database");
}

} // namespace nixedge::lab
