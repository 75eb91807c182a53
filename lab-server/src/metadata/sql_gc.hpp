// Garbage collection in the database: expired paths, and NARs and chunks
// unused for longer than the grace period, deleted in steps that the GC
// driver (app/gc.cpp) interleaves with the bucket deletions. Template
// definitions of SqlMetadataStore (sql_metadata_store.hpp), included only by
// sql_metadata_store_impl.hpp.
//
// Every step finds its rows through an index (paths by cache and last
// access, NARs and chunks by unused_since, references by the referenced
// hash) and works in batches of its caller's size, each its own
// transaction: no step reads a whole table or holds a lock for long.
#pragma once

#include "metadata/sql_metadata_store.hpp"
#include "metadata/sql_rows.hpp"

#include <tuple>

namespace nixedge::lab {

using namespace sql_rows;

namespace {

struct PathRow {
    std::int64_t id = 0;
    std::string manifest_hash;
    bool pinned = false;
    UnixTime last_accessed_at = 0;
};

Result<std::optional<PathRow>> find_path_row(auto& c, std::int64_t cache_id,
                                             const std::string& store_hash) {
    auto q = c.query("SELECT id, manifest_hash, pinned, last_accessed_at FROM paths "
                     "WHERE cache_id = ? AND store_hash = ?",
                     cache_id, store_hash);
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row)
        return std::optional<PathRow>();
    return std::optional<PathRow>(PathRow{q.int64(0), q.text(1), q.boolean(2), q.int64(3)});
}

// Why a path must stay, or nothing if the rules let it go.
Result<std::optional<std::string>> reason_to_keep(auto& c, std::int64_t cache_id,
                                                  const std::string& store_hash,
                                                  const PathRow& path,
                                                  const PathRemovalRules& rules) {
    using Reason = std::optional<std::string>;
    if (rules.expired_before) {
        if (path.pinned)
            return Reason("pinned");
        if (path.last_accessed_at >= *rules.expired_before)
            return Reason("pushed or read in the lab since the cutoff");
    }
    if (!rules.keep_referenced)
        return Reason();
    // CROSS JOIN: SQLite then starts from the references (by their index)
    // rather than walking every path of the cache; PostgreSQL plans it as
    // any inner join.
    auto q = c.query("SELECT p.store_path FROM path_references r CROSS JOIN paths p "
                     "WHERE p.id = r.path_id AND r.reference_hash = ? AND p.cache_id = ? "
                     "AND p.id <> ? ORDER BY p.id LIMIT 1",
                     store_hash, cache_id, path.id);
    auto referrer = single_text(q);
    if (!referrer)
        return referrer.error();
    if (*referrer)
        return Reason("referenced by " + **referrer);
    return Reason();
}

Result<void> remove_path(auto& c, const CacheRow& cache, const std::string& store_hash,
                         const PathRow& path, const PathRemovalRules& rules, UnixTime now) {
    if (auto ok = c.run("DELETE FROM paths WHERE id = ?", path.id); !ok)
        return ok;
    if (on_edge(cache.settings)) {
        if (auto ok = enqueue_path_objects(c, cache, store_hash, OutboxOp::remove, now); !ok)
            return ok;
        if (rules.edge_keep_until > now)
            if (auto ok = keep_nar_on_edge(c, path.manifest_hash, rules.edge_keep_until); !ok)
                return ok;
    }
    return mark_nar_if_unused(c, path.manifest_hash, now);
}

// A row that says "unused" while something uses it (only a bug or a
// hand-edited database can put it there) would keep its place at the head of
// the unused index and starve every batch after it: heal it.
Result<void> heal_used_nar(auto& c, const std::string& hash) {
    return c.run("UPDATE nars SET unused_since = NULL WHERE manifest_hash = ? "
                 "AND (EXISTS (SELECT 1 FROM paths WHERE manifest_hash = ?) "
                 "OR EXISTS (SELECT 1 FROM staged_uploads WHERE manifest_hash = ?))",
                 hash, hash, hash);
}

Result<void> heal_used_chunk(auto& c, const std::string& hash) {
    return c.run("UPDATE chunks SET unused_since = NULL WHERE hash = ? "
                 "AND EXISTS (SELECT 1 FROM nar_chunks WHERE chunk_hash = ?)",
                 hash, hash);
}

} // namespace

template <class Pool>
Result<std::vector<ExpiredPath>> SqlMetadataStore<Pool>::expired_paths(std::string_view cache,
                                                                       UnixTime cutoff) {
    return pool_.read([&](auto& c) -> Result<std::vector<ExpiredPath>> {
        auto row = require_cache(c, cache);
        if (!row)
            return row.error();
        auto q = c.query("SELECT p.store_hash, r.reference_hash FROM paths p "
                         "LEFT JOIN path_references r "
                         "ON r.path_id = p.id AND r.reference_hash <> p.store_hash "
                         "WHERE p.cache_id = ? AND NOT p.pinned AND p.last_accessed_at < ? "
                         "ORDER BY p.id, r.reference_hash",
                         row->id, cutoff);
        std::vector<ExpiredPath> expired;
        for (;;) {
            auto next = q.step();
            if (!next)
                return next.error();
            if (!*next)
                return expired;
            auto hash = q.text(0);
            if (expired.empty() || expired.back().store_hash != hash)
                expired.push_back(ExpiredPath{hash, {}});
            if (!q.is_null(1))
                expired.back().references.push_back(q.text(1));
        }
    });
}

template <class Pool>
Result<PathRemoval> SqlMetadataStore<Pool>::remove_paths(std::string_view cache,
                                                         std::span<const std::string> store_hashes,
                                                         const PathRemovalRules& rules) {
    const auto now = clock_();
    return pool_.write([&](auto& c) -> Result<PathRemoval> {
        auto cache_row = require_cache(c, cache);
        if (!cache_row)
            return cache_row.error();
        PathRemoval removal;
        for (const auto& hash : store_hashes) {
            auto path = find_path_row(c, cache_row->id, hash);
            if (!path)
                return path.error();
            if (!*path) {
                removal.kept.push_back(KeptPath{hash, "not in the cache"});
                continue;
            }
            auto keep = reason_to_keep(c, cache_row->id, hash, **path, rules);
            if (!keep)
                return keep.error();
            if (*keep) {
                removal.kept.push_back(KeptPath{hash, std::move(**keep)});
                continue;
            }
            if (auto ok = remove_path(c, *cache_row, hash, **path, rules, now); !ok)
                return ok.error();
            removal.removed.push_back(hash);
        }
        if (!removal.removed.empty() && on_edge(cache_row->settings))
            if (auto ok = enqueue_sync_plan(c, now); !ok)
                return ok.error();
        return removal;
    });
}

template <class Pool>
Result<std::vector<Sha256Digest>>
SqlMetadataStore<Pool>::mark_nars_for_deletion(UnixTime unused_before, std::size_t limit) {
    const auto now = clock_();
    return pool_.write([&](auto& c) -> Result<std::vector<Sha256Digest>> {
        // Marks of a GC that died first (GC runs take turns, so no live run
        // holds them), then the longest unused.
        auto q = c.query("SELECT manifest_hash, edge_keep_until IS NOT NULL FROM ("
                         "SELECT manifest_hash, edge_keep_until, 0 AS o, unused_since FROM nars "
                         "WHERE deleting_since IS NOT NULL UNION ALL "
                         "SELECT manifest_hash, edge_keep_until, 1 AS o, unused_since FROM nars "
                         "WHERE unused_since < ? AND deleting_since IS NULL "
                         "AND (edge_keep_until IS NULL OR edge_keep_until <= ?)) n "
                         "ORDER BY o, unused_since LIMIT ?",
                         unused_before, now, limit);
        using Candidate = std::pair<std::string, bool>; // hash, kept for the edge until now
        auto candidates = all_records<Candidate>(q, [](const auto& row) -> Result<Candidate> {
            return Candidate{row.text(0), row.boolean(1)};
        });
        if (!candidates)
            return candidates.error();
        std::vector<Sha256Digest> marked;
        bool was_on_edge = false;
        for (const auto& [hash, kept_for_edge] : *candidates) {
            auto mark = c.run("UPDATE nars SET deleting_since = ?, deleting_by = ? "
                              "WHERE manifest_hash = ? "
                              "AND unused_since < ? "
                              "AND (edge_keep_until IS NULL OR edge_keep_until <= ?) "
                              "AND NOT EXISTS (SELECT 1 FROM paths WHERE manifest_hash = ?) "
                              "AND NOT EXISTS "
                              "(SELECT 1 FROM staged_uploads WHERE manifest_hash = ?)",
                              now, writer_id_, hash, unused_before, now, hash, hash);
            if (!mark)
                return mark.error();
            if (c.changes() == 0) {
                if (auto ok = heal_used_nar(c, hash); !ok)
                    return ok.error();
                continue;
            }
            auto digest = digest_from_hex(hash);
            if (!digest)
                return digest.error();
            marked.push_back(*digest);
            was_on_edge = was_on_edge || kept_for_edge;
        }
        // The plan stops listing them before their objects go.
        if (was_on_edge)
            if (auto ok = enqueue_sync_plan(c, now); !ok)
                return ok.error();
        return marked;
    });
}

template <class Pool>
Result<std::size_t>
SqlMetadataStore<Pool>::delete_marked_nars(std::span<const Sha256Digest> manifests) {
    const auto now = clock_();
    return pool_.write([&](auto& c) -> Result<std::size_t> {
        std::size_t deleted = 0;
        for (const auto& digest : manifests) {
            const auto hash = hex(digest);
            auto q =
                c.query("SELECT DISTINCT chunk_hash FROM nar_chunks WHERE manifest_hash = ?", hash);
            auto chunks = all_texts(q);
            if (!chunks)
                return chunks.error();
            // Cascades to its chunk list and listing.
            if (auto ok = c.run("DELETE FROM nars WHERE manifest_hash = ? "
                                "AND deleting_since IS NOT NULL",
                                hash);
                !ok)
                return ok.error();
            if (c.changes() == 0)
                continue; // a push took the mark back
            ++deleted;
            for (const auto& chunk : *chunks)
                if (auto ok = mark_chunk_if_unused(c, chunk, now); !ok)
                    return ok.error();
        }
        return deleted;
    });
}

template <class Pool>
Result<std::vector<ClaimedChunk>>
SqlMetadataStore<Pool>::claim_chunks_for_deletion(UnixTime unused_before, std::size_t limit) {
    const auto now = clock_();
    return pool_.write([&](auto& c) -> Result<std::vector<ClaimedChunk>> {
        auto q = c.query("SELECT hash, claim_id, stored_size FROM chunks WHERE unused_since < ? "
                         "ORDER BY unused_since LIMIT ?",
                         unused_before, limit);
        using Candidate = std::tuple<std::string, std::int64_t, std::uint64_t>;
        auto candidates = all_records<Candidate>(q, [](const auto& row) -> Result<Candidate> {
            return Candidate{row.text(0), row.int64(1), row.uint64(2)};
        });
        if (!candidates)
            return candidates.error();
        // An upload's claim always has a recent unused_since (claiming sets
        // it), so the claims found here are dead ones, or a dead GC's.
        std::vector<ClaimedChunk> claimed;
        for (const auto& [hash, claim_id, stored_size] : *candidates) {
            auto claim = c.run("UPDATE chunks SET state = 'claimed', claim_id = claim_id + 1, "
                               "claimed_at = ?, claimed_by = ?, stored_at = NULL "
                               "WHERE hash = ? AND claim_id = ? AND unused_since < ? "
                               "AND NOT EXISTS (SELECT 1 FROM nar_chunks WHERE chunk_hash = ?)",
                               now, writer_id_, hash, claim_id, unused_before, hash);
            if (!claim)
                return claim.error();
            if (c.changes() == 0) {
                if (auto ok = heal_used_chunk(c, hash); !ok)
                    return ok.error();
                continue;
            }
            auto digest = digest_from_hex(hash);
            if (!digest)
                return digest.error();
            claimed.push_back(ClaimedChunk{*digest, claim_id + 1, stored_size});
        }
        return claimed;
    });
}

template <class Pool>
Result<std::size_t>
SqlMetadataStore<Pool>::delete_claimed_chunks(std::span<const ClaimedChunk> chunks) {
    return pool_.write([&](auto& c) -> Result<std::size_t> {
        std::size_t deleted = 0;
        for (const auto& chunk : chunks) {
            const auto hash = hex(chunk.hash);
            if (auto ok = c.run("DELETE FROM chunks WHERE hash = ? AND claim_id = ? "
                                "AND state = 'claimed' "
                                "AND NOT EXISTS (SELECT 1 FROM nar_chunks WHERE chunk_hash = ?)",
                                hash, chunk.claim_id, hash);
                !ok)
                return ok.error();
            deleted += static_cast<std::size_t>(c.changes());
        }
        return deleted;
    });
}

template <class Pool> Result<std::optional<GcRun>> SqlMetadataStore<Pool>::last_gc_run() {
    return pool_.read([&](auto& c) -> Result<std::optional<GcRun>> {
        auto q =
            c.query("SELECT started_at, finished_at, succeeded, summary FROM gc_runs WHERE id = 1");
        auto row = q.step();
        if (!row)
            return row.error();
        if (!*row)
            return std::optional<GcRun>();
        std::optional<UnixTime> finished;
        if (!q.is_null(1))
            finished = q.int64(1);
        return std::optional<GcRun>(GcRun{q.int64(0), finished, q.boolean(2), q.text(3)});
    });
}

template <class Pool> Result<void> SqlMetadataStore<Pool>::record_gc_run(const GcRun& run) {
    return pool_.write([&](auto& c) -> Result<void> {
        constexpr const char* upsert =
            " ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, "
            "finished_at = excluded.finished_at, succeeded = excluded.succeeded, "
            "summary = excluded.summary";
        if (!run.finished_at)
            return c.run(std::string("INSERT INTO gc_runs (id, started_at, finished_at, "
                                     "succeeded, summary) VALUES (1, ?, NULL, ?, ?)") +
                             upsert,
                         run.started_at, run.succeeded, run.summary);
        return c.run(std::string("INSERT INTO gc_runs (id, started_at, finished_at, succeeded, "
                                 "summary) VALUES (1, ?, ?, ?, ?)") +
                         upsert,
                     run.started_at, *run.finished_at, run.succeeded, run.summary);
    });
}

} // namespace nixedge::lab
