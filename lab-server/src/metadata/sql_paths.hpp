// Published paths: the publish transaction and the queries of the read path.
// Template definitions of SqlMetadataStore (sql_metadata_store.hpp), included
// only by sql_metadata_store_impl.hpp.
#pragma once

#include "metadata/sql_metadata_store.hpp"
#include "metadata/sql_rows.hpp"
#include "nixedge/bucket_layout.hpp"

namespace nixedge::lab {

using namespace sql_rows;

namespace {

Error invalid(std::string detail) {
    return make_error(ErrorCode::invalid_argument, std::move(detail));
}

// What can be checked before taking the write lock.
Result<Sha256Digest> check_publishable(const NarInfo& info) {
    auto manifest_hash = parse_nar_url(info.url);
    if (!manifest_hash)
        return invalid("narinfo URL '" + info.url +
                       "' does not name a manifest: " + manifest_hash.error().detail);
    if (info.compression != "zstd")
        return invalid("narinfo compression must be zstd, not '" + info.compression + "'");
    if (info.signatures.empty())
        return invalid("the narinfo is not signed");
    return manifest_hash;
}

Result<std::optional<std::string>> published_nar_hash(auto& c, std::int64_t cache_id,
                                                      std::string_view store_hash) {
    auto q = c.query("SELECT nar_hash FROM paths WHERE cache_id = ? AND store_hash = ?", cache_id,
                     store_hash);
    return single_text(q);
}

// The narinfo must describe the NAR its URL names.
Result<void> check_nar_matches(auto& c, const std::string& manifest_hash, const NarInfo& info) {
    auto q = c.query("SELECT nar_hash, nar_size, file_size FROM nars WHERE manifest_hash = ?",
                     manifest_hash);
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row)
        return make_error(ErrorCode::not_found, "no NAR with manifest " + manifest_hash);
    if (q.text(0) != hex(info.nar_hash.digest) || q.uint64(1) != info.nar_size)
        return invalid("NarHash or NarSize differ from the NAR's (" + q.text(0) + ", " +
                       std::to_string(q.uint64(1)) + " bytes)");
    if (info.file_size && *info.file_size != q.uint64(2))
        return invalid("FileSize differs from the NAR's stored size " +
                       std::to_string(q.uint64(2)));
    return {};
}

Result<bool> path_exists(auto& c, std::int64_t cache_id, std::string_view hash) {
    auto q = c.query("SELECT 1 FROM paths WHERE cache_id = ? AND store_hash = ?", cache_id, hash);
    return q.step();
}

// References other than the path itself that the cache has not published.
Result<std::vector<std::string>> missing_references(auto& c, std::int64_t cache_id,
                                                    const NarInfo& info) {
    std::vector<std::string> missing;
    for (const auto& reference : info.references) {
        if (reference.hash == info.store_path.hash)
            continue;
        auto exists = path_exists(c, cache_id, reference.hash);
        if (!exists)
            return exists.error();
        if (!*exists)
            missing.push_back(reference.base_name());
    }
    return missing;
}

// A closure must be complete in the cache, unless the cache says the rest
// comes from upstream.
Result<void> check_references(auto& c, const CacheRow& cache, const NarInfo& info) {
    if (cache.settings.allow_upstream_references)
        return {};
    auto missing = missing_references(c, cache.id, info);
    if (!missing)
        return missing.error();
    if (missing->empty())
        return {};
    auto more = missing->size() > 1 ? " and " + std::to_string(missing->size() - 1) + " more" : "";
    return invalid("references not in cache '" + cache.name +
                   "' (push them first): " + missing->front() + more);
}

std::optional<std::string> optional_text(const std::string& text) {
    return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

Result<void> insert_path(auto& c, std::int64_t cache_id, const NarInfo& info,
                         const std::string& manifest_hash, const std::string& text, UnixTime now) {
    std::optional<std::string> deriver;
    if (info.deriver)
        deriver = info.deriver->base_name();
    auto inserted = c.query(
        "INSERT INTO paths (cache_id, store_hash, store_path, manifest_hash, "
        "nar_hash, nar_size, deriver, ca, narinfo, pushed_at, last_accessed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        cache_id, info.store_path.hash, info.store_path.full(), manifest_hash,
        hex(info.nar_hash.digest), info.nar_size, deriver, optional_text(info.ca), text, now, now);
    auto row = inserted.step();
    if (!row)
        return row.error();
    const auto path_id = inserted.int64(0);
    for (const auto& reference : info.references)
        if (auto ok = c.run("INSERT INTO path_references (path_id, reference_hash, reference) "
                            "VALUES (?, ?, ?)",
                            path_id, reference.hash, reference.base_name());
            !ok)
            return ok;
    return {};
}

// The staged upload's NAR may be left unused (a re-push of a path published
// with a NAR of other chunks).
Result<void> consume_staged(auto& c, std::int64_t cache_id, std::optional<std::string_view> url,
                            UnixTime now) {
    if (!url)
        return {};
    auto q = c.query("SELECT manifest_hash FROM staged_uploads WHERE cache_id = ? AND url = ?",
                     cache_id, *url);
    auto manifest = single_text(q);
    if (!manifest)
        return manifest.error();
    if (!*manifest)
        return {};
    if (auto ok =
            c.run("DELETE FROM staged_uploads WHERE cache_id = ? AND url = ?", cache_id, *url);
        !ok)
        return ok;
    return mark_nar_if_unused(c, **manifest, now);
}

Result<void> enqueue_publication(auto& c, const CacheRow& cache, std::string_view store_hash,
                                 UnixTime now) {
    if (!on_edge(cache.settings))
        return {};
    if (auto ok = enqueue_path_objects(c, cache, store_hash, OutboxOp::regenerate, now); !ok)
        return ok;
    return enqueue_sync_plan(c, now);
}

Result<std::vector<StorePath>> load_references(auto& c, std::int64_t path_id) {
    std::vector<StorePath> references;
    auto q = c.query("SELECT reference FROM path_references WHERE path_id = ? ORDER BY reference",
                     path_id);
    while (true) {
        auto next = q.step();
        if (!next)
            return next.error();
        if (!*next)
            return references;
        auto reference = parse_store_base_name(q.text(0));
        if (!reference)
            return reference.error();
        references.push_back(std::move(reference).value());
    }
}

// Columns 0..11 of the paths query below, into a record (references aside).
Result<PathRecord> read_path_row(const auto& q, std::string_view cache) {
    PathRecord path;
    path.cache = std::string(cache);
    auto store_path = parse_store_path(q.text(1));
    auto manifest_hash = digest_from_hex(q.text(2));
    auto nar_hash = digest_from_hex(q.text(3));
    if (!store_path)
        return store_path.error();
    if (!manifest_hash || !nar_hash)
        return manifest_hash ? nar_hash.error() : manifest_hash.error();
    path.store_path = std::move(store_path).value();
    path.manifest_hash = *manifest_hash;
    path.nar_hash = *nar_hash;
    path.nar_size = q.uint64(4);
    if (!q.is_null(5)) {
        auto deriver = parse_store_base_name(q.text(5));
        if (!deriver)
            return deriver.error();
        path.deriver = std::move(deriver).value();
    }
    path.ca = q.text(6);
    path.narinfo = q.text(7);
    path.pushed_at = q.int64(8);
    path.last_accessed_at = q.int64(9);
    path.pinned = q.boolean(10);
    return path;
}

} // namespace

template <class Pool>
Result<PublishOutcome>
SqlMetadataStore<Pool>::publish_path(std::string_view cache, const NarInfo& info,
                                     std::optional<std::string_view> staged_url) {
    auto manifest_digest = check_publishable(info);
    if (!manifest_digest)
        return manifest_digest.error();
    const auto manifest_hash = hex(*manifest_digest);
    const auto text = serialize_narinfo(info);
    const auto now = clock_();
    bool was_unused = false;
    auto outcome = pool_.write([&](auto& c) -> Result<PublishOutcome> {
        auto row = require_cache(c, cache);
        if (!row)
            return row.error();
        auto published = published_nar_hash(c, row->id, info.store_path.hash);
        if (!published)
            return published.error();
        if (*published) {
            // Immutable: the same content again is a no-op that still
            // consumes its staged upload; other content is refused.
            if (**published != hex(info.nar_hash.digest))
                return make_error(ErrorCode::conflict,
                                  info.store_path.full() + " is published with another NarHash");
            if (auto ok = consume_staged(c, row->id, staged_url, now); !ok)
                return ok.error();
            return PublishOutcome::unchanged;
        }
        if (auto ok = check_nar_matches(c, manifest_hash, info); !ok)
            return ok.error();
        if (auto ok = check_references(c, *row, info); !ok)
            return ok.error();
        auto unused = require_usable_nar(c, manifest_hash);
        if (!unused)
            return unused.error();
        was_unused = *unused;
        if (auto ok = insert_path(c, row->id, info, manifest_hash, text, now); !ok)
            return ok.error();
        if (auto ok = consume_staged(c, row->id, staged_url, now); !ok)
            return ok.error();
        if (auto ok = enqueue_publication(c, *row, info.store_path.hash, now); !ok)
            return ok.error();
        return PublishOutcome::published;
    });
    if (outcome && *outcome == PublishOutcome::published && was_unused)
        note_nar_used(manifest_hash);
    return outcome;
}

template <class Pool>
Result<std::optional<PathRecord>> SqlMetadataStore<Pool>::get_path(std::string_view cache,
                                                                   std::string_view store_hash) {
    return pool_.read([&](auto& c) -> Result<std::optional<PathRecord>> {
        auto q = c.query("SELECT p.id, p.store_path, p.manifest_hash, p.nar_hash, p.nar_size, "
                         "p.deriver, p.ca, p.narinfo, p.pushed_at, p.last_accessed_at, p.pinned "
                         "FROM paths p JOIN caches c ON c.id = p.cache_id "
                         "WHERE c.name = ? AND p.store_hash = ?",
                         cache, store_hash);
        auto row = q.step();
        if (!row)
            return row.error();
        if (!*row)
            return std::optional<PathRecord>();
        auto path = read_path_row(q, cache);
        if (!path)
            return path.error();
        auto references = load_references(c, q.int64(0));
        if (!references)
            return references.error();
        path->references = std::move(references).value();
        return std::optional<PathRecord>(std::move(path).value());
    });
}

template <class Pool>
Result<std::optional<std::string>> SqlMetadataStore<Pool>::narinfo(std::string_view cache,
                                                                   std::string_view store_hash) {
    return pool_.read([&](auto& c) {
        auto q = c.query("SELECT p.narinfo FROM paths p JOIN caches c ON c.id = p.cache_id "
                         "WHERE c.name = ? AND p.store_hash = ?",
                         cache, store_hash);
        return single_text(q);
    });
}

template <class Pool>
Result<std::optional<std::string>> SqlMetadataStore<Pool>::listing(std::string_view cache,
                                                                   std::string_view store_hash) {
    return pool_.read([&](auto& c) {
        auto q = c.query("SELECT l.listing FROM paths p JOIN caches c ON c.id = p.cache_id "
                         "JOIN nar_listings l ON l.manifest_hash = p.manifest_hash "
                         "WHERE c.name = ? AND p.store_hash = ?",
                         cache, store_hash);
        return single_text(q);
    });
}

template <class Pool>
Result<bool> SqlMetadataStore<Pool>::cache_has_manifest(std::string_view cache,
                                                        const Sha256Digest& manifest_hash) {
    return pool_.read([&](auto& c) {
        auto q = c.query("SELECT 1 FROM paths p JOIN caches c ON c.id = p.cache_id "
                         "WHERE c.name = ? AND p.manifest_hash = ? LIMIT 1",
                         cache, hex(manifest_hash));
        return q.step();
    });
}

template <class Pool>
Result<std::vector<std::string>>
SqlMetadataStore<Pool>::missing_paths(std::string_view cache,
                                      std::span<const std::string> store_hashes) {
    return pool_.read([&](auto& c) -> Result<std::vector<std::string>> {
        auto row = require_cache(c, cache);
        if (!row)
            return row.error();
        std::vector<std::string> missing;
        for (const auto& hash : store_hashes) {
            auto exists = path_exists(c, row->id, hash);
            if (!exists)
                return exists.error();
            if (!*exists)
                missing.push_back(hash);
        }
        return missing;
    });
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::set_pinned(std::string_view cache, std::string_view store_hash,
                                                bool pinned) {
    return pool_.write([&](auto& c) -> Result<void> {
        auto row = require_cache(c, cache);
        if (!row)
            return row.error();
        auto updated = c.run("UPDATE paths SET pinned = ? WHERE cache_id = ? AND store_hash = ?",
                             pinned, row->id, store_hash);
        if (!updated)
            return updated;
        if (c.changes() == 0)
            return make_error(ErrorCode::not_found, "no path " + std::string(store_hash) +
                                                        " in cache '" + std::string(cache) + "'");
        return {};
    });
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::record_access(std::string_view cache,
                                                   std::span<const std::string> store_hashes,
                                                   UnixTime at) {
    return pool_.write([&](auto& c) -> Result<void> {
        auto row = require_cache(c, cache);
        if (!row)
            return row.error();
        // A path removed since it was read is skipped, not an error.
        for (const auto& hash : store_hashes)
            // Only forward; no max()/GREATEST, which the dialects spell apart.
            if (auto ok = c.run("UPDATE paths SET last_accessed_at = ? "
                                "WHERE cache_id = ? AND store_hash = ? AND last_accessed_at < ?",
                                at, row->id, hash, at);
                !ok)
                return ok;
        return {};
    });
}

} // namespace nixedge::lab
