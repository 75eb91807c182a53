// Caches and their keys. Template definitions of SqlMetadataStore
// (sql_metadata_store.hpp), included only by sql_metadata_store_impl.hpp.
#pragma once

#include "metadata/sql_metadata_store.hpp"
#include "metadata/sql_rows.hpp"
#include "nixedge/bucket_layout.hpp"

#include <algorithm>

namespace nixedge::lab {

using namespace sql_rows;

namespace {

Result<void> validate_settings(const CacheSettings& s) {
    if (s.priority < 0)
        return make_error(ErrorCode::invalid_argument, "priority must not be negative");
    if (s.retention_seconds < 0)
        return make_error(ErrorCode::invalid_argument, "retention must not be negative");
    for (const auto& name : s.upstream_key_names)
        if (auto ok = validate_key_name(name); !ok)
            return ok;
    return {};
}

// Rejects a key whose parts do not belong together, as if it had been parsed.
Result<void> validate_secret_key(const SecretKey& key) {
    auto parsed = parse_secret_key(key.to_string());
    if (!parsed)
        return parsed.error();
    return {};
}

std::string join_names(const std::vector<std::string>& names) {
    std::string joined;
    for (const auto& name : names)
        joined += (joined.empty() ? "" : " ") + name;
    return joined;
}

CacheSettings apply_update(CacheSettings s, const CacheSettingsUpdate& u) {
    s.is_public = u.is_public.value_or(s.is_public);
    s.edge_enabled = u.edge_enabled.value_or(s.edge_enabled);
    s.priority = u.priority.value_or(s.priority);
    s.retention_seconds = u.retention_seconds.value_or(s.retention_seconds);
    s.allow_upstream_references = u.allow_upstream_references.value_or(s.allow_upstream_references);
    if (u.upstream_key_names)
        s.upstream_key_names = *u.upstream_key_names;
    return s;
}

Result<void> insert_key(auto& c, std::int64_t cache_id, const SecretKey& key, KeyState state,
                        UnixTime now) {
    auto q =
        c.query("SELECT 1 FROM cache_keys WHERE cache_id = ? AND key_name = ?", cache_id, key.name);
    auto exists = q.step();
    if (!exists)
        return exists.error();
    if (*exists)
        return make_error(ErrorCode::conflict, "the cache already has a key '" + key.name + "'");
    return c.run("INSERT INTO cache_keys "
                 "(cache_id, key_name, secret_key, public_key, state, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 cache_id, key.name, key.to_string(), key.public_key().to_string(), to_db(state),
                 now);
}

// A cache must always be able to sign with an advertised key.
Result<void> require_active_key(auto& c, std::int64_t cache_id) {
    auto q = c.query("SELECT count(*) FROM cache_keys WHERE cache_id = ? AND state = 'active'",
                     cache_id);
    auto row = q.step();
    if (!row)
        return row.error();
    if (q.int64(0) == 0)
        return make_error(ErrorCode::conflict, "a cache must keep at least one active key");
    return {};
}

// The outbox entries a settings change needs: everything when the cache
// joins or leaves the edge, nix-cache-info when its priority changes there.
Result<void> enqueue_settings_change(auto& c, const CacheRow& before, const CacheRow& after,
                                     UnixTime now) {
    bool was = on_edge(before.settings), is = on_edge(after.settings);
    if (was != is) {
        auto op = is ? OutboxOp::regenerate : OutboxOp::remove;
        if (auto ok = enqueue_cache_objects(c, after, op, now); !ok)
            return ok;
        return enqueue_sync_plan(c, now);
    }
    if (is && before.settings.priority != after.settings.priority)
        if (auto ok =
                enqueue(c, OutboxOp::regenerate, bucket_key::nix_cache_info(after.name), {}, now);
            !ok)
            return ok.error();
    return {};
}

} // namespace

template <class Pool>
Result<Cache> SqlMetadataStore<Pool>::create_cache(std::string_view name,
                                                   const CacheSettings& settings,
                                                   const SecretKey& key) {
    if (auto ok = validate_cache_name(name); !ok)
        return ok.error();
    if (auto ok = validate_settings(settings); !ok)
        return ok.error();
    if (auto ok = validate_secret_key(key); !ok)
        return ok.error();
    const auto now = clock_();
    return pool_.write([&](auto& c) -> Result<Cache> {
        auto existing = find_cache(c, name);
        if (!existing)
            return existing.error();
        if (*existing)
            return make_error(ErrorCode::conflict, "cache '" + std::string(name) + "' exists");
        auto inserted = c.query("INSERT INTO caches (name, is_public, edge_enabled, priority, "
                                "retention_seconds, allow_upstream_references, "
                                "upstream_key_names, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                                "RETURNING id",
                                name, settings.is_public, settings.edge_enabled, settings.priority,
                                settings.retention_seconds, settings.allow_upstream_references,
                                join_names(settings.upstream_key_names), now);
        auto id = inserted.step();
        if (!id)
            return id.error();
        CacheRow row{inserted.int64(0), std::string(name), settings, now};
        if (auto ok = insert_key(c, row.id, key, KeyState::active, now); !ok)
            return ok.error();
        if (on_edge(settings)) {
            if (auto ok = sql_rows::enqueue(c, OutboxOp::regenerate,
                                            bucket_key::nix_cache_info(name), {}, now);
                !ok)
                return ok.error();
            if (auto ok = enqueue_sync_plan(c, now); !ok)
                return ok.error();
        }
        return load_cache(c, std::move(row));
    });
}

template <class Pool>
Result<std::optional<Cache>> SqlMetadataStore<Pool>::get_cache(std::string_view name) {
    return pool_.read([&](auto& c) -> Result<std::optional<Cache>> {
        auto row = find_cache(c, name);
        if (!row)
            return row.error();
        if (!*row)
            return std::optional<Cache>();
        auto cache = load_cache(c, std::move(**row));
        if (!cache)
            return cache.error();
        return std::optional<Cache>(std::move(cache).value());
    });
}

template <class Pool> Result<std::vector<Cache>> SqlMetadataStore<Pool>::list_caches() {
    return pool_.read([&](auto& c) -> Result<std::vector<Cache>> {
        auto q = c.query("SELECT name FROM caches ORDER BY name");
        auto names = all_texts(q);
        if (!names)
            return names.error();
        std::vector<Cache> caches;
        for (const auto& name : *names) {
            auto row = require_cache(c, name);
            if (!row)
                return row.error();
            auto cache = load_cache(c, std::move(row).value());
            if (!cache)
                return cache.error();
            caches.push_back(std::move(cache).value());
        }
        return caches;
    });
}

template <class Pool>
Result<Cache> SqlMetadataStore<Pool>::update_cache(std::string_view name,
                                                   const CacheSettingsUpdate& update) {
    const auto now = clock_();
    return pool_.write([&](auto& c) -> Result<Cache> {
        auto before = require_cache(c, name);
        if (!before)
            return before.error();
        CacheRow after = *before;
        after.settings = apply_update(before->settings, update);
        if (auto ok = validate_settings(after.settings); !ok)
            return ok.error();
        const auto& s = after.settings;
        auto updated =
            c.run("UPDATE caches SET is_public = ?, edge_enabled = ?, priority = ?, "
                  "retention_seconds = ?, allow_upstream_references = ?, "
                  "upstream_key_names = ? WHERE id = ?",
                  s.is_public, s.edge_enabled, s.priority, s.retention_seconds,
                  s.allow_upstream_references, join_names(s.upstream_key_names), after.id);
        if (!updated)
            return updated.error();
        if (auto ok = enqueue_settings_change(c, *before, after, now); !ok)
            return ok.error();
        return load_cache(c, std::move(after));
    });
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::destroy_cache(std::string_view name,
                                                   UnixTime edge_keep_until) {
    const auto now = clock_();
    return pool_.write([&](auto& c) -> Result<void> {
        auto row = require_cache(c, name);
        if (!row)
            return row.error();
        if (on_edge(row->settings)) {
            if (auto ok = enqueue_cache_objects(c, *row, OutboxOp::remove, now); !ok)
                return ok;
            if (auto ok = enqueue_sync_plan(c, now); !ok)
                return ok;
        }
        auto q = c.query("SELECT manifest_hash FROM paths WHERE cache_id = ? UNION "
                         "SELECT manifest_hash FROM staged_uploads WHERE cache_id = ?",
                         row->id, row->id);
        auto manifests = all_texts(q);
        if (!manifests)
            return manifests.error();
        // Cascades to keys, paths (and their references) and staged uploads.
        if (auto ok = c.run("DELETE FROM caches WHERE id = ?", row->id); !ok)
            return ok;
        // Their NARs stay for GC; a public cache's stay on the edge until
        // it drops its cached narinfos, like GC's own removals.
        for (const auto& manifest : *manifests) {
            if (on_edge(row->settings) && edge_keep_until > now)
                if (auto ok = keep_nar_on_edge(c, manifest, edge_keep_until); !ok)
                    return ok;
            if (auto ok = mark_nar_if_unused(c, manifest, now); !ok)
                return ok;
        }
        return Result<void>{};
    });
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::add_cache_key(std::string_view cache, const SecretKey& key,
                                                   KeyState state) {
    if (auto ok = validate_secret_key(key); !ok)
        return ok;
    const auto now = clock_();
    return pool_.write([&](auto& c) -> Result<void> {
        auto row = require_cache(c, cache);
        if (!row)
            return row.error();
        return insert_key(c, row->id, key, state, now);
    });
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::set_cache_key_state(std::string_view cache,
                                                         std::string_view key_name,
                                                         KeyState state) {
    return pool_.write([&](auto& c) -> Result<void> {
        auto row = require_cache(c, cache);
        if (!row)
            return row.error();
        auto updated = c.run("UPDATE cache_keys SET state = ? WHERE cache_id = ? AND key_name = ?",
                             to_db(state), row->id, key_name);
        if (!updated)
            return updated;
        if (c.changes() == 0)
            return make_error(ErrorCode::not_found, "no key '" + std::string(key_name) + "'");
        return require_active_key(c, row->id);
    });
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::remove_cache_key(std::string_view cache,
                                                      std::string_view key_name) {
    return pool_.write([&](auto& c) -> Result<void> {
        auto row = require_cache(c, cache);
        if (!row)
            return row.error();
        auto removed =
            c.run("DELETE FROM cache_keys WHERE cache_id = ? AND key_name = ?", row->id, key_name);
        if (!removed)
            return removed;
        if (c.changes() == 0)
            return make_error(ErrorCode::not_found, "no key '" + std::string(key_name) + "'");
        return require_active_key(c, row->id);
    });
}

} // namespace nixedge::lab
