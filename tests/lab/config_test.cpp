#include "config/duration.hpp"
#include "config/environment.hpp"
#include "config/secrets.hpp"
#include "config/server_config.hpp"

#include "test_files.hpp"

#include <catch2/catch.hpp>
#include <toml++/toml.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace nixedge;
using namespace nixedge::lab;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path reference_file =
    std::filesystem::path(NIXEDGE_SOURCE_DIR) / "lab-server" / "server.toml";

ServerConfig parse_ok(std::string_view text, const Environment& env = FixedEnvironment{}) {
    auto config = parse_config(text, env);
    INFO(text);
    if (!config)
        FAIL_CHECK(config.error().detail);
    REQUIRE(config);
    return std::move(config.value());
}

// The error text of a config that must fail to load.
std::string parse_error(std::string_view text, const Environment& env = FixedEnvironment{}) {
    auto config = parse_config(text, env);
    INFO(text);
    REQUIRE_FALSE(config);
    CHECK(config.error().code == ErrorCode::invalid_argument);
    return config.error().detail;
}

std::filesystem::path absolute_in_cwd(const std::filesystem::path& path) {
    return (std::filesystem::current_path() / path).lexically_normal();
}

// Dotted paths of every value (non-table node) in a TOML table.
void collect_leaf_keys(const toml::table& table, const std::string& prefix,
                       std::vector<std::string>& out) {
    for (auto&& [name, node] : table) {
        auto path =
            prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
        if (const auto* section = node.as_table())
            collect_leaf_keys(*section, path, out);
        else
            out.push_back(path);
    }
}

std::string hex_of_bytes(std::size_t count, char digit = 'a') {
    return std::string(count * 2, digit);
}

} // namespace

// ---- durations ----------------------------------------------------------------

TEST_CASE("durations: every unit, combinations and zero", "[config]") {
    CHECK(parse_duration("0").value() == 0s);
    CHECK(parse_duration("90s").value() == 90s);
    CHECK(parse_duration("15m").value() == 15min);
    CHECK(parse_duration("1h").value() == 1h);
    CHECK(parse_duration("30d").value() == 30 * 24h);
    CHECK(parse_duration("2w").value() == 14 * 24h);
    CHECK(parse_duration("1h30m").value() == 90min);
    CHECK(parse_duration("0s").value() == 0s);
}

TEST_CASE("durations: a year is 365.25 days, as in atticadm's humantime", "[config][auth]") {
    CHECK(parse_duration("1y").value() == Seconds{31'557'600});
    CHECK(parse_duration("2y").value() == Seconds{63'115'200});
}

TEST_CASE("durations: malformed text is refused with a hint", "[config]") {
    for (std::string_view bad : {"", "10", "h", "1x", "1M", "1.5h", "-1h", " 1h", "1h ", "1 h",
                                 "1h30", "99999999999999999999s", "999999999999y"}) {
        INFO(bad);
        auto parsed = parse_duration(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == ErrorCode::invalid_argument);
        CHECK_THAT(parsed.error().detail, Catch::Contains("\"30d\""));
    }
}

TEST_CASE("durations: format picks the largest exact unit and parses back", "[config]") {
    CHECK(format_duration(0s) == "0");
    CHECK(format_duration(90s) == "90s");
    CHECK(format_duration(90min) == "90m");
    CHECK(format_duration(1h) == "1h");
    CHECK(format_duration(30 * 24h) == "30d");
    CHECK(format_duration(14 * 24h) == "2w");
    CHECK(format_duration(Seconds{31'557'600}) == "1y");
    for (auto seconds : {1, 59, 61, 3601, 86'399, 604'800, 31'557'601})
        CHECK(parse_duration(format_duration(Seconds{seconds})).value() == Seconds{seconds});
}

// ---- defaults and the reference file -------------------------------------------

TEST_CASE("config: the defaults are the documented ones", "[config]") {
    ServerConfig d;
    CHECK(d.server.listen.to_string() == "127.0.0.1:8080");
    CHECK(d.server.io_threads == 0);
    CHECK(d.server.worker_threads == 0);
    CHECK(d.server.data_dir == "./nixedge-data");
    CHECK(d.server.limits.max_header_bytes == 16 * 1024);
    CHECK(d.server.limits.max_narinfo_bytes == 64 * 1024);
    CHECK(d.server.limits.max_nar_bytes == 64ull << 30);
    CHECK(d.server.timeouts.request_header == 30s);
    CHECK(d.server.timeouts.read == 60s);
    CHECK(d.server.timeouts.write == 60s);
    CHECK(d.server.timeouts.idle == 75s);
    CHECK(d.database.url == "sqlite://nixedge.sqlite");
    CHECK(d.database.max_connections == 8);
    CHECK(d.storage.type == StorageType::local);
    CHECK(d.storage.path == "bucket");
    CHECK(d.chunking.sizes.min_size == 256 * 1024);
    CHECK(d.chunking.sizes.avg_size == 1024 * 1024);
    CHECK(d.chunking.sizes.max_size == 4 * 1024 * 1024);
    CHECK(d.chunking.zstd_level == 3);
    CHECK(d.caches.default_priority == 41);
    CHECK(d.caches.default_retention == 0s);
    CHECK(d.uploads.staged_upload_timeout == 1h);
    CHECK(d.auth.clock_skew == 0s);
    CHECK(d.auth.revoked_subjects.empty());
    CHECK(d.auth.revoked_token_ids.empty());
    CHECK_FALSE(d.auth.token_hs256_secret);
}

TEST_CASE("config: an empty file loads the defaults, paths made absolute", "[config]") {
    auto config = parse_ok("");
    auto data_dir = absolute_in_cwd("nixedge-data");
    CHECK(config.server.data_dir == data_dir);
    CHECK(config.storage.path == data_dir / "bucket");
    CHECK(config.database.url == "sqlite://" + (data_dir / "nixedge.sqlite").string());
    CHECK(config.database.sqlite_file() == data_dir / "nixedge.sqlite");

    // Everything without a path in it is the struct's default, untouched.
    ServerConfig expected;
    expected.server.data_dir = config.server.data_dir;
    expected.storage.path = config.storage.path;
    expected.database.url = config.database.url;
    CHECK(config == expected);
}

TEST_CASE("config: the reference server.toml loads to exactly the defaults", "[config]") {
    auto reference = load_config(reference_file, FixedEnvironment{});
    if (!reference)
        FAIL(reference.error().detail);
    CHECK(*reference == parse_ok(""));
}

TEST_CASE("config: every key the server reads is documented in the reference file", "[config]") {
    auto documented = toml::parse_file(reference_file.string());
    // render_config writes every key the server reads (one field list drives both).
    auto rendered = toml::parse(render_config(parse_ok("")));
    std::vector<std::string> keys;
    collect_leaf_keys(rendered, "", keys);
    CHECK(keys.size() == 41);
    for (const auto& key : keys) {
        INFO("key " << key << " is missing from lab-server/server.toml");
        CHECK(documented.at_path(key));
    }
    // And the other way: nothing in the reference that the server would refuse.
    std::vector<std::string> documented_keys;
    collect_leaf_keys(documented, "", documented_keys);
    std::sort(keys.begin(), keys.end());
    std::sort(documented_keys.begin(), documented_keys.end());
    CHECK(documented_keys == keys);
}

TEST_CASE("config: every key in the reference file has a comment above it", "[config]") {
    std::istringstream lines(test::read_file(reference_file));
    std::string line;
    std::string previous;
    while (std::getline(lines, line)) {
        bool is_key = !line.empty() && line[0] != '#' && line[0] != '[' &&
                      line.find(" = ") != std::string::npos;
        if (is_key) {
            INFO(line);
            CHECK(previous.starts_with("#"));
        }
        previous = line;
    }
}

// ---- overriding every key -------------------------------------------------------

constexpr std::string_view every_key_changed = R"(
[server]
listen = "[::1]:9000"
io_threads = 4
worker_threads = 3
data_dir = "/srv/nixedge"
public_url = "https://cache.example.org/"
[server.limits]
max_header_bytes = 32768
max_narinfo_bytes = 131072
max_nar_bytes = 1073741824
max_connections = 200
[server.timeouts]
request_header = "10s"
read = "2m"
write = "3m"
idle = "1h"
[database]
url = "sqlite:///var/lib/nixedge/meta.sqlite"
max_connections = 32
[storage]
type = "local"
path = "/mnt/bucket"
[chunking]
min_size = 65536
avg_size = 262144
max_size = 1048576
zstd_level = 19
[caches]
default_priority = 10
default_retention = "30d"
[uploads]
staged_upload_timeout = "6h"
[auth]
clock_skew = "1m"
revoked_subjects = ["mallory", "ci-old"]
revoked_token_ids = ["0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]
)";

TEST_CASE("config: every key can be overridden", "[config]") {
    auto c = parse_ok(every_key_changed);
    CHECK(c.server.listen == ListenAddress{"::1", 9000});
    CHECK(c.server.io_threads == 4);
    CHECK(c.server.worker_threads == 3);
    CHECK(c.server.data_dir == "/srv/nixedge");
    CHECK(c.server.public_url == "https://cache.example.org/");
    CHECK(c.server.limits.max_header_bytes == 32768);
    CHECK(c.server.limits.max_narinfo_bytes == 131072);
    CHECK(c.server.limits.max_nar_bytes == 1073741824);
    CHECK(c.server.limits.max_connections == 200);
    CHECK(c.server.timeouts.request_header == 10s);
    CHECK(c.server.timeouts.read == 2min);
    CHECK(c.server.timeouts.write == 3min);
    CHECK(c.server.timeouts.idle == 1h);
    CHECK(c.database.url == "sqlite:///var/lib/nixedge/meta.sqlite");
    CHECK(c.database.sqlite_file() == "/var/lib/nixedge/meta.sqlite");
    CHECK(c.database.max_connections == 32);
    CHECK(c.storage.path == "/mnt/bucket");
    CHECK(c.chunking.sizes == ChunkerParams{65536, 262144, 1048576});
    CHECK(c.chunking.zstd_level == 19);
    CHECK(c.caches.default_priority == 10);
    CHECK(c.caches.default_retention == 30 * 24h);
    CHECK(c.uploads.staged_upload_timeout == 6h);
    CHECK(c.auth.clock_skew == 1min);
    CHECK(c.auth.revoked_subjects == std::vector<std::string>{"mallory", "ci-old"});
    CHECK(c.auth.revoked_token_ids.size() == 1);

    // No field kept its default.
    auto d = parse_ok("");
    CHECK(c.server.listen != d.server.listen);
    CHECK(c.server.limits != d.server.limits);
    CHECK(c.database.max_connections != d.database.max_connections);
    CHECK(c.server.timeouts.request_header != d.server.timeouts.request_header);
    CHECK(c.server.timeouts.read != d.server.timeouts.read);
    CHECK(c.server.timeouts.write != d.server.timeouts.write);
    CHECK(c.server.timeouts.idle != d.server.timeouts.idle);
    CHECK(c.chunking.sizes.min_size != d.chunking.sizes.min_size);
    CHECK(c.chunking.sizes.avg_size != d.chunking.sizes.avg_size);
    CHECK(c.chunking.sizes.max_size != d.chunking.sizes.max_size);
}

TEST_CASE("config: a rendered config loads back to itself", "[config]") {
    auto original = parse_ok(every_key_changed);
    CHECK(parse_ok(render_config(original)) == original);
    auto defaults = parse_ok("");
    CHECK(parse_ok(render_config(defaults)) == defaults);
}

// ---- unknown keys, wrong types, ranges -------------------------------------------

TEST_CASE("config: unknown keys and sections are refused with their dotted path", "[config]") {
    CHECK_THAT(parse_error("[server]\nlisten_address = \"x\"\n"),
               Catch::Contains("unknown key server.listen_address"));
    CHECK_THAT(parse_error("[server.limits]\nmax_body_bytes = 1\n"),
               Catch::Contains("unknown key server.limits.max_body_bytes"));
    CHECK_THAT(parse_error("colour = \"blue\"\n"), Catch::Contains("unknown key colour"));
    CHECK_THAT(parse_error("[garbage_collection]\ninterval = \"1h\"\n"),
               Catch::Contains("unknown section [garbage_collection]"));
    CHECK_THAT(parse_error("[server.limitz]\n"),
               Catch::Contains("unknown section [server.limitz]"));
    CHECK_THAT(parse_error("[storage]\ntype = \"local\"\nbucket = \"b\"\n"),
               Catch::Contains("unknown key storage.bucket"));
}

TEST_CASE("config: wrong types are refused, naming key, expected and found type", "[config]") {
    CHECK_THAT(parse_error("[server]\nio_threads = \"4\"\n"),
               Catch::Contains("server.io_threads: expected an integer, got a string"));
    CHECK_THAT(parse_error("[server]\nlisten = 8080\n"),
               Catch::Contains("server.listen: expected a string, got an integer"));
    CHECK_THAT(parse_error("[server.timeouts]\nread = 60\n"),
               Catch::Contains("server.timeouts.read: expected a string, got an integer"));
    CHECK_THAT(parse_error("[chunking]\nzstd_level = 3.0\n"),
               Catch::Contains("chunking.zstd_level: expected an integer, got a float"));
    CHECK_THAT(
        parse_error("[auth]\nrevoked_subjects = \"mallory\"\n"),
        Catch::Contains("auth.revoked_subjects: expected an array of strings, got a string"));
    CHECK_THAT(parse_error("[auth]\nrevoked_subjects = [1]\n"),
               Catch::Contains("auth.revoked_subjects: expected a string in the array"));
    CHECK_THAT(parse_error("server = 1\n"),
               Catch::Contains("server: expected a table, got an integer"));
    CHECK_THAT(parse_error("[server.listen]\nhost = \"x\"\n"),
               Catch::Contains("server.listen: expected a string, got a table"));
    CHECK_THAT(parse_error("[server]\ndata_dir = \"\"\n"),
               Catch::Contains("server.data_dir: is empty"));
}

TEST_CASE("config: out-of-range values are refused with the range", "[config]") {
    CHECK_THAT(parse_error("[server]\nio_threads = 1000\n"),
               Catch::Contains("server.io_threads: 1000 is out of range 0..256"));
    CHECK_THAT(parse_error("[server]\nworker_threads = -1\n"),
               Catch::Contains("server.worker_threads: -1 is out of range 0..256"));
    CHECK_THAT(parse_error("[server.limits]\nmax_header_bytes = 10\n"),
               Catch::Contains("server.limits.max_header_bytes: 10 is out of range 1024..1048576"));
    CHECK_THAT(parse_error("[chunking]\nzstd_level = 0\n"),
               Catch::Contains("chunking.zstd_level: 0 is out of range 1..19"));
    CHECK_THAT(parse_error("[chunking]\nzstd_level = 20\n"),
               Catch::Contains("chunking.zstd_level: 20 is out of range 1..19"));
    CHECK_THAT(parse_error("[caches]\ndefault_priority = -1\n"),
               Catch::Contains("caches.default_priority: -1 is out of range"));
    CHECK_THAT(parse_error("[uploads]\nstaged_upload_timeout = \"10s\"\n"),
               Catch::Contains("uploads.staged_upload_timeout: \"10s\" is out of range 1m..30d"));
    CHECK_THAT(parse_error("[server.timeouts]\nidle = \"0\"\n"),
               Catch::Contains("server.timeouts.idle: \"0\" is out of range 1s..1h"));
    CHECK_THAT(parse_error("[chunking]\nmin_size = -5\n"),
               Catch::Contains("chunking.min_size: -5 is out of range"));
    CHECK_THAT(parse_error("[database]\nmax_connections = 2\n"),
               Catch::Contains("database.max_connections: 2 is out of range 3..1000"));
    CHECK_THAT(parse_error("[database]\nmax_connections = 1001\n"),
               Catch::Contains("database.max_connections: 1001 is out of range 3..1000"));
    CHECK(parse_ok("[database]\nmax_connections = 3\n").database.max_connections == 3);
    CHECK(parse_ok("[database]\nmax_connections = 1000\n").database.max_connections == 1000);
}

TEST_CASE("config: the GC grace period must outlast the sync and the edge's narinfo TTL",
          "[config]") {
    CHECK_THAT(parse_error("[gc]\norphan_grace = \"2h\"\n"),
               Catch::Contains("gc.orphan_grace: 2h must exceed sync.interval + "
                               "sync.max_duration + sync.edge_narinfo_ttl (15m + 1h + 1h = 135m)"));
    CHECK_THAT(parse_error("[gc]\norphan_grace = \"10s\"\n[sync]\ninterval = \"3s\"\n"
                           "max_duration = \"3s\"\nedge_narinfo_ttl = \"4s\"\n"),
               Catch::Contains("(3s + 3s + 4s = 10s)"));
    auto short_cycle = parse_ok("[gc]\ninterval = \"0\"\norphan_grace = \"11s\"\n[sync]\n"
                                "interval = \"3s\"\nmax_duration = \"3s\"\n"
                                "edge_narinfo_ttl = \"4s\"\n");
    CHECK(short_cycle.gc.interval == Seconds{0});
    CHECK(short_cycle.gc.orphan_grace == Seconds{11});
}

TEST_CASE("config: server.public_url is an http(s) URL and ends with a slash", "[config]") {
    CHECK(parse_ok("[server]\npublic_url = \"https://cache.example.org\"\n").server.public_url ==
          "https://cache.example.org/");
    CHECK(parse_ok("[server]\npublic_url = \"http://10.0.0.1:8080/nix/\"\n").server.public_url ==
          "http://10.0.0.1:8080/nix/");
    // No user:password@: clients are told this URL (and it renders masked).
    for (const char* bad : {"cache.example.org", "ftp://cache.example.org/", "https://",
                            "https://cache.example.org/?x=1", "https://u:pw@cache.example.org/"}) {
        auto error = parse_error(std::string("[server]\npublic_url = \"") + bad + "\"\n");
        CHECK(error.find("server.public_url") != std::string::npos);
    }
}

TEST_CASE("config: a data_dir with '?' is refused (the SQLite URL under it could not load back)",
          "[config]") {
    CHECK_THAT(parse_error("[server]\ndata_dir = \"/var?lib/nixedge\"\n"),
               Catch::Contains("server.data_dir") && Catch::Contains("'?'"));
}

TEST_CASE("config: chunk sizes are checked together by the chunker's rules", "[config]") {
    CHECK_THAT(parse_error("[chunking]\navg_size = 1000000\n"),
               Catch::Contains("chunking: ") && Catch::Contains("power of two"));
    CHECK_THAT(parse_error("[chunking]\nmin_size = 2097152\n"), Catch::Contains("chunking: "));
    CHECK_THAT(parse_error("[chunking]\nmax_size = 1048576\n"), Catch::Contains("chunking: "));
}

TEST_CASE("config: bad durations are refused with the key", "[config]") {
    CHECK_THAT(parse_error("[caches]\ndefault_retention = \"30 days\"\n"),
               Catch::Contains("caches.default_retention: duration \"30 days\""));
    CHECK_THAT(parse_error("[server.timeouts]\nread = \"60\"\n"),
               Catch::Contains("server.timeouts.read: duration \"60\" ends without a unit"));
    CHECK_THAT(parse_error("[uploads]\nstaged_upload_timeout = \"1M\"\n"),
               Catch::Contains("unknown unit 'M'"));
}

TEST_CASE("config: every problem is reported at once", "[config]") {
    auto error =
        parse_error("[server]\nio_threads = \"x\"\nbogus = 1\n[chunking]\nzstd_level = 99\n");
    CHECK_THAT(error, Catch::Contains("server.io_threads"));
    CHECK_THAT(error, Catch::Contains("unknown key server.bogus"));
    CHECK_THAT(error, Catch::Contains("chunking.zstd_level"));
}

TEST_CASE("config: TOML syntax errors give line and column", "[config]") {
    CHECK_THAT(parse_error("[server]\nlisten = \"unterminated\n"), Catch::Contains("line 2"));
    CHECK_THAT(parse_error("[server]\n[server]\n"), Catch::Contains("line 2"));
}

TEST_CASE("config: listen addresses", "[config]") {
    CHECK(parse_listen_address("0.0.0.0:80").value() == ListenAddress{"0.0.0.0", 80});
    CHECK(parse_listen_address("localhost:0").value() == ListenAddress{"localhost", 0});
    CHECK(parse_listen_address("[::]:8080").value() == ListenAddress{"::", 8080});
    CHECK(parse_listen_address("[::]:8080")->to_string() == "[::]:8080");
    for (std::string_view bad :
         {"", "127.0.0.1", "127.0.0.1:", ":8080", "::1:8080", "[::1]", "[::1]8080", "[]:80",
          "[zz]:80", "host:65536", "host:80a", "ho st:80", "host:-1"}) {
        INFO(bad);
        CHECK_FALSE(parse_listen_address(bad));
    }
    CHECK_THAT(parse_error("[server]\nlisten = \"8080\"\n"),
               Catch::Contains("server.listen: listen address \"8080\" has no port"));
}

// ---- paths, database and storage --------------------------------------------------

TEST_CASE("config: relative paths are resolved against the data dir", "[config]") {
    auto c = parse_ok("[server]\ndata_dir = \"/srv/nixedge\"\n"
                      "[database]\nurl = \"sqlite://db/meta.sqlite\"\n"
                      "[storage]\npath = \"objects/../bucket\"\n");
    CHECK(c.server.data_dir == "/srv/nixedge");
    CHECK(c.database.sqlite_file() == "/srv/nixedge/db/meta.sqlite");
    CHECK(c.database.url == "sqlite:///srv/nixedge/db/meta.sqlite");
    CHECK(c.storage.path == "/srv/nixedge/bucket");

    // A relative data dir is relative to the working directory.
    auto relative = parse_ok("[server]\ndata_dir = \"state/nixedge\"\n");
    CHECK(relative.server.data_dir == absolute_in_cwd("state/nixedge"));
    CHECK(relative.storage.path == absolute_in_cwd("state/nixedge/bucket"));

    // Absolute paths stay where they point.
    auto absolute =
        parse_ok("[storage]\npath = \"/mnt/b\"\n[database]\nurl = \"sqlite:///m.db\"\n");
    CHECK(absolute.storage.path == "/mnt/b");
    CHECK(absolute.database.sqlite_file() == "/m.db");
}

TEST_CASE("config: the database URL", "[config]") {
    auto postgres = parse_ok("[database]\nurl = \"postgresql://nixedge@db.lab/nixedge\"\n");
    CHECK(postgres.database.url == "postgresql://nixedge@db.lab/nixedge");
    CHECK(postgres.database.is_postgres());
    CHECK(postgres.database.sqlite_file().empty());
    CHECK(parse_ok("[database]\nurl = \"postgres://db.lab/n\"\n").database.is_postgres());
    CHECK_THAT(parse_error("[database]\nurl = \"mysql://db/x\"\n"),
               Catch::Contains("has an unknown scheme"));
    CHECK_THAT(parse_error("[database]\nurl = \"sqlite://\"\n"), Catch::Contains("names no file"));
    CHECK_THAT(parse_error("[database]\nurl = \"sqlite:///data/attic.db?mode=rwc\"\n"),
               Catch::Contains("query parameters are not supported"));

    // A password never belongs in the file; the message does not repeat it.
    auto with_password = parse_error("[database]\nurl = \"postgresql://nixedge:hunter2@db/n\"\n");
    CHECK_THAT(with_password,
               Catch::Contains("holds a password") && Catch::Contains("NIXEDGE_DATABASE_URL"));
    CHECK_THAT(with_password, !Catch::Contains("hunter2"));
}

TEST_CASE("config: NIXEDGE_DATABASE_URL replaces database.url", "[config]") {
    FixedEnvironment env{{"NIXEDGE_DATABASE_URL", "sqlite:///tmp/other.sqlite"}};
    auto c = parse_ok("[database]\nurl = \"sqlite://ignored.sqlite\"\n", env);
    CHECK(c.database.sqlite_file() == "/tmp/other.sqlite");

    FixedEnvironment postgres{{"NIXEDGE_DATABASE_URL", "postgresql://u:hunter2@db/n"}};
    auto from_env = parse_ok("", postgres);
    CHECK(from_env.database.url == "postgresql://u:hunter2@db/n");
    CHECK(from_env.database.is_postgres());

    FixedEnvironment odd{{"NIXEDGE_DATABASE_URL", "redis://u:hunter2@db/n"}};
    CHECK_THAT(parse_error("", odd),
               Catch::Contains("redis://u:***@db/n") && !Catch::Contains("hunter2"));

    FixedEnvironment sqlite_with_password{{"NIXEDGE_DATABASE_URL", "sqlite://u:hunter2@h/f?x"}};
    CHECK_THAT(parse_error("", sqlite_with_password),
               Catch::Contains("query parameters") && !Catch::Contains("hunter2"));

    FixedEnvironment empty{{"NIXEDGE_DATABASE_URL", ""}};
    CHECK_THAT(parse_error("", empty), Catch::Contains("NIXEDGE_DATABASE_URL is set but empty"));
}

TEST_CASE("config: storage types", "[config]") {
    CHECK_THAT(parse_error("[storage]\ntype = \"s3\"\n"),
               Catch::Contains("storage.s3.endpoint: is empty"));
    CHECK_THAT(parse_error("[storage]\ntype = \"gcs\"\n"),
               Catch::Contains("storage.type: \"gcs\" is not a storage type"));
}

TEST_CASE("config: S3 storage with its section and credentials from the environment", "[config]") {
    constexpr std::string_view s3 = R"(
[storage]
type = "s3"
[storage.s3]
endpoint = "http://127.0.0.1:7480/"
region = "lab"
bucket = "nix-cache"
addressing = "virtual-host"
missing_on_403 = true
max_idle_connections = 4
max_attempts = 2
connect_timeout = "2s"
request_timeout = "30s"
)";
    FixedEnvironment env{{"NIXEDGE_S3_ACCESS_KEY_ID", "AKID"},
                         {"NIXEDGE_S3_SECRET_ACCESS_KEY", " s3cr3t-value\n"}};
    auto c = parse_ok(s3, env);
    CHECK(c.storage.type == StorageType::s3);
    CHECK(c.storage.s3.endpoint == "http://127.0.0.1:7480");
    CHECK(c.storage.s3.region == "lab");
    CHECK(c.storage.s3.bucket == "nix-cache");
    CHECK(c.storage.s3.addressing == S3Addressing::virtual_host);
    CHECK(c.storage.s3.missing_on_403);
    CHECK(c.storage.s3.max_idle_connections == 4);
    CHECK(c.storage.s3.max_attempts == 2);
    CHECK(c.storage.s3.connect_timeout == 2s);
    CHECK(c.storage.s3.request_timeout == 30s);
    CHECK(c.storage.s3.access_key_id == "AKID");
    CHECK(c.storage.s3.secret_access_key == "s3cr3t-value");
    auto rendered = render_config(c);
    CHECK_THAT(rendered, !Catch::Contains("s3cr3t") && !Catch::Contains("AKID"));
    CHECK(parse_ok(rendered, env) == c);

    // Without credentials, or with a bad endpoint or bucket: refused, no values shown.
    CHECK_THAT(parse_error(s3),
               Catch::Contains("NIXEDGE_S3_ACCESS_KEY_ID and NIXEDGE_S3_SECRET_ACCESS_KEY"));
    FixedEnvironment half{{"NIXEDGE_S3_ACCESS_KEY_ID", "AKID"}};
    CHECK_THAT(parse_error(s3, half),
               Catch::Contains("NIXEDGE_S3_SECRET_ACCESS_KEY is unset or empty"));
    CHECK_THAT(parse_error("[storage]\ntype = \"s3\"\n[storage.s3]\nendpoint = \"ftp://x\"\n"
                           "bucket = \"B_ad\"\n",
                           env),
               Catch::Contains("storage.s3.endpoint: \"ftp://x\" is not http(s)://host[:port]") &&
                   Catch::Contains("storage.s3.bucket: \"B_ad\" is not an S3 bucket name"));
    CHECK_THAT(parse_error("[storage.s3]\naddressing = \"dns\"\n"),
               Catch::Contains("storage.s3.addressing: \"dns\" is not an addressing style"));
    CHECK_THAT(parse_error("[storage.s3]\nmissing_on_403 = 1\n"),
               Catch::Contains("storage.s3.missing_on_403: expected a boolean, got an integer"));
    CHECK_THAT(parse_error("[storage.s3]\nsecret_access_key = \"x\"\n"),
               Catch::Contains("unknown key storage.s3.secret_access_key"));
    // A local storage ignores the section's values (and needs no credentials).
    CHECK(parse_ok("[storage.s3]\nbucket = \"x\"\n").storage.type == StorageType::local);
}

TEST_CASE("config: revoked token ids must be SHA-256 hex", "[config]") {
    CHECK_THAT(parse_error("[auth]\nrevoked_token_ids = [\"abc\"]\n"),
               Catch::Contains("auth.revoked_token_ids: \"abc\" is not a token id"));
    auto upper = std::string(64, 'A');
    CHECK_THAT(parse_error("[auth]\nrevoked_token_ids = [\"" + upper + "\"]\n"),
               Catch::Contains("is not a token id"));
    CHECK_THAT(parse_error("[auth]\nrevoked_subjects = [\"\"]\n"),
               Catch::Contains("auth.revoked_subjects: holds an empty string"));
}

TEST_CASE("config: load_config names the file", "[config]") {
    auto missing = load_config("/nonexistent/server.toml", FixedEnvironment{});
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().detail, Catch::Contains("/nonexistent/server.toml"));
}

// ---- secrets ----------------------------------------------------------------------

TEST_CASE("secrets: the token secret as hex (openssl rand -hex 32)", "[config]") {
    auto hex = std::string("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    FixedEnvironment env{{"NIXEDGE_TOKEN_HS256_SECRET", hex + "\n"}};
    auto c = parse_ok("", env);
    REQUIRE(c.auth.token_hs256_secret);
    CHECK(c.auth.token_hs256_secret->size() == 32);
    CHECK((*c.auth.token_hs256_secret)[1] == 0x11);

    FixedEnvironment upper{{"NIXEDGE_TOKEN_HS256_SECRET", "00112233445566778899AABBCCDDEEFF"
                                                          "00112233445566778899AABBCCDDEEFF"}};
    CHECK(read_token_secret(upper).value() == read_token_secret(env).value());
}

TEST_CASE("secrets: the token secret as base64, the way Attic takes it", "[config]") {
    // 48 bytes, as `openssl rand 48 | base64 -w0` would print them.
    FixedEnvironment env{{"NIXEDGE_TOKEN_HS256_SECRET_BASE64",
                          "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8AESIzRFVmd4iZqrvM3e7/"}};
    auto secret = read_token_secret(env);
    REQUIRE(secret);
    REQUIRE(*secret);
    CHECK((*secret)->size() == 48);
    CHECK((**secret)[47] == 0xff);
}

TEST_CASE("secrets: both spellings set", "[config]") {
    auto hex = std::string("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    auto base64 = std::string("ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=");
    FixedEnvironment same{{"NIXEDGE_TOKEN_HS256_SECRET", hex},
                          {"NIXEDGE_TOKEN_HS256_SECRET_BASE64", base64}};
    auto secret = read_token_secret(same);
    REQUIRE(secret);
    CHECK((*secret)->size() == 32);

    FixedEnvironment different{{"NIXEDGE_TOKEN_HS256_SECRET", hex_of_bytes(32)},
                               {"NIXEDGE_TOKEN_HS256_SECRET_BASE64", base64}};
    CHECK_THAT(parse_error("", different), Catch::Contains("both set and hold different keys"));
}

TEST_CASE("secrets: too short, invalid and empty secrets are refused", "[config]") {
    FixedEnvironment short_hex{{"NIXEDGE_TOKEN_HS256_SECRET", hex_of_bytes(31)}};
    CHECK_THAT(parse_error("", short_hex),
               Catch::Contains("NIXEDGE_TOKEN_HS256_SECRET decodes to 31 bytes; at least 32"));

    // Attic's own test secret, "very secure secret": 18 bytes, too short here.
    FixedEnvironment short_base64{
        {"NIXEDGE_TOKEN_HS256_SECRET_BASE64", "dmVyeSBzZWN1cmUgc2VjcmV0"}};
    CHECK_THAT(parse_error("", short_base64), Catch::Contains("decodes to 18 bytes"));

    auto not_hex = hex_of_bytes(32, 'g');
    FixedEnvironment bad_hex{{"NIXEDGE_TOKEN_HS256_SECRET", not_hex}};
    auto error = parse_error("", bad_hex);
    CHECK_THAT(error, Catch::Contains("NIXEDGE_TOKEN_HS256_SECRET is not valid hex"));
    CHECK_THAT(error, !Catch::Contains(not_hex));

    FixedEnvironment bad_base64{{"NIXEDGE_TOKEN_HS256_SECRET_BASE64", "not base64 at all!!"}};
    CHECK_THAT(parse_error("", bad_base64),
               Catch::Contains("NIXEDGE_TOKEN_HS256_SECRET_BASE64 is not valid base64"));

    FixedEnvironment unpadded{
        {"NIXEDGE_TOKEN_HS256_SECRET_BASE64", "ABEiM0RVZneImaq7zN3u_wARIjNEVWZ3iJmqu8zd7v8"}};
    CHECK_FALSE(read_token_secret(unpadded));

    FixedEnvironment empty{{"NIXEDGE_TOKEN_HS256_SECRET", " \n"}};
    CHECK_THAT(parse_error("", empty), Catch::Contains("is set but empty"));
}

TEST_CASE("secrets: none set means no secret, and the file cannot give one", "[config]") {
    CHECK_FALSE(read_token_secret(FixedEnvironment{}).value());
    CHECK_THAT(parse_error("[auth]\ntoken_hs256_secret = \"00\"\n"),
               Catch::Contains("unknown key auth.token_hs256_secret"));
}

TEST_CASE("secrets: render_config leaves the secret out", "[config]") {
    FixedEnvironment env{{"NIXEDGE_TOKEN_HS256_SECRET", hex_of_bytes(32, 'e')}};
    auto rendered = render_config(parse_ok("", env));
    CHECK_THAT(rendered, !Catch::Contains(hex_of_bytes(32, 'e')));
    CHECK_THAT(rendered, !Catch::Contains("secret"));
}
