// Builders shared by the metadata tests: a store on a temp file with a clock
// the test moves, keys, stored chunks, recorded NARs and signed narinfos.
// The databases themselves (SQLite, PostgreSQL) are in metadata_backends.hpp.
#pragma once

#include "metadata/sqlite_metadata_store.hpp"
#include "metadata_backends.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/keys.hpp"
#include "nixedge/narinfo.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace nixedge::test {

inline std::unique_ptr<lab::SqliteMetadataStore>
open_store(const std::filesystem::path& path, const TestClock& clock,
           lab::SqliteMetadataOptions options = {}) {
    options.clock = clock.clock();
    auto store = lab::SqliteMetadataStore::open(path, std::move(options));
    if (!store)
        FAIL("open: " << store.error().detail);
    return std::move(store).value();
}

inline SecretKey make_key(const std::string& name, std::uint8_t seed_byte = 1) {
    Bytes seed(32, seed_byte);
    auto key = secret_key_from_seed(name, seed);
    REQUIRE(key.ok());
    return std::move(key).value();
}

inline Sha256Digest digest_of(const std::string& text) {
    return Sha256::digest(as_bytes(text));
}

// A valid store hash (32 nix32 characters) derived from a label.
inline std::string store_hash(const std::string& label) {
    auto digest = digest_of(label);
    return encoding::to_nix32(ByteView(digest).first(20));
}

inline StorePath store_path(const std::string& label) {
    return StorePath{store_hash(label), label};
}

// Claims and stores one chunk per piece of text (raw size = text length,
// stored size = half of it, at least 1) and returns the NAR's manifest.
inline ChunkManifest store_chunks(lab::MetadataStore& store,
                                  const std::vector<std::string>& pieces) {
    ChunkManifest manifest;
    std::string nar;
    for (const auto& piece : pieces) {
        ChunkRef ref{digest_of(piece), piece.size(), piece.size() / 2 + 1};
        auto claim = store.claim_chunk(ref.hash, ref.raw_size, ref.stored_size);
        REQUIRE(claim.ok());
        if (claim->outcome == lab::ChunkClaimOutcome::claimed_by_me)
            REQUIRE(store.mark_chunk_stored(ref.hash, claim->claim_id).ok());
        ref.stored_size = claim->stored_size;
        manifest.chunks.push_back(ref);
        nar += piece;
    }
    manifest.nar_hash = digest_of(nar);
    manifest.nar_size = nar.size();
    return manifest;
}

struct RecordedNar {
    ChunkManifest manifest;
    Sha256Digest manifest_hash{};
};

inline RecordedNar record_nar(lab::MetadataStore& store, const std::vector<std::string>& pieces,
                              std::optional<std::string> listing = std::nullopt) {
    RecordedNar nar{store_chunks(store, pieces), {}};
    auto hash = store.record_nar(nar.manifest, listing);
    if (!hash)
        FAIL("record_nar: " << hash.error().detail);
    nar.manifest_hash = *hash;
    return nar;
}

// A narinfo as the publish code will make it: URL naming the manifest,
// zstd, FileSize, signed with `key`.
inline NarInfo make_narinfo(const StorePath& path, const RecordedNar& nar, const SecretKey& key,
                            std::vector<StorePath> references = {}) {
    NarInfo info;
    info.store_path = path;
    info.url = nar_url(nar.manifest_hash);
    info.compression = "zstd";
    info.file_size = nar.manifest.stored_size();
    info.nar_hash = NixHash{nar.manifest.nar_hash};
    info.nar_size = nar.manifest.nar_size;
    std::sort(references.begin(), references.end());
    info.references = std::move(references);
    sign_narinfo(info, key);
    return info;
}

inline lab::CacheSettings edge_settings() {
    lab::CacheSettings settings;
    settings.is_public = true;
    settings.edge_enabled = true;
    return settings;
}

// The outbox as "op key" lines, in drain order.
inline std::vector<std::string> outbox_lines(lab::MetadataStore& store) {
    auto entries = store.pending_outbox(10000);
    REQUIRE(entries.ok());
    std::vector<std::string> lines;
    for (const auto& entry : *entries)
        lines.push_back(std::string(lab::to_string(entry.op)) + " " + entry.key);
    return lines;
}

inline void drain_outbox(lab::MetadataStore& store) {
    auto entries = store.pending_outbox(10000);
    REQUIRE(entries.ok());
    for (const auto& entry : *entries)
        REQUIRE(store.complete_outbox(entry.id).ok());
}

} // namespace nixedge::test
