// Whole-bucket queries: totals for metrics, and the sync plan (what the edge
// caches reach, read in one snapshot). Template definitions of SqlMetadataStore
// (sql_metadata_store.hpp), included only by sql_metadata_store_impl.hpp.
#pragma once

#include "metadata/sql_metadata_store.hpp"
#include "metadata/sql_rows.hpp"
#include "nixedge/bucket_layout.hpp"

namespace nixedge::lab {

using namespace sql_rows;

namespace {

// Paths of caches on the edge (public and edge-enabled), in publish order.
constexpr const char* edge_paths = "SELECT p.manifest_hash, c.name, p.store_hash FROM paths p "
                                   "JOIN caches c ON c.id = p.cache_id "
                                   "WHERE c.is_public AND c.edge_enabled";

Result<void> add_hash_keys(auto& c, const std::string& sql,
                           std::string (*key_of)(const Sha256Digest&),
                           std::vector<std::string>& keys) {
    auto q = c.query(sql);
    auto hashes = all_texts(q);
    if (!hashes)
        return hashes.error();
    for (const auto& text : *hashes) {
        auto digest = digest_from_hex(text);
        if (!digest)
            return digest.error();
        keys.push_back(key_of(*digest));
    }
    return {};
}

Result<void> add_cache_keys(auto& c, std::vector<std::string>& keys) {
    auto q = c.query("SELECT name FROM caches WHERE is_public AND edge_enabled "
                     "ORDER BY name");
    auto names = all_texts(q);
    if (!names)
        return names.error();
    for (const auto& name : *names)
        keys.push_back(bucket_key::nix_cache_info(name));
    return {};
}

Result<void> add_path_keys(auto& c, std::vector<std::string>& keys) {
    auto q = c.query("SELECT c.name, p.store_hash, l.manifest_hash IS NOT NULL FROM paths p "
                     "JOIN caches c ON c.id = p.cache_id "
                     "LEFT JOIN nar_listings l ON l.manifest_hash = p.manifest_hash "
                     "WHERE c.is_public AND c.edge_enabled ORDER BY p.id");
    for (;;) {
        auto row = q.step();
        if (!row)
            return row.error();
        if (!*row)
            return {};
        auto cache = q.text(0);
        auto store_hash = q.text(1);
        keys.push_back(bucket_key::narinfo(cache, store_hash));
        if (q.boolean(2))
            keys.push_back(bucket_key::listing(cache, store_hash));
    }
}

} // namespace

template <class Pool> Result<StorageTotals> SqlMetadataStore<Pool>::storage_totals() {
    return pool_.read([&](auto& c) -> Result<StorageTotals> {
        auto q = c.query("SELECT count(*), coalesce(sum(stored_size), 0), "
                         "coalesce(sum(raw_size), 0), (SELECT count(*) FROM nars), "
                         "(SELECT count(*) FROM paths) FROM chunks WHERE state = 'stored'");
        auto row = q.step();
        if (!row)
            return row.error();
        return StorageTotals{q.uint64(0), q.uint64(1), q.uint64(2), q.uint64(3), q.uint64(4)};
    });
}

template <class Pool> Result<SyncPlan> SqlMetadataStore<Pool>::edge_plan() {
    const auto now = std::to_string(clock_());
    return pool_.read([&](auto& c) -> Result<SyncPlan> {
        SyncPlan plan;
        // The NARs of edge paths, and those of edge paths removed lately,
        // which an edge may still name in a cached narinfo (nars.edge_keep_until).
        auto edge_nars = std::string("SELECT e.manifest_hash FROM (") + edge_paths +
                         ") e UNION SELECT manifest_hash FROM nars WHERE edge_keep_until > " + now +
                         " AND deleting_since IS NULL";
        auto manifests =
            "SELECT DISTINCT n.manifest_hash FROM (" + edge_nars + ") n ORDER BY n.manifest_hash";
        auto chunks = "SELECT DISTINCT nc.chunk_hash FROM nar_chunks nc WHERE "
                      "nc.manifest_hash IN (" +
                      edge_nars + ") ORDER BY nc.chunk_hash";
        if (auto ok = add_hash_keys(c, chunks, bucket_key::chunk, plan.immutable_keys); !ok)
            return ok.error();
        if (auto ok = add_hash_keys(c, manifests, bucket_key::manifest, plan.immutable_keys); !ok)
            return ok.error();
        plan.mutable_keys.push_back(bucket_key::layout_marker());
        if (auto ok = add_cache_keys(c, plan.mutable_keys); !ok)
            return ok.error();
        if (auto ok = add_path_keys(c, plan.mutable_keys); !ok)
            return ok.error();
        return plan;
    });
}

} // namespace nixedge::lab
