// Checks the core against a binary cache freshly made by the real Nix
// (tests/nix/make-nix-cache.sh; NIXEDGE_NIX_CACHE_DIR points at it).
#include "nixedge/bucket_layout.hpp"
#include "nixedge/chunker.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/manifest.hpp"
#include "nixedge/nar.hpp"
#include "nixedge/nar_listing.hpp"
#include "nixedge/narinfo.hpp"
#include "nixedge/zstd_frames.hpp"
#include "test_files.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace nixedge;

namespace {

std::filesystem::path cache_root() {
    const char* dir = std::getenv("NIXEDGE_NIX_CACHE_DIR");
    REQUIRE(dir != nullptr);
    return dir;
}

SecretKey nix_secret_key() {
    auto key = parse_secret_key(test::trim_newline(test::read_file(cache_root() / "sk")));
    REQUIRE(key.ok());
    return *key;
}

struct NixPath {
    NarInfo info;
    std::string narinfo_text;
    std::string nar; // `nix-store --dump` of the path
};

std::vector<NixPath> nix_paths() {
    std::vector<NixPath> out;
    for (const auto& file : test::files_with_suffix(cache_root() / "cache", ".narinfo")) {
        auto text = test::read_file(file);
        auto info = parse_narinfo(text);
        INFO(file.string());
        REQUIRE(info.ok());
        auto nar = test::read_file(cache_root() / "nars" / (info->store_path.hash + ".nar"));
        out.push_back({std::move(info).value(), std::move(text), std::move(nar)});
    }
    REQUIRE(out.size() >= 6);
    return out;
}

} // namespace

TEST_CASE("narinfos: parse, serialize byte for byte, fingerprints and signatures", "[nix]") {
    auto secret = nix_secret_key();
    auto public_key = parse_public_key(test::trim_newline(test::read_file(cache_root() / "pk")));
    REQUIRE(public_key.ok());
    CHECK(secret.public_key() == *public_key);
    TrustedKeys trusted;
    REQUIRE(trusted.add(*public_key).ok());

    for (const auto& path : nix_paths()) {
        INFO(path.info.store_path.full());
        CHECK(serialize_narinfo(path.info) == path.narinfo_text);
        CHECK(verify_narinfo(path.info, trusted).has_value());
        auto resigned = path.info;
        resigned.signatures.clear();
        sign_narinfo(resigned, secret);
        CHECK(resigned.signatures == path.info.signatures);
    }
}

TEST_CASE("NAR hashes and sizes of `nix-store --dump` match the narinfos", "[nix]") {
    for (const auto& path : nix_paths()) {
        INFO(path.info.store_path.full());
        CHECK(path.nar.size() == path.info.nar_size);
        CHECK(Sha256::digest(as_bytes(path.nar)) == path.info.nar_hash.digest);
        // Nix's own file cache (compression=none) holds the same bytes.
        auto cached = test::read_file(cache_root() / "cache" / path.info.url);
        CHECK(cached == path.nar);
    }
}

TEST_CASE("NARs from `nix-store --dump`: parsed, rewritten byte for byte, listed as Nix lists",
          "[nix]") {
    for (const auto& path : nix_paths()) {
        INFO(path.info.store_path.full());
        // Parse in awkward slices, re-serialize every event with NarWriter.
        NarParser parser;
        NarWriter writer;
        auto nar = as_bytes(path.nar);
        NarListingBuilder listing;
        for (std::size_t at = 0; at < nar.size(); at += 7) {
            REQUIRE(parser.feed(nar.subspan(at, std::min<std::size_t>(7, nar.size() - at))).ok());
            while (true) {
                auto event = parser.next();
                REQUIRE(event.ok());
                if (event->type == NarEventType::need_input)
                    break;
                REQUIRE(writer.add(*event).ok());
                REQUIRE(listing.add(*event).ok());
            }
        }
        REQUIRE(parser.finish().ok());
        CHECK(writer.take_output() == Bytes(nar.begin(), nar.end()));

        // Nix's own listing, written by `nix copy --to file://...?write-nar-listing=true`.
        auto listed = listing.finish();
        REQUIRE(listed.ok());
        CHECK(*listed ==
              test::read_file(cache_root() / "cache" / (path.info.store_path.hash + ".ls")));
    }
}

TEST_CASE("NARs Nix compressed with zstd decode to `nix-store --dump`", "[nix]") {
    auto decompressor = ZstdDecompressor::create();
    REQUIRE(decompressor.ok());
    for (const auto& path : nix_paths()) {
        INFO(path.info.store_path.full());
        auto text =
            test::read_file(cache_root() / "cache-zstd" / (path.info.store_path.hash + ".narinfo"));
        auto info = parse_narinfo(text);
        REQUIRE(info.ok());
        CHECK(info->compression == "zstd");
        auto compressed = test::read_file(cache_root() / "cache-zstd" / info->url);
        CHECK(compressed.size() == info->file_size.value_or(0));
        CHECK(Sha256::digest(as_bytes(compressed)) == info->file_hash.value_or(NixHash{}).digest);
        std::string decoded;
        REQUIRE(
            decompressor
                ->feed(as_bytes(compressed), [&](ByteView out) { decoded.append(as_chars(out)); })
                .ok());
        REQUIRE(decompressor->finish().ok());
        CHECK(decoded == path.nar);
    }
}

// The NAR as the lab stores it: content-defined chunks, one zstd frame each;
// the concatenated frames are what a client downloads as nar/<manifest>.nar.zst.
struct StoredNar {
    ChunkManifest manifest;
    Bytes frames;
};

StoredNar store_like_the_lab(const NixPath& path) {
    // Small chunks so that even these small NARs span several frames.
    auto chunker = Chunker::create({.min_size = 64, .avg_size = 256, .max_size = 1024});
    auto compressor = ZstdCompressor::create();
    REQUIRE(chunker.ok());
    REQUIRE(compressor.ok());
    StoredNar stored;
    stored.manifest.nar_hash = path.info.nar_hash.digest;
    stored.manifest.nar_size = path.info.nar_size;
    auto add_chunk = [&](ByteView chunk) {
        auto before = stored.frames.size();
        REQUIRE(compressor->compress_frame(chunk, stored.frames).ok());
        stored.manifest.chunks.push_back(
            {Sha256::digest(chunk), chunk.size(), stored.frames.size() - before});
    };
    chunker->feed(as_bytes(path.nar), add_chunk);
    chunker->finish(add_chunk);
    return stored;
}

// Writes cache_root()/ours: Nix's cache rewritten the way the lab publishes:
// each NAR as concatenated zstd frames named by its manifest, narinfos with
// `Compression: zstd`, FileSize = stored bytes, no FileHash, signed by a key
// made by the core (never seen by Nix); and ours.pk. run-crosscheck.sh then has
// the real Nix substitute every path from it, trusting only that key.
TEST_CASE("narinfos and NARs published as the lab will, for Nix to substitute", "[nix]") {
    auto key = secret_key_from_seed("nixedge-core-1", Bytes(32, 42));
    REQUIRE(key.ok());
    auto ours = cache_root() / "ours";
    std::filesystem::create_directories(ours / "nar");
    std::filesystem::copy_file(cache_root() / "cache" / "nix-cache-info", ours / "nix-cache-info");
    for (const auto& path : nix_paths()) {
        auto stored = store_like_the_lab(path);
        CHECK(stored.manifest.chunks.size() >= (path.nar.size() > 1024 ? 2u : 1u));
        auto encoded = encode_manifest(stored.manifest);
        REQUIRE(encoded.ok());
        auto info = path.info;
        info.url = nar_url(Sha256::digest(as_bytes(*encoded)));
        info.compression = "zstd";
        info.file_hash.reset();
        info.file_size = stored.manifest.stored_size();
        CHECK(*info.file_size == stored.frames.size());
        info.signatures.clear();
        sign_narinfo(info, *key);
        std::ofstream(ours / info.url, std::ios::binary)
            .write(reinterpret_cast<const char*>(stored.frames.data()),
                   static_cast<std::streamsize>(stored.frames.size()));
        std::ofstream(ours / (info.store_path.hash + ".narinfo"), std::ios::binary)
            << serialize_narinfo(info);
    }
    std::ofstream(cache_root() / "ours.pk") << key->public_key().to_string();
}
