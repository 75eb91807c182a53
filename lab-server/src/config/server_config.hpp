// The lab server's configuration: one struct whose member initializers are
// the defaults (and the only place they are written), filled from
// server.toml and the environment, and validated completely at load. The
// checked-in lab-server/server.toml lists every key with its default, unit
// and meaning; tests keep it and this struct in step.
//
// Rules of the file: unknown keys and sections are errors (with their dotted
// path), so are wrong types and out-of-range values; every problem is
// reported at once. Sizes are integers in bytes; durations are strings such as
// "30s", "15m", "1h", "30d", "1y" (config/duration.hpp). Relative paths:
// server.data_dir is relative to the server's working directory; the SQLite
// file of database.url and storage.path are relative to server.data_dir. A
// loaded config holds them made absolute, so it says exactly what the server
// uses and renders back to a file that loads to the same config. Secrets never
// come from the file (config/secrets.hpp).
#pragma once

#include "config/duration.hpp"
#include "config/environment.hpp"
#include "nixedge/bytes.hpp"
#include "nixedge/chunker.hpp"
#include "nixedge/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab {

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;

struct ListenAddress {
    std::string host = "127.0.0.1"; // an IPv6 address without its brackets
    std::uint16_t port = 8080;      // 0: any free port (what tests use)

    std::string to_string() const; // brackets IPv6 hosts again
    bool operator==(const ListenAddress&) const = default;
};

// "host:port" with host an IPv4 address, a name, or "[IPv6]". Nothing is resolved.
Result<ListenAddress> parse_listen_address(std::string_view text);

enum class StorageType { local, s3 };
// How S3 URLs name the bucket: endpoint/bucket/key or bucket.endpoint/key.
enum class S3Addressing { path, virtual_host };

struct ServerConfig {
    // Per-request limits: anything larger is refused before it is read.
    struct Limits {
        std::uint64_t max_header_bytes = 16 * KiB; // request line + all headers
        std::uint64_t max_narinfo_bytes = 64 * KiB;
        std::uint64_t max_nar_bytes = 64 * GiB; // one NAR upload, as sent
        // Open connections at once; more are answered 503 and closed.
        std::uint64_t max_connections = 1024;
        bool operator==(const Limits&) const = default;
    };
    struct Timeouts {
        Seconds request_header{30}; // from connection or previous response to a full header
        Seconds read{60};           // longest pause while a request body arrives
        Seconds write{60};          // longest pause while a response is sent
        Seconds idle{75};           // keep-alive connection with no request
        bool operator==(const Timeouts&) const = default;
    };
    struct Server {
        ListenAddress listen;
        std::uint32_t io_threads = 0;     // 0: one per core
        std::uint32_t worker_threads = 0; // CPU-heavy work (hashing, zstd); 0: one per core
        std::filesystem::path data_dir = "./nixedge-data";
        // The URL clients reach this server at (behind an ingress: its public
        // one), told to them as Attic's api_endpoint and, with the cache name,
        // substituter_endpoint. Empty: "http://<the request's Host>/".
        std::string public_url;
        Limits limits;
        Timeouts timeouts;
        bool operator==(const Server&) const = default;
    };
    struct Database {
        // sqlite://<file> (relative: to data_dir) or postgresql://... /
        // postgres://... (libpq's URL form). A URL with a password belongs in
        // NIXEDGE_DATABASE_URL, which replaces this.
        std::string url = "sqlite://nixedge.sqlite";
        // Connections this process's pool may hold, for PostgreSQL and SQLite
        // alike (both pools open them lazily, up to this). On PostgreSQL every
        // replica's pool counts against the server's max_connections.
        std::uint32_t max_connections = 8;

        // The file of a sqlite:// URL (absolute once loaded); empty for other schemes.
        std::filesystem::path sqlite_file() const;
        // A postgresql:// or postgres:// URL.
        bool is_postgres() const;
        bool operator==(const Database&) const = default;
    };
    // [storage.s3]: read only when storage.type is "s3" (then checked at load).
    struct S3 {
        std::string endpoint; // "http(s)://host[:port]"
        std::string region = "us-east-1";
        std::string bucket;
        S3Addressing addressing = S3Addressing::path;
        bool missing_on_403 = false; // 403 on HEAD/GET means "no such object"
        std::uint32_t max_idle_connections = 16;
        std::uint32_t max_attempts = 4; // per request, the first included
        Seconds connect_timeout{5};
        Seconds request_timeout{60};
        // From the environment only (config/secrets.hpp); required for "s3".
        std::string access_key_id;
        std::string secret_access_key;
        bool operator==(const S3&) const = default;
    };
    struct Storage {
        StorageType type = StorageType::local;
        std::filesystem::path path = "bucket"; // relative: to data_dir
        S3 s3;
        bool operator==(const Storage&) const = default;
    };
    struct Chunking {
        ChunkerParams sizes; // FastCDC min/avg/max bytes; defaults live in ChunkerParams
        int zstd_level = 3;  // per chunk; 1..19
        bool operator==(const Chunking&) const = default;
    };
    struct Caches {
        // Defaults for new caches. Priority 41 sits just behind cache.nixos.org (40).
        std::int32_t default_priority = 41;
        Seconds default_retention{0}; // 0: keep forever
        bool operator==(const Caches&) const = default;
    };
    struct Uploads {
        // How long a NAR that Nix uploaded may wait for its narinfo before GC.
        Seconds staged_upload_timeout{3600};
        bool operator==(const Uploads&) const = default;
    };
    // Garbage collection in the server (and `nixedge-server gc`).
    struct Gc {
        Seconds interval{3600}; // between runs of all replicas together; 0: no periodic GC
        // How long an unused NAR or chunk stays before GC deletes it; must
        // exceed what the sync and the edge take to forget it (check at load).
        Seconds orphan_grace{3 * 3600};
        bool operator==(const Gc&) const = default;
    };
    // What the server knows of the sync to the edge (k8s/r2-sync-cronjob.yaml).
    struct Sync {
        Seconds interval{15 * 60};      // the sync job's period
        Seconds max_duration{3600};     // the longest a sync run may take
        Seconds edge_narinfo_ttl{3600}; // the edge Worker's NARINFO_TTL
        bool operator==(const Sync&) const = default;
    };
    struct Auth {
        Seconds clock_skew{0}; // leeway for exp, nbf and iat (Attic allows none)
        std::vector<std::string> revoked_subjects;  // tokens whose `sub` is listed are refused
        std::vector<std::string> revoked_token_ids; // SHA-256 (hex) of refused tokens
        // From the environment only (config/secrets.hpp). nullopt: no token is valid.
        std::optional<Bytes> token_hs256_secret;
        bool operator==(const Auth&) const = default;
    };

    Server server;
    Database database;
    Storage storage;
    Chunking chunking;
    Caches caches;
    Uploads uploads;
    Gc gc;
    Sync sync;
    Auth auth;

    bool operator==(const ServerConfig&) const = default;
};

Result<ServerConfig> parse_config(std::string_view toml_text, const Environment& env);
Result<ServerConfig> load_config(const std::filesystem::path& path, const Environment& env);

// The configuration as server.toml text with every key, for `config show` and
// tests. Secrets are left out; a password in the database URL is masked.
std::string render_config(const ServerConfig& config);

} // namespace nixedge::lab
