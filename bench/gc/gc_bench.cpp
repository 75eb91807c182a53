// GC time on a bucket of ~100k objects: `nixedge-gc-bench CONFIG PATHS`.
// With the lab the config names (SQLite + a local directory, or PostgreSQL +
// S3), it publishes PATHS paths in an edge cache whose retention is 1 s, each
// with its own NAR of 9 chunks (small synthetic objects: GC's cost is per
// object and per row, not per byte), so the bucket holds 11 objects per path
// (9 chunks, a manifest, a narinfo) plus the listings and sync plan. Then it
// lets them expire and times the three GC runs that remove them: the paths
// (and their narinfos), a grace period later their NARs, a grace period after
// that their chunks. Prints one line of figures per run (key=value).
#include "app/gc.hpp"
#include "app/lab.hpp"
#include "config/server_config.hpp"
#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/keys.hpp"
#include "nixedge/narinfo.hpp"
#include "nixedge/sha256.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace nixedge;
using namespace nixedge::lab;

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::size_t chunks_per_nar = 9;
constexpr std::size_t chunk_bytes = 256;

[[noreturn]] void die(const std::string& what, const Error& error) {
    std::fprintf(stderr, "nixedge-gc-bench: %s: %s\n", what.c_str(), error.detail.c_str());
    std::exit(1);
}

template <class T> T must(Result<T> result, const std::string& what) {
    if (!result)
        die(what, result.error());
    return std::move(result).value();
}

void must(Result<void> result, const std::string& what) {
    if (!result)
        die(what, result.error());
}

double seconds_since(SteadyClock::time_point start) {
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string piece(std::size_t path, std::size_t chunk) {
    std::string text = "path " + std::to_string(path) + " chunk " + std::to_string(chunk) + " ";
    while (text.size() < chunk_bytes)
        text += text;
    return text.substr(0, chunk_bytes);
}

StorePath store_path_of(std::size_t index) {
    auto name = "gc-bench-" + std::to_string(index);
    auto digest = Sha256::digest(as_bytes(name));
    return StorePath{encoding::to_nix32(ByteView(digest).first(20)), name};
}

// One path: its chunks claimed, written and marked, its NAR recorded and
// its manifest written, its narinfo published.
void publish_one(Lab& lab, const SecretKey& key, std::size_t index) {
    auto& metadata = *lab.metadata;
    ChunkManifest manifest;
    std::string nar;
    std::vector<ChunkClaimRequest> requests;
    std::vector<std::string> pieces;
    for (std::size_t j = 0; j < chunks_per_nar; ++j) {
        pieces.push_back(piece(index, j));
        auto hash = Sha256::digest(as_bytes(pieces.back()));
        requests.push_back({hash, chunk_bytes, chunk_bytes});
        manifest.chunks.push_back(ChunkRef{hash, chunk_bytes, chunk_bytes});
        nar += pieces.back();
    }
    auto claims = must(metadata.claim_chunks(requests), "claim");
    std::vector<ChunkStoredRequest> marks;
    for (std::size_t j = 0; j < claims.size(); ++j) {
        must(lab.storage->put(bucket_key::chunk(requests[j].hash), as_bytes(pieces[j])), "put");
        marks.push_back({requests[j].hash, claims[j].claim_id});
    }
    must(metadata.mark_chunks_stored(marks), "mark");
    manifest.nar_hash = Sha256::digest(as_bytes(nar));
    manifest.nar_size = nar.size();
    auto manifest_hash = must(metadata.record_nar(manifest, std::nullopt), "record");
    auto text = must(encode_manifest(manifest), "encode");
    must(lab.storage->put(bucket_key::manifest(manifest_hash), as_bytes(text)), "put manifest");
    NarInfo info;
    info.store_path = store_path_of(index);
    info.url = nar_url(manifest_hash);
    info.compression = "zstd";
    info.file_size = manifest.stored_size();
    info.nar_hash = NixHash{manifest.nar_hash};
    info.nar_size = manifest.nar_size;
    sign_narinfo(info, key);
    must(metadata.publish_path("bench", info, std::nullopt), "publish");
}

void publish_all(Lab& lab, const SecretKey& key, std::size_t paths) {
    std::atomic<std::size_t> next{0};
    std::vector<std::jthread> workers;
    for (int t = 0; t < 8; ++t)
        workers.emplace_back([&] {
            for (auto i = next++; i < paths; i = next++)
                publish_one(lab, key, i);
        });
}

void report_run(const char* phase, Lab& lab, OutboxDrainer& drainer, const GcOptions& options) {
    auto start = SteadyClock::now();
    auto report = must(run_gc(lab, drainer, options), "gc");
    auto elapsed = seconds_since(start);
    auto objects = report.paths_removed + report.nars_deleted + report.chunks_deleted;
    std::printf("gc phase=%s seconds=%.3f paths=%llu nars=%llu chunks=%llu objects_per_s=%.0f\n",
                phase, elapsed, static_cast<unsigned long long>(report.paths_removed),
                static_cast<unsigned long long>(report.nars_deleted),
                static_cast<unsigned long long>(report.chunks_deleted),
                elapsed > 0 ? static_cast<double>(objects) / elapsed : 0.0);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: nixedge-gc-bench CONFIG PATHS\n");
        return 2;
    }
    auto config = must(load_config(argv[1], ProcessEnvironment{}), "config");
    const auto paths = static_cast<std::size_t>(std::stoul(argv[2]));
    auto lab = must(open_lab(config), "open");
    CacheSettings settings = default_cache_settings(config);
    settings.is_public = settings.edge_enabled = true;
    settings.retention_seconds = 1;
    auto key = must(generate_signing_key("bench-1"), "key");
    must(lab.metadata->create_cache("bench", settings, key), "create cache");
    OutboxDrainer drainer(lab.metadata, lab.storage);

    auto start = SteadyClock::now();
    publish_all(lab, key, paths);
    must(drainer.drain(), "drain");
    std::printf("setup paths=%zu objects=%zu seconds=%.3f\n", paths, paths * (chunks_per_nar + 2),
                seconds_since(start));
    std::fflush(stdout);

    auto options = gc_options(config);
    auto wait_grace = [&] {
        std::this_thread::sleep_for(options.orphan_grace + std::chrono::seconds(1));
    };
    std::this_thread::sleep_for(std::chrono::seconds(2)); // retention 1 s
    report_run("paths", lab, drainer, options);
    wait_grace();
    report_run("nars", lab, drainer, options);
    wait_grace();
    report_run("chunks", lab, drainer, options);
    return 0;
}
