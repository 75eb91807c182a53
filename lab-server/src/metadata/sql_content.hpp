// Content shared by every cache: chunk claims, NARs (manifests) and their chunk
// lists, and uploads staged until their narinfo arrives. Template definitions
// of SqlMetadataStore (sql_metadata_store.hpp), included only by
// sql_metadata_store_impl.hpp.
#pragma once

#include "metadata/sql_metadata_store.hpp"
#include "metadata/sql_rows.hpp"

#include <algorithm>
#include <map>
#include <unordered_set>

namespace nixedge::lab {

using namespace sql_rows;

namespace {

Result<void> validate_claim(const ChunkClaimRequest& r) {
    auto valid = [](std::uint64_t size) { return size >= 1 && size <= max_manifest_chunk_size; };
    if (!valid(r.raw_size) || !valid(r.stored_size))
        return make_error(ErrorCode::invalid_argument,
                          "chunk " + hex(r.hash) + ": sizes must be between 1 and 2^30");
    return {};
}

ChunkState chunk_state(const std::string& text) {
    return text == "stored" ? ChunkState::stored : ChunkState::claimed;
}

std::optional<std::string> optional_text(auto& q, int column) {
    return q.is_null(column) ? std::nullopt : std::optional<std::string>(q.text(column));
}
std::optional<UnixTime> optional_int64(auto& q, int column) {
    return q.is_null(column) ? std::nullopt : std::optional<UnixTime>(q.int64(column));
}

struct ChunkRow {
    std::uint64_t raw_size = 0;
    std::uint64_t stored_size = 0;
    ChunkState state = ChunkState::claimed;
    std::int64_t claim_id = 0;
    UnixTime claimed_at = 0;
    std::optional<std::string> claimed_by;    // the writer holding the claim, if named
    std::optional<UnixTime> writer_heartbeat; // absent once that writer's row is gone
};

Result<ChunkRow> read_chunk_row(auto& c, const std::string& hash) {
    auto q = c.query("SELECT c.raw_size, c.stored_size, c.state, c.claim_id, c.claimed_at, "
                     "c.claimed_by, w.heartbeat_at "
                     "FROM chunks c LEFT JOIN writers w ON w.id = c.claimed_by WHERE c.hash = ?",
                     hash);
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row)
        return make_error(ErrorCode::internal, "chunk " + hash + " vanished during its claim");
    return ChunkRow{q.uint64(0), q.uint64(1),         chunk_state(q.text(2)), q.int64(3),
                    q.int64(4),  optional_text(q, 5), optional_int64(q, 6)};
}

// Who is claiming, and by which rules (ClaimRules) another's claim (on a
// chunk, or GC's mark on a NAR) is dead.
struct Claimant {
    const std::string& writer;
    UnixTime now;
    ClaimRules rules;

    bool outlived(UnixTime since, const std::optional<std::string>& by,
                  const std::optional<UnixTime>& writer_heartbeat) const {
        if (since <= now - rules.timeout.count())
            return true;
        if (!by || *by == writer)
            return false; // no writer to ask; or this process, which lives
        return !writer_heartbeat || *writer_heartbeat <= now - rules.writer_silence.count();
    }
    bool outlived(const ChunkRow& claim) const {
        return outlived(claim.claimed_at, claim.claimed_by, claim.writer_heartbeat);
    }
};

// Takes over a dead claim. Compare-and-set on its id: under SQLite's single
// writer it always lands; under PostgreSQL's read committed a second taker
// waits for the first, re-reads the row and changes nothing.
Result<ChunkClaim> take_over(auto& c, const std::string& hash, const ChunkClaimRequest& r,
                             const ChunkRow& dead, const Claimant& me) {
    auto taken = c.run("UPDATE chunks SET stored_size = ?, claim_id = claim_id + 1, "
                       "claimed_at = ?, claimed_by = ?, unused_since = ? "
                       "WHERE hash = ? AND claim_id = ? AND state = 'claimed'",
                       r.stored_size, me.now, me.writer, me.now, hash, dead.claim_id);
    if (!taken)
        return taken.error();
    if (c.changes() == 0)
        return ChunkClaim{ChunkClaimOutcome::claimed_by_other, dead.claim_id, dead.stored_size};
    return ChunkClaim{ChunkClaimOutcome::claimed_by_me, dead.claim_id + 1, r.stored_size};
}

// Only a chunk that fsck reset for re-upload can be a claim that NARs use.
Result<bool> chunk_in_use(auto& c, const std::string& hash) {
    auto q = c.query("SELECT 1 FROM nar_chunks WHERE chunk_hash = ? LIMIT 1", hash);
    return q.step();
}

// Recorded manifests (and their names, and FileSize) carry the stored size of
// a chunk they use, so its replacement must have exactly that size.
Result<void> check_replacement_size(auto& c, const std::string& hash, const ChunkClaimRequest& r,
                                    const ChunkRow& dead) {
    if (r.stored_size == dead.stored_size)
        return {};
    auto in_use = chunk_in_use(c, hash);
    if (!in_use)
        return in_use.error();
    if (!*in_use)
        return {};
    return make_error(ErrorCode::conflict,
                      "chunk " + hash + " is used by recorded NARs with a stored size of " +
                          std::to_string(dead.stored_size) + " bytes; this frame has " +
                          std::to_string(r.stored_size) +
                          " (compress it at the zstd level and version it was first stored with)");
}

Result<ChunkClaim> claim_one(auto& c, const ChunkClaimRequest& r, const Claimant& me) {
    const auto now = me.now;
    const auto hash = hex(r.hash);
    // Portable first-writer-wins: the insert that lands creates the claim.
    // Unused until a recorded NAR lists it: an upload that dies leaves a
    // chunk for GC.
    auto inserted = c.run(
        "INSERT INTO chunks "
        "(hash, raw_size, stored_size, state, claim_id, claimed_at, claimed_by, unused_since) "
        "VALUES (?, ?, ?, 'claimed', 1, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
        hash, r.raw_size, r.stored_size, now, me.writer, now);
    if (!inserted)
        return inserted.error();
    if (c.changes() == 1)
        return ChunkClaim{ChunkClaimOutcome::claimed_by_me, 1, r.stored_size};

    auto existing = read_chunk_row(c, hash);
    if (!existing)
        return existing.error();
    if (existing->raw_size != r.raw_size)
        return make_error(ErrorCode::invalid_argument, "chunk " + hash +
                                                           " is recorded with raw size " +
                                                           std::to_string(existing->raw_size) +
                                                           ", not " + std::to_string(r.raw_size));
    if (existing->state == ChunkState::stored) {
        // The upload is about to use it: an unused chunk's grace period
        // starts again, so GC cannot take it meanwhile.
        if (auto ok = c.run("UPDATE chunks SET unused_since = ? "
                            "WHERE hash = ? AND unused_since IS NOT NULL",
                            now, hash);
            !ok)
            return ok.error();
        return ChunkClaim{ChunkClaimOutcome::already_stored, existing->claim_id,
                          existing->stored_size};
    }
    if (!me.outlived(*existing))
        return ChunkClaim{ChunkClaimOutcome::claimed_by_other, existing->claim_id,
                          existing->stored_size};
    if (auto ok = check_replacement_size(c, hash, r, *existing); !ok)
        return ok.error();
    return take_over(c, hash, r, *existing, me);
}

constexpr std::string_view chunk_columns =
    "hash, raw_size, stored_size, state, claim_id, claimed_at, stored_at, unused_since";

std::optional<UnixTime> optional_time(const auto& q, int column) {
    if (q.is_null(column))
        return std::nullopt;
    return q.int64(column);
}

// A row selected with chunk_columns.
Result<ChunkRecord> chunk_record(const auto& q) {
    auto hash = digest_from_hex(q.text(0));
    if (!hash)
        return hash.error();
    return ChunkRecord{*hash,      q.uint64(1), q.uint64(2),         chunk_state(q.text(3)),
                       q.int64(4), q.int64(5),  optional_time(q, 6), optional_time(q, 7)};
}

constexpr std::string_view nar_columns =
    "manifest_hash, nar_hash, nar_size, file_size, chunk_count, created_at, unused_since";

// A row selected with nar_columns.
Result<NarRecord> nar_record(const auto& q) {
    auto manifest_hash = digest_from_hex(q.text(0));
    auto nar_hash = digest_from_hex(q.text(1));
    if (!manifest_hash || !nar_hash)
        return manifest_hash ? nar_hash.error() : manifest_hash.error();
    return NarRecord{*manifest_hash, *nar_hash,  q.uint64(2),        q.uint64(3),
                     q.uint64(4),    q.int64(5), optional_time(q, 6)};
}

// Every row a query returns, each made by `make`.
template <class Record, class Make> Result<std::vector<Record>> all_records(auto& q, Make make) {
    std::vector<Record> records;
    for (;;) {
        auto next = q.step();
        if (!next)
            return next.error();
        if (!*next)
            return records;
        auto record = make(q);
        if (!record)
            return record.error();
        records.push_back(std::move(record).value());
    }
}

// Every hex hash sorts after "", so no `after` starts at the beginning.
std::string after_text(const std::optional<Sha256Digest>& after) {
    return after ? hex(*after) : std::string();
}

Result<void> mark_one(auto& c, const ChunkStoredRequest& r, UnixTime now) {
    const auto hash = hex(r.hash);
    auto updated = c.run("UPDATE chunks SET state = 'stored', stored_at = ? "
                         "WHERE hash = ? AND claim_id = ? AND state = 'claimed'",
                         now, hash, r.claim_id);
    if (!updated)
        return updated;
    if (c.changes() == 1)
        return {};
    auto q = c.query("SELECT state, claim_id FROM chunks WHERE hash = ?", hash);
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row)
        return make_error(ErrorCode::not_found, "no claim on chunk " + hash);
    if (q.text(0) == "stored" && q.int64(1) == r.claim_id)
        return {}; // marked already, by this same claim
    return make_error(ErrorCode::conflict,
                      "the claim on chunk " + hash + " was taken over; use the chunk as recorded");
}

// Every chunk of a manifest must be stored, with the sizes the manifest gives.
Result<void> check_chunks_stored(auto& c, const ChunkManifest& manifest) {
    std::unordered_set<std::string> checked;
    for (const auto& chunk : manifest.chunks) {
        auto hash = hex(chunk.hash);
        if (!checked.insert(hash).second)
            continue;
        auto q = c.query("SELECT raw_size, stored_size, state FROM chunks WHERE hash = ?", hash);
        auto row = q.step();
        if (!row)
            return row.error();
        if (!*row || q.text(2) != "stored")
            return make_error(ErrorCode::invalid_argument, "chunk " + hash + " is not stored");
        if (q.uint64(0) != chunk.raw_size || q.uint64(1) != chunk.stored_size)
            return make_error(ErrorCode::invalid_argument,
                              "chunk " + hash + " is stored with other sizes than the manifest's");
    }
    return {};
}

Result<void> insert_nar(auto& c, const std::string& manifest_hash, const ChunkManifest& manifest,
                        UnixTime now) {
    // Unused until a staged upload or a path uses it.
    auto inserted = c.run("INSERT INTO nars (manifest_hash, nar_hash, nar_size, file_size, "
                          "chunk_count, created_at, unused_since) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          manifest_hash, hex(manifest.nar_hash), manifest.nar_size,
                          manifest.stored_size(), manifest.chunks.size(), now, now);
    if (!inserted)
        return inserted;
    for (std::size_t seq = 0; seq < manifest.chunks.size(); ++seq)
        if (auto ok = c.run("INSERT INTO nar_chunks (manifest_hash, seq, chunk_hash) "
                            "VALUES (?, ?, ?)",
                            manifest_hash, seq, hex(manifest.chunks[seq].hash));
            !ok)
            return ok;
    return {};
}

Result<void> insert_listing(auto& c, const std::string& manifest_hash,
                            std::optional<std::string_view> listing) {
    if (!listing)
        return {};
    return c.run("INSERT INTO nar_listings (manifest_hash, listing) VALUES (?, ?) "
                 "ON CONFLICT (manifest_hash) DO NOTHING",
                 manifest_hash, *listing);
}

Result<bool> nar_exists(auto& c, const std::string& manifest_hash) {
    auto q = c.query("SELECT 1 FROM nars WHERE manifest_hash = ?", manifest_hash);
    return q.step();
}

// Recording a NAR that is already recorded (the upload is about to stage
// it). One that GC is deleting cannot be used until GC is done, unless that
// GC died (ClaimRules): then the mark is taken back. An unused one starts its
// grace period again in this same transaction: were it left for after the
// commit, GC could mark and delete the NAR in between, and the upload would
// then write a manifest object that no row names any more.
Result<void> reuse_nar(auto& c, const std::string& manifest_hash, const Claimant& me) {
    auto q = c.query("SELECT n.deleting_since, n.unused_since, n.deleting_by, w.heartbeat_at "
                     "FROM nars n LEFT JOIN writers w ON w.id = n.deleting_by "
                     "WHERE n.manifest_hash = ?",
                     manifest_hash);
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row)
        return {};
    const bool unused = !q.is_null(1);
    if (!q.is_null(0) && !me.outlived(q.int64(0), optional_text(q, 2), optional_int64(q, 3)))
        return make_error(ErrorCode::storage_unavailable,
                          "NAR " + manifest_hash +
                              " is being garbage collected; upload it again in a moment");
    if (!q.is_null(0))
        if (auto ok = c.run("UPDATE nars SET deleting_since = NULL, deleting_by = NULL "
                            "WHERE manifest_hash = ?",
                            manifest_hash);
            !ok)
            return ok;
    if (unused)
        return c.run("UPDATE nars SET unused_since = ? WHERE manifest_hash = ?", me.now,
                     manifest_hash);
    return {};
}

constexpr std::string_view staged_select =
    "SELECT s.url, s.manifest_hash, n.nar_hash, n.nar_size, s.created_at, s.expires_at "
    "FROM staged_uploads s JOIN caches c ON c.id = s.cache_id "
    "JOIN nars n ON n.manifest_hash = s.manifest_hash "
    "WHERE c.name = ? AND s.url = ? AND s.expires_at > ?";

Result<std::optional<StagedUpload>> find_staged_row(auto& c, std::string_view cache,
                                                    std::string_view url, UnixTime now) {
    auto q = c.query(staged_select, cache, url, now);
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row)
        return std::optional<StagedUpload>();
    auto manifest_hash = digest_from_hex(q.text(1));
    auto nar_hash = digest_from_hex(q.text(2));
    if (!manifest_hash || !nar_hash)
        return manifest_hash ? nar_hash.error() : manifest_hash.error();
    return std::optional<StagedUpload>(StagedUpload{std::string(cache), q.text(0), *manifest_hash,
                                                    *nar_hash, q.uint64(3), q.int64(4),
                                                    q.int64(5)});
}

} // namespace

template <class Pool>
Result<std::vector<ChunkClaim>>
SqlMetadataStore<Pool>::claim_chunks(std::span<const ChunkClaimRequest> requests) {
    for (const auto& request : requests)
        if (auto ok = validate_claim(request); !ok)
            return ok.error();
    const Claimant me{writer_id_, clock_(), claims_};
    // Rows are claimed in hash order, whatever the request order: two
    // replicas claiming overlapping batches then wait for each other in one
    // direction only and never deadlock. The first request of a repeated hash
    // is the one claimed (a stable sort keeps request order among equals).
    std::vector<std::size_t> order(requests.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return requests[a].hash < requests[b].hash;
    });
    // Unsynced: a claim lost in a crash only lets the chunk be claimed again.
    return pool_.write_unsynced([&](auto& c) -> Result<std::vector<ChunkClaim>> {
        // A hash repeated in the batch gets its first answer again, not
        // "claimed by other" from the claim this batch just made.
        std::map<Sha256Digest, ChunkClaim> seen;
        for (auto index : order) {
            const auto& request = requests[index];
            if (seen.contains(request.hash))
                continue;
            auto claim = claim_one(c, request, me);
            if (!claim)
                return claim.error();
            seen.emplace(request.hash, *claim);
        }
        std::vector<ChunkClaim> claims;
        for (const auto& request : requests)
            claims.push_back(seen.at(request.hash));
        return claims;
    });
}

template <class Pool>
Result<void>
SqlMetadataStore<Pool>::mark_chunks_stored(std::span<const ChunkStoredRequest> requests) {
    const auto now = clock_();
    // Unsynced: record_nar's durable commit, which every use of the chunk
    // waits for, syncs the mark with it; a mark lost in a crash leaves a chunk
    // that no manifest names, to be taken over or collected.
    return pool_.write_unsynced([&](auto& c) -> Result<void> {
        for (const auto& request : requests)
            if (auto ok = mark_one(c, request, now); !ok)
                return ok;
        return {};
    });
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::release_chunk_claim(const Sha256Digest& hash,
                                                         std::int64_t claim_id) {
    const auto timeout = static_cast<std::int64_t>(claims_.timeout.count());
    // As reset_chunk_for_upload: older than any claim timeout on any replica.
    const auto dead_since = std::min<UnixTime>(0, clock_() - timeout);
    // Unsynced: a release lost in a crash leaves a claim that times out.
    return pool_.write_unsynced([&](auto& c) -> Result<void> {
        return c.run("UPDATE chunks SET claimed_at = ? "
                     "WHERE hash = ? AND claim_id = ? AND state = 'claimed'",
                     dead_since, hex(hash), claim_id);
    });
}

template <class Pool>
Result<std::optional<ChunkRecord>> SqlMetadataStore<Pool>::get_chunk(const Sha256Digest& hash) {
    return pool_.read([&](auto& c) -> Result<std::optional<ChunkRecord>> {
        auto q = c.query("SELECT " + std::string(chunk_columns) + " FROM chunks WHERE hash = ?",
                         hex(hash));
        auto row = q.step();
        if (!row)
            return row.error();
        if (!*row)
            return std::optional<ChunkRecord>();
        auto record = chunk_record(q);
        if (!record)
            return record.error();
        return std::optional<ChunkRecord>(std::move(record).value());
    });
}

template <class Pool> void SqlMetadataStore<Pool>::note_nar_used(const std::string& manifest_hash) {
    (void)pool_.write_unsynced([&](auto& c) -> Result<void> {
        return c.run("UPDATE nars SET unused_since = NULL "
                     "WHERE manifest_hash = ? AND unused_since IS NOT NULL",
                     manifest_hash);
    });
}

template <class Pool>
Result<bool> SqlMetadataStore<Pool>::reuse_stored_chunk(const Sha256Digest& hash) {
    const auto now = clock_();
    return pool_.write_unsynced([&](auto& c) -> Result<bool> {
        auto touched = c.run("UPDATE chunks SET unused_since = ? "
                             "WHERE hash = ? AND state = 'stored' AND unused_since IS NOT NULL",
                             now, hex(hash));
        if (!touched)
            return touched.error();
        if (c.changes() == 1)
            return true;
        auto q = c.query("SELECT 1 FROM chunks WHERE hash = ? AND state = 'stored'", hex(hash));
        return q.step();
    });
}

template <class Pool>
Result<Sha256Digest> SqlMetadataStore<Pool>::record_nar(const ChunkManifest& manifest,
                                                        std::optional<std::string_view> listing) {
    // The name is computed here from the canonical encoding, so a recorded
    // hash always names the bytes the manifest object holds.
    auto encoded = encode_manifest(manifest);
    if (!encoded)
        return encoded.error();
    const auto digest = Sha256::digest(as_bytes(*encoded));
    const auto manifest_hash = hex(digest);
    const auto now = clock_();
    const Claimant me{writer_id_, now, claims_};
    bool inserted = false;
    auto recorded = pool_.write([&](auto& c) -> Result<Sha256Digest> {
        inserted = false; // a retried transaction starts over
        auto exists = nar_exists(c, manifest_hash);
        if (!exists)
            return exists.error();
        if (*exists) {
            if (auto ok = reuse_nar(c, manifest_hash, me); !ok)
                return ok.error();
        } else {
            if (auto ok = check_chunks_stored(c, manifest); !ok)
                return ok.error();
            if (auto ok = insert_nar(c, manifest_hash, manifest, now); !ok)
                return ok.error();
            inserted = true;
        }
        if (auto ok = insert_listing(c, manifest_hash, listing); !ok)
            return ok.error();
        return digest;
    });
    if (!recorded || !inserted)
        return recorded;
    // Its chunks are used now: out of the unused index (else GC finds them
    // there and heals them itself). Apart from the serializable transaction
    // above, so that concurrent uploads writing chunk rows do not make each
    // other's NAR records fail serialization; GC never takes a chunk a
    // recorded NAR lists, which that transaction and GC's claim decide
    // between them (both serializable under PostgreSQL; one writer in SQLite).
    (void)pool_.write_unsynced([&](auto& c) -> Result<void> {
        std::unordered_set<std::string> used;
        for (const auto& chunk : manifest.chunks)
            if (auto hash = hex(chunk.hash); used.insert(hash).second)
                if (auto ok = c.run("UPDATE chunks SET unused_since = NULL "
                                    "WHERE hash = ? AND unused_since IS NOT NULL",
                                    hash);
                    !ok)
                    return ok;
        return {};
    });
    return recorded;
}

template <class Pool>
Result<std::optional<NarRecord>>
SqlMetadataStore<Pool>::get_nar(const Sha256Digest& manifest_hash) {
    return pool_.read([&](auto& c) -> Result<std::optional<NarRecord>> {
        auto q =
            c.query("SELECT " + std::string(nar_columns) + " FROM nars WHERE manifest_hash = ?",
                    hex(manifest_hash));
        auto row = q.step();
        if (!row)
            return row.error();
        if (!*row)
            return std::optional<NarRecord>();
        auto record = nar_record(q);
        if (!record)
            return record.error();
        return std::optional<NarRecord>(std::move(record).value());
    });
}

template <class Pool>
Result<std::optional<ChunkManifest>>
SqlMetadataStore<Pool>::manifest(const Sha256Digest& manifest_hash) {
    return pool_.read([&](auto& c) -> Result<std::optional<ChunkManifest>> {
        const auto key = hex(manifest_hash);
        auto nar = c.query("SELECT nar_hash, nar_size FROM nars WHERE manifest_hash = ?", key);
        auto found = nar.step();
        if (!found)
            return found.error();
        if (!*found)
            return std::optional<ChunkManifest>();
        ChunkManifest manifest;
        auto nar_hash = digest_from_hex(nar.text(0));
        if (!nar_hash)
            return nar_hash.error();
        manifest.nar_hash = *nar_hash;
        manifest.nar_size = nar.uint64(1);
        auto q = c.query("SELECT c.hash, c.raw_size, c.stored_size FROM nar_chunks n "
                         "JOIN chunks c ON c.hash = n.chunk_hash "
                         "WHERE n.manifest_hash = ? ORDER BY n.seq",
                         key);
        while (true) {
            auto next = q.step();
            if (!next)
                return next.error();
            if (!*next)
                return std::optional<ChunkManifest>(std::move(manifest));
            auto hash = digest_from_hex(q.text(0));
            if (!hash)
                return hash.error();
            manifest.chunks.push_back(ChunkRef{*hash, q.uint64(1), q.uint64(2)});
        }
    });
}

template <class Pool>
Result<std::vector<ChunkRecord>>
SqlMetadataStore<Pool>::list_chunks(const std::optional<Sha256Digest>& after, std::size_t limit) {
    return pool_.read([&](auto& c) {
        auto q = c.query("SELECT " + std::string(chunk_columns) +
                             " FROM chunks WHERE hash > ? ORDER BY hash LIMIT ?",
                         after_text(after), limit);
        return all_records<ChunkRecord>(q, [](const auto& r) { return chunk_record(r); });
    });
}

template <class Pool>
Result<std::vector<NarRecord>>
SqlMetadataStore<Pool>::list_nars(const std::optional<Sha256Digest>& after, std::size_t limit) {
    return pool_.read([&](auto& c) {
        auto q = c.query("SELECT " + std::string(nar_columns) +
                             " FROM nars WHERE manifest_hash > ? ORDER BY manifest_hash LIMIT ?",
                         after_text(after), limit);
        return all_records<NarRecord>(q, [](const auto& r) { return nar_record(r); });
    });
}

template <class Pool>
Result<std::vector<ChunkUse>> SqlMetadataStore<Pool>::chunk_uses(const Sha256Digest& hash,
                                                                 std::size_t limit) {
    return pool_.read([&](auto& c) {
        auto q = c.query("SELECT DISTINCT nc.manifest_hash, c.name, p.store_path "
                         "FROM nar_chunks nc "
                         "LEFT JOIN paths p ON p.manifest_hash = nc.manifest_hash "
                         "LEFT JOIN caches c ON c.id = p.cache_id "
                         "WHERE nc.chunk_hash = ? "
                         "ORDER BY nc.manifest_hash, c.name, p.store_path LIMIT ?",
                         hex(hash), limit);
        return all_records<ChunkUse>(q, [](const auto& row) -> Result<ChunkUse> {
            auto manifest_hash = digest_from_hex(row.text(0));
            if (!manifest_hash)
                return manifest_hash.error();
            return ChunkUse{*manifest_hash, row.text(1), row.text(2)};
        });
    });
}

template <class Pool>
Result<bool> SqlMetadataStore<Pool>::reset_chunk_for_upload(const Sha256Digest& hash) {
    const auto timeout = static_cast<std::int64_t>(claims_.timeout.count());
    // The epoch is older than any claim timeout on any replica's clock; a
    // test clock near the epoch gets a time older than its own timeout.
    const auto dead_since = std::min<UnixTime>(0, clock_() - timeout);
    return pool_.write([&](auto& c) -> Result<bool> {
        auto reset = c.run("UPDATE chunks SET state = 'claimed', claim_id = claim_id + 1, "
                           "claimed_at = ?, stored_at = NULL WHERE hash = ? AND state = 'stored'",
                           dead_since, hex(hash));
        if (!reset)
            return reset.error();
        return c.changes() == 1;
    });
}

template <class Pool>
Result<StagedUpload>
SqlMetadataStore<Pool>::stage_upload(std::string_view cache, std::string_view url,
                                     const Sha256Digest& manifest_hash, std::chrono::seconds ttl) {
    return stage(cache, url, manifest_hash, ttl, std::nullopt);
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::hold_path(std::string_view cache, const NarInfo& narinfo,
                                               std::chrono::seconds ttl) {
    auto manifest_hash = parse_nar_url(narinfo.url);
    if (!manifest_hash)
        return make_error(ErrorCode::invalid_argument,
                          "a held path's URL must name a manifest: " + narinfo.url);
    auto staged = stage(cache, held_path_url(narinfo.store_path.hash), *manifest_hash, ttl,
                        serialize_narinfo(narinfo));
    if (!staged)
        return staged.error();
    return {};
}

template <class Pool>
Result<std::vector<HeldPath>> SqlMetadataStore<Pool>::held_paths(std::string_view cache) {
    const auto now = clock_();
    return pool_.read([&](auto& c) -> Result<std::vector<HeldPath>> {
        auto q = c.query("SELECT s.url, s.held_narinfo FROM staged_uploads s "
                         "JOIN caches c ON c.id = s.cache_id "
                         "WHERE c.name = ? AND s.held_narinfo IS NOT NULL AND s.expires_at > ? "
                         "ORDER BY s.created_at, s.url",
                         cache, now);
        std::vector<HeldPath> held;
        for (;;) {
            auto row = q.step();
            if (!row)
                return row.error();
            if (!*row)
                return held;
            held.push_back({q.text(0), q.text(1)});
        }
    });
}

template <class Pool>
Result<StagedUpload> SqlMetadataStore<Pool>::stage(std::string_view cache, std::string_view url,
                                                   const Sha256Digest& manifest_hash,
                                                   std::chrono::seconds ttl,
                                                   const std::optional<std::string>& held_narinfo) {
    if (url.empty() || ttl.count() <= 0)
        return make_error(ErrorCode::invalid_argument, "a staged upload needs a URL and a TTL");
    const auto now = clock_();
    bool was_unused = false;
    auto staged_upload = pool_.write([&](auto& c) -> Result<StagedUpload> {
        auto row = require_cache(c, cache);
        if (!row)
            return row.error();
        const auto key = hex(manifest_hash);
        auto unused = require_usable_nar(c, key);
        if (!unused)
            return unused.error();
        was_unused = *unused;
        auto replaced = c.query("SELECT manifest_hash FROM staged_uploads "
                                "WHERE cache_id = ? AND url = ?",
                                row->id, url);
        auto replaced_manifest = single_text(replaced);
        if (!replaced_manifest)
            return replaced_manifest.error();
        // Nix retries an upload under the same URL: the newest one stands.
        auto staged = c.run("INSERT INTO staged_uploads "
                            "(cache_id, url, manifest_hash, created_at, expires_at, held_narinfo) "
                            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cache_id, url) DO UPDATE SET "
                            "manifest_hash = excluded.manifest_hash, "
                            "created_at = excluded.created_at, expires_at = excluded.expires_at, "
                            "held_narinfo = excluded.held_narinfo",
                            row->id, url, key, now, now + ttl.count(), held_narinfo);
        if (!staged)
            return staged.error();
        if (*replaced_manifest)
            if (auto ok = mark_nar_if_unused(c, **replaced_manifest, now); !ok)
                return ok.error();
        auto found = find_staged_row(c, cache, url, now);
        if (!found)
            return found.error();
        if (!*found)
            return make_error(ErrorCode::internal, "a staged upload vanished in its transaction");
        return std::move(**found);
    });
    if (staged_upload && was_unused)
        note_nar_used(hex(manifest_hash));
    return staged_upload;
}

template <class Pool>
Result<std::optional<StagedUpload>> SqlMetadataStore<Pool>::find_staged(std::string_view cache,
                                                                        std::string_view url) {
    const auto now = clock_();
    return pool_.read([&](auto& c) { return find_staged_row(c, cache, url, now); });
}

template <class Pool> Result<std::size_t> SqlMetadataStore<Pool>::expire_staged(UnixTime now) {
    return pool_.write([&](auto& c) -> Result<std::size_t> {
        auto q =
            c.query("SELECT DISTINCT manifest_hash FROM staged_uploads WHERE expires_at <= ?", now);
        auto manifests = all_texts(q);
        if (!manifests)
            return manifests.error();
        auto removed = c.run("DELETE FROM staged_uploads WHERE expires_at <= ?", now);
        if (!removed)
            return removed.error();
        const auto count = static_cast<std::size_t>(c.changes());
        for (const auto& manifest : *manifests)
            if (auto ok = mark_nar_if_unused(c, manifest, now); !ok)
                return ok.error();
        return count;
    });
}

} // namespace nixedge::lab
