// fsck of the content every cache shares: chunks and manifests. Each walk
// merges the database's rows (pages in hash order) with the listing's keys
// (in the same order), then confirms a candidate difference with a point
// read before reporting it, since a live server may have written the row or
// the object after the walk passed it.
#include "app/fsck_checks.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"

namespace nixedge::lab::fsck {

namespace {

// Chunks used by at most this many (NAR, path) pairs are reported in full.
constexpr std::size_t uses_listed = 100;

const Sha256Digest& chunk_hash(const ChunkRecord& row) {
    return row.hash;
}

const Sha256Digest& nar_manifest_hash(const NarRecord& row) {
    return row.manifest_hash;
}

std::string bytes_text(std::uint64_t n) {
    return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

// The object's size now, or nullopt if it is gone.
Result<std::optional<std::uint64_t>> current_size(Storage& storage, const std::string& key) {
    auto reader = storage.get(key);
    if (!reader && reader.error().code == ErrorCode::not_found)
        return std::optional<std::uint64_t>();
    if (!reader)
        return reader.error();
    return std::optional<std::uint64_t>((*reader)->size());
}

// Hands every row before `hash` to `row_only`; returns the row at `hash`, if any.
template <class Record, class RowOnly>
Result<const Record*> rows_until(RowCursor<Record>& rows, const Sha256Digest& hash,
                                 RowOnly row_only) {
    for (;;) {
        auto row = rows.peek();
        if (!row)
            return row.error();
        if (!*row || rows.hash_of(**row) > hash)
            return static_cast<const Record*>(nullptr);
        if (rows.hash_of(**row) == hash)
            return *row;
        Record passed = **row;
        rows.take();
        if (auto ok = row_only(passed); !ok)
            return ok.error();
    }
}

// Where a broken NAR shows: its path's narinfo key, or its manifest if no path uses it.
std::string broken_nar_key(const ChunkUse& use) {
    if (use.cache.empty())
        return bucket_key::manifest(use.manifest_hash);
    auto path = parse_store_path(use.store_path);
    if (!path)
        return bucket_key::manifest(use.manifest_hash);
    return bucket_key::narinfo(use.cache, path->hash);
}

} // namespace

// ---- chunks ----------------------------------------------------------------

ChunkCheck::ChunkCheck(FsckRun& run)
    : run_(run), rows_([&metadata = run.metadata()](
                           const std::optional<Sha256Digest>& after,
                           std::size_t limit) { return metadata.list_chunks(after, limit); },
                       chunk_hash) {}

Result<void> ChunkCheck::object(const Sha256Digest& hash, const ObjectInfo& info) {
    auto row = rows_until(rows_, hash, [this](const ChunkRecord& r) { return row_only(r); });
    if (!row)
        return row.error();
    if (!*row)
        return object_only(hash, info);
    ChunkRecord matched = **row;
    rows_.take();
    return row_and_object(matched, info.size);
}

Result<void> ChunkCheck::finish() {
    return rows_.take_rest([this](const ChunkRecord& row) { return row_only(row); });
}

Result<void> ChunkCheck::row_only(const ChunkRecord& row) {
    ++run_.report().chunks_checked;
    if (row.state != ChunkState::stored)
        return awaiting_upload(row);
    auto size = current_size(run_.storage(), bucket_key::chunk(row.hash));
    if (!size)
        return size.error();
    if (!*size)
        return lost(row, FsckFindingKind::chunk_missing,
                    "recorded as stored (" + bytes_text(row.stored_size) +
                        ") but the bucket has no object",
                    false);
    return check_stored(row, **size);
}

Result<void> ChunkCheck::row_and_object(const ChunkRecord& row, std::uint64_t size) {
    ++run_.report().chunks_checked;
    if (row.state != ChunkState::stored)
        return awaiting_upload(row);
    return check_stored(row, size);
}

Result<void> ChunkCheck::check_stored(const ChunkRecord& row, std::uint64_t size) {
    if (size != row.stored_size) {
        // The listing may predate a put that replaced the object: look again.
        auto now = current_size(run_.storage(), bucket_key::chunk(row.hash));
        if (!now)
            return now.error();
        if (!*now)
            return lost(row, FsckFindingKind::chunk_missing,
                        "recorded as stored (" + bytes_text(row.stored_size) +
                            ") but the bucket has no object",
                        false);
        if (**now != row.stored_size)
            return lost(row, FsckFindingKind::chunk_wrong_size,
                        "the object has " + bytes_text(**now) + ", the database records " +
                            bytes_text(row.stored_size),
                        true);
    }
    if (!run_.options().verify_content)
        return {};
    auto problem = content_problem(row);
    if (!problem)
        return problem.error();
    if (*problem)
        return lost(row, FsckFindingKind::chunk_corrupt, std::move(**problem), true);
    return {};
}

// The frame must decode to exactly the raw chunk its name and row describe.
Result<std::optional<std::string>> ChunkCheck::content_problem(const ChunkRecord& row) {
    using Problem = std::optional<std::string>;
    auto frame = read_object(run_.storage(), bucket_key::chunk(row.hash), row.stored_size);
    if (!frame && frame.error().code == ErrorCode::not_found)
        return Problem("the object vanished while it was read");
    if (!frame && frame.error().code == ErrorCode::limit_exceeded)
        return Problem("the object grew while it was read");
    if (!frame)
        return frame.error();
    if (!decompressor_) {
        auto created = ZstdDecompressor::create();
        if (!created)
            return created.error();
        decompressor_.emplace(std::move(created).value());
    }
    decompressor_->reset();
    Sha256 sha;
    std::uint64_t raw_size = 0;
    auto decoded = decompressor_->feed(*frame, [&](ByteView piece) {
        sha.update(piece);
        raw_size += piece.size();
    });
    if (decoded)
        decoded = decompressor_->finish();
    if (!decoded)
        return Problem("the frame does not decompress: " + decoded.error().detail);
    if (raw_size != row.raw_size)
        return Problem("the frame decompresses to " + bytes_text(raw_size) + ", not " +
                       bytes_text(row.raw_size));
    if (sha.finish() != row.hash)
        return Problem("the frame decompresses to other bytes than its SHA-256 names");
    return Problem();
}

// A lost chunk cannot be recreated here; what repair can do is stop the
// database from claiming it, so the next upload of its content writes it
// again. A damaged object goes too: a missing chunk fails a read loudly, a
// short or wrong one could be served.
Result<void> ChunkCheck::lost(const ChunkRecord& row, FsckFindingKind kind, std::string problem,
                              bool object_exists) {
    const auto key = bucket_key::chunk(row.hash);
    auto mend = [&]() -> Result<Mend> {
        auto reset = run_.metadata().reset_chunk_for_upload(row.hash);
        if (!reset)
            return reset.error();
        std::string action =
            *reset ? "reset for re-upload" : "left: the chunk is no longer recorded as stored";
        if (object_exists) {
            if (auto removed = run_.storage().remove(key); !removed)
                return removed.error();
            action += "; the damaged object removed";
        }
        return Mend{action + "; its NARs stay broken until their content is pushed again", true};
    };
    if (auto ok = run_.found(kind, key, std::move(problem), mend); !ok)
        return ok;
    auto uses = run_.metadata().chunk_uses(row.hash, uses_listed);
    if (!uses)
        return uses.error();
    return report_broken_nars(row.hash, *uses);
}

// A claimed chunk that no NAR uses is an upload in progress (or a dead one a
// later upload takes over): no difference. One that NARs use was reset for
// re-upload and still waits for its content.
Result<void> ChunkCheck::awaiting_upload(const ChunkRecord& row) {
    auto uses = run_.metadata().chunk_uses(row.hash, uses_listed);
    if (!uses)
        return uses.error();
    if (uses->empty())
        return {};
    auto ok = run_.found(FsckFindingKind::chunk_awaiting_upload, bucket_key::chunk(row.hash),
                         "reset for re-upload; no upload of its content (" +
                             bytes_text(row.raw_size) + " raw) has come since",
                         cannot_repair("pushing a path that contains it"));
    if (!ok)
        return ok;
    return report_broken_nars(row.hash, *uses);
}

Result<void> ChunkCheck::report_broken_nars(const Sha256Digest& chunk,
                                            const std::vector<ChunkUse>& uses) {
    std::set<Sha256Digest> reported_now;
    for (const auto& use : uses) {
        if (broken_nars_.contains(use.manifest_hash))
            continue;
        reported_now.insert(use.manifest_hash);
        std::string problem = "NAR " + encoding::to_hex(use.manifest_hash);
        if (!use.store_path.empty())
            problem += " of " + use.store_path;
        problem += " needs chunk " + encoding::to_hex(chunk) + ", which the bucket lacks";
        auto ok = run_.found(FsckFindingKind::nar_broken, broken_nar_key(use), std::move(problem),
                             cannot_repair("pushing the path again"));
        if (!ok)
            return ok;
    }
    broken_nars_.insert(reported_now.begin(), reported_now.end());
    if (uses.size() < uses_listed)
        return {};
    return run_.found(FsckFindingKind::nar_broken, bucket_key::chunk(chunk),
                      "more NARs or paths use it than the " + std::to_string(uses_listed) +
                          " reported",
                      cannot_repair("pushing the paths again"));
}

// Nobody writes a chunk object without claiming its row first, so a row
// found now means an upload began during the walk.
Result<void> ChunkCheck::object_only(const Sha256Digest& hash, const ObjectInfo& info) {
    auto row = run_.metadata().get_chunk(hash);
    if (!row)
        return row.error();
    if (*row)
        return {};
    return run_.orphan(bucket_key::chunk(hash), info);
}

// ---- manifests -------------------------------------------------------------

ManifestCheck::ManifestCheck(FsckRun& run)
    : run_(run), rows_([&metadata = run.metadata()](
                           const std::optional<Sha256Digest>& after,
                           std::size_t limit) { return metadata.list_nars(after, limit); },
                       nar_manifest_hash) {}

Result<void> ManifestCheck::object(const Sha256Digest& hash, const ObjectInfo& info) {
    auto row = rows_until(rows_, hash, [this](const NarRecord& nar) { return check_nar(nar); });
    if (!row)
        return row.error();
    if (!*row)
        return object_only(hash, info);
    NarRecord matched = **row;
    rows_.take();
    return check_nar(matched);
}

Result<void> ManifestCheck::finish() {
    return rows_.take_rest([this](const NarRecord& nar) { return check_nar(nar); });
}

// The object must hold exactly the manifest the database rebuilds, and that
// manifest must still be the one its name is the hash of.
Result<void> ManifestCheck::check_nar(const NarRecord& nar) {
    ++run_.report().manifests_checked;
    const auto key = bucket_key::manifest(nar.manifest_hash);
    auto manifest = run_.metadata().manifest(nar.manifest_hash);
    if (!manifest)
        return manifest.error();
    if (!*manifest)
        return {}; // removed since the page was read
    auto encoded = encode_manifest(**manifest);
    if (!encoded || Sha256::digest(as_bytes(*encoded)) != nar.manifest_hash)
        return run_.found(
            FsckFindingKind::manifest_inconsistent, key,
            "the database no longer rebuilds the manifest this name is the hash of (" +
                (encoded ? "a chunk's recorded size changed" : encoded.error().detail) + ")",
            cannot_repair("nothing automatic: the NAR's paths must be deleted and pushed again"));
    auto write = [&, text = *encoded]() -> Result<Mend> {
        if (auto put = run_.storage().put(key, as_bytes(text)); !put)
            return put.error();
        return Mend{"written from the database", true};
    };
    auto stored = read_object(run_.storage(), key, encoded->size());
    // A NAR that no path or staged upload uses, without its object, is an
    // upload that died between recording it and writing the object: nothing
    // serves it, the next upload of the same NAR writes the object, GC takes
    // it otherwise. No difference, like a claimed chunk no NAR uses.
    if (!stored && stored.error().code == ErrorCode::not_found && nar.unused_since)
        return {};
    if (!stored && stored.error().code == ErrorCode::not_found)
        return run_.found(FsckFindingKind::manifest_missing, key, "recorded NAR, no object", write);
    if (!stored && stored.error().code == ErrorCode::limit_exceeded)
        return run_.found(FsckFindingKind::manifest_differs, key,
                          "the object is longer than the manifest's " + bytes_text(encoded->size()),
                          write);
    if (!stored)
        return stored.error();
    if (as_chars(*stored) != std::string_view(*encoded))
        return run_.found(FsckFindingKind::manifest_differs, key,
                          "the object's " + bytes_text(stored->size()) +
                              " are not the manifest the database records",
                          write);
    return {};
}

// Ingest writes a manifest object before its NAR row: a row found now is an
// upload that finished during the walk.
Result<void> ManifestCheck::object_only(const Sha256Digest& hash, const ObjectInfo& info) {
    auto nar = run_.metadata().get_nar(hash);
    if (!nar)
        return nar.error();
    if (*nar)
        return {};
    return run_.orphan(bucket_key::manifest(hash), info);
}

} // namespace nixedge::lab::fsck
