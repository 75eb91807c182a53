// The nixedge-server command line, run in-process on a data directory in a
// temp dir. Each command's effect is checked in the database (through
// open_lab), not only in what it prints.
#include "app/lab.hpp"
#include "auth/token.hpp"
#include "cli/cli.hpp"
#include "config/secrets.hpp"
#include "nixedge/encoding.hpp"

#include "temp_dir.hpp"
#include "test_files.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace nixedge;
using namespace nixedge::lab;
using nixedge::test::TempDir;

namespace {

struct CliRun {
    int status = -1;
    std::string out;
    std::string err;
};

const std::string test_secret_hex(64, 'a'); // 32 bytes of 0xaa

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

// A data directory in a temp dir and a server.toml naming it, found through
// NIXEDGE_CONFIG as an operator's shell would have it.
class CliFixture {
  public:
    explicit CliFixture(const std::string& extra_toml = "") {
        write_file(config_file(),
                   "[server]\ndata_dir = \"" + data_dir().string() + "\"\n" + extra_toml);
        env.set(std::string(config_file_variable), config_file().string());
    }

    std::filesystem::path config_file() const { return dir / "server.toml"; }
    std::filesystem::path data_dir() const { return dir / "data"; }

    CliRun run(std::vector<std::string> args) const {
        std::ostringstream out, err;
        CliRun result;
        result.status = run_cli(std::move(args), out, err, env);
        result.out = out.str();
        result.err = err.str();
        return result;
    }

    // The cache as the database holds it, read without the CLI.
    std::optional<Cache> stored_cache(const std::string& name) const {
        auto config = load_config(config_file(), env);
        REQUIRE(config);
        auto lab = open_lab(*config);
        REQUIRE(lab);
        auto cache = lab->metadata->get_cache(name);
        REQUIRE(cache);
        return *cache;
    }

    TempDir dir;
    FixedEnvironment env;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// A successful run: exit 0 and nothing on stderr.
CliRun ok(const CliFixture& cli, std::vector<std::string> args) {
    auto result = cli.run(std::move(args));
    INFO(result.err);
    REQUIRE(result.status == 0);
    CHECK(result.err.empty());
    return result;
}

} // namespace

// ---- dispatcher ---------------------------------------------------------------

TEST_CASE("cli: --help and help list every command", "[cli]") {
    CliFixture cli;
    for (auto args : {std::vector<std::string>{"--help"}, {"help"}, {"-h"}}) {
        auto result = ok(cli, args);
        for (auto command : {"serve", "config show", "cache create", "cache info", "cache list",
                             "cache configure", "cache destroy", "make-token", "fsck", "gc",
                             "path delete", "path pin", "path unpin", "path info", "--config FILE"})
            CHECK(result.out.find(command) != std::string::npos);
    }
}

TEST_CASE("cli: a command's --help lists its options", "[cli]") {
    CliFixture cli;
    auto create = ok(cli, {"cache", "create", "--help"});
    for (auto option : {"--public", "--private", "--edge", "--no-edge", "--priority N",
                        "--retention DURATION", "--allow-upstream-references",
                        "--upstream-key KEYNAME", "--key-name NAME", "--import-key FILE"})
        CHECK(create.out.find(option) != std::string::npos);
    CHECK(ok(cli, {"help", "make-token"}).out.find("--configure-cache-retention PATTERN") !=
          std::string::npos);
    CHECK(ok(cli, {"cache", "--help"}).out.find("cache destroy NAME --yes") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(cli.data_dir())); // help opens nothing
}

TEST_CASE("cli: wrong command lines exit 2 with the reason on stderr", "[cli]") {
    CliFixture cli;
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    auto [args, message] = GENERATE(values<Case>({
        {{}, "Usage:"},
        {{"frobnicate"}, "unknown command 'frobnicate'"},
        {{"cache"}, "'cache' needs a subcommand; one of: cache create"},
        {{"cache", "frob"}, "unknown command 'cache frob'"},
        {{"--verbose", "cache", "list"}, "unknown option '--verbose'"},
        {{"--config"}, "--config needs a FILE"},
        {{"cache", "create", "a", "--bogus"}, "unknown option '--bogus'"},
        {{"cache", "create", "a", "-p"}, "unknown option '-p'"},
        {{"cache", "create"}, "missing argument; usage: cache create NAME"},
        {{"cache", "create", "a", "b"}, "unexpected argument 'b'"},
        {{"cache", "create", "a", "--priority"}, "'--priority' needs a value"},
        {{"cache", "create", "a", "--priority", "1", "--priority", "2"}, "more than once"},
        {{"cache", "create", "a", "--yes"}, "unknown option '--yes'"},
        {{"cache", "list", "--public=x"}, "unknown option '--public'"},
        {{"cache", "create", "a", "--public=yes"}, "takes no value"},
    }));
    INFO(args.size());
    auto result = cli.run(args);
    CHECK(result.status == 2);
    CHECK(result.out.empty());
    CHECK(result.err.find(message) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(cli.data_dir())); // refused before opening anything
}

TEST_CASE("cli: --config wins over NIXEDGE_CONFIG, a missing file is an error", "[cli]") {
    CliFixture cli;
    TempDir other;
    write_file(other / "server.toml",
               "[server]\ndata_dir = \"" + (other / "data").string() + "\"\n");
    ok(cli, {"--config", (other / "server.toml").string(), "cache", "create", "elsewhere"});
    CHECK(std::filesystem::exists(other / "data"));
    CHECK_FALSE(cli.stored_cache("elsewhere"));
    ok(cli, {"--config=" + (other / "server.toml").string(), "cache", "info", "elsewhere"});

    auto missing = cli.run({"--config", (other / "absent.toml").string(), "cache", "list"});
    CHECK(missing.status == 1);
    CHECK(missing.err.find("cannot read config file") != std::string::npos);
}

TEST_CASE("cli: without --config or NIXEDGE_CONFIG the built-in defaults apply", "[cli]") {
    std::ostringstream out, err;
    FixedEnvironment empty;
    REQUIRE(run_cli({"config", "show"}, out, err, empty) == 0);
    CHECK(out.str().find("listen = '127.0.0.1:8080'") != std::string::npos);
    CHECK(out.str().find("nixedge-data") != std::string::npos);
    CHECK(out.str().find("default_priority = 41") != std::string::npos);
}

TEST_CASE("cli: a broken server.toml is reported, exit 1", "[cli]") {
    CliFixture cli("[caches]\nno_such_key = 1\n");
    auto result = cli.run({"cache", "list"});
    CHECK(result.status == 1);
    CHECK(result.err.find("no_such_key") != std::string::npos);
}

// ---- cache create / info / list ------------------------------------------------

TEST_CASE("cli: cache create with the defaults prints only the new public key", "[cli]") {
    CliFixture cli;
    auto created = ok(cli, {"cache", "create", "main"});
    auto lines = lines_of(created.out);
    REQUIRE(lines.size() == 1);
    auto printed = parse_public_key(lines[0]);
    REQUIRE(printed);
    CHECK(printed->name == "main-1");

    auto cache = cli.stored_cache("main");
    REQUIRE(cache);
    CHECK(cache->settings == CacheSettings{}); // private, off the edge, priority 41, forever
    REQUIRE(cache->keys.size() == 1);
    CHECK(cache->keys[0].public_key == lines[0]);
    CHECK(parse_secret_key(cache->keys[0].secret_key)->public_key() == *printed);

    CHECK(ok(cli, {"cache", "info", "main", "--public-key"}).out == lines[0] + "\n");
    auto info = ok(cli, {"cache", "info", "main"}).out;
    for (auto line :
         {"name:                main", "access:              private", "edge:                off",
          "priority:            41", "retention:           forever", "upstream references: refused",
          "upstream keys:       none", "created:             20"})
        CHECK(info.find(line) != std::string::npos);
    CHECK(info.find("key:                 " + lines[0] + " (active, created 20") !=
          std::string::npos);
    CHECK(ok(cli, {"cache", "list"}).out == "main private no-edge priority=41 retention=forever\n");
}

TEST_CASE("cli: cache create takes every setting and a key name", "[cli]") {
    CliFixture cli;
    auto created =
        ok(cli, {"cache", "create", "team", "--public", "--edge", "--priority", "30", "--retention",
                 "30d", "--allow-upstream-references", "--upstream-key", "cache.nixos.org-1",
                 "--upstream-key=other-2", "--key-name", "team.example.org-7"});
    CHECK(created.out.starts_with("team.example.org-7:"));

    auto cache = cli.stored_cache("team");
    REQUIRE(cache);
    CacheSettings expected;
    expected.is_public = true;
    expected.edge_enabled = true;
    expected.priority = 30;
    expected.retention_seconds = 30 * 86400;
    expected.allow_upstream_references = true;
    expected.upstream_key_names = {"cache.nixos.org-1", "other-2"};
    CHECK(cache->settings == expected);
    CHECK(cache->keys.at(0).name == "team.example.org-7");

    auto info = ok(cli, {"cache", "info", "team"}).out;
    CHECK(info.find("access:              public") != std::string::npos);
    CHECK(info.find("edge:                on") != std::string::npos);
    CHECK(info.find("retention:           30d") != std::string::npos);
    CHECK(info.find("upstream keys:       cache.nixos.org-1 other-2") != std::string::npos);
    CHECK(ok(cli, {"cache", "list"}).out == "team public edge priority=30 retention=30d\n");
}

TEST_CASE("cli: new caches take their defaults from [caches] in the config", "[cli]") {
    CliFixture cli("[caches]\ndefault_priority = 50\ndefault_retention = \"14d\"\n");
    ok(cli, {"cache", "create", "a"});
    ok(cli, {"cache", "create", "b", "--priority", "7"});
    CHECK(ok(cli, {"cache", "list"}).out == "a private no-edge priority=50 retention=2w\n"
                                            "b private no-edge priority=7 retention=2w\n");
}

TEST_CASE("cli: cache list --json describes every cache and its keys for scripts", "[cli]") {
    CliFixture cli;
    CHECK(ok(cli, {"cache", "list", "--json"}).out == "[]\n");
    auto edge_key = lines_of(ok(cli, {"cache", "create", "edge", "--public", "--edge"}).out).at(0);
    auto lab_key = lines_of(ok(cli, {"cache", "create", "lab", "--edge", "--priority", "30",
                                     "--retention", "1d", "--key-name", "lab.example.org-2"})
                                .out)
                       .at(0);
    CHECK(ok(cli, {"cache", "list", "--json"}).out ==
          "[{\"name\":\"edge\",\"public\":true,\"edge\":true,\"on_edge\":true,\"priority\":41,"
          "\"retention_seconds\":0,\"keys\":[{\"public_key\":\"" +
              edge_key +
              "\",\"state\":\"active\"}]},"
              "{\"name\":\"lab\",\"public\":false,\"edge\":true,\"on_edge\":false,"
              "\"priority\":30,\"retention_seconds\":86400,\"keys\":[{\"public_key\":\"" +
              lab_key + "\",\"state\":\"active\"}]}]\n");
    CHECK(lab_key.starts_with("lab.example.org-2:"));
    // The plain listing is unchanged.
    CHECK(ok(cli, {"cache", "list"}).out == "edge public edge priority=41 retention=forever\n"
                                            "lab private edge priority=30 retention=1d\n");
}

TEST_CASE("cli: a key made by `nix key generate-secret` is imported as is", "[cli]") {
    // tests/data/nixcache/sk and pk come from the real Nix (generate-secret,
    // convert-secret-to-public): the printed key must be Nix's public key.
    CliFixture cli;
    auto nix_dir = test::data_dir() / "nixcache";
    auto created =
        ok(cli, {"cache", "create", "imported", "--import-key", (nix_dir / "sk").string()});
    auto nix_public = test::trim_newline(test::read_file(nix_dir / "pk"));
    CHECK(created.out == nix_public + "\n");
    auto cache = cli.stored_cache("imported");
    REQUIRE(cache);
    CHECK(cache->keys.at(0).secret_key == test::trim_newline(test::read_file(nix_dir / "sk")));
    CHECK(ok(cli, {"cache", "info", "imported", "--public-key"}).out == nix_public + "\n");
}

TEST_CASE("cli: a bad key file is refused and creates nothing", "[cli]") {
    CliFixture cli;
    auto nix_dir = test::data_dir() / "nixcache";
    auto public_only = cli.run({"cache", "create", "c", "--import-key", (nix_dir / "pk").string()});
    CHECK(public_only.status == 1);
    CHECK(public_only.err.find("has 32 bytes, expected 64 (invalid_key)") != std::string::npos);

    auto absent = cli.run({"cache", "create", "c", "--import-key", (cli.dir / "nope").string()});
    CHECK(absent.status == 1);
    CHECK(absent.err.find("cannot read the key file") != std::string::npos);

    auto both = cli.run(
        {"cache", "create", "c", "--import-key", (nix_dir / "sk").string(), "--key-name", "x-1"});
    CHECK(both.status == 2);
    CHECK(both.err.find("exclude each other") != std::string::npos);

    auto bad_name = cli.run({"cache", "create", "c", "--key-name", "has:colon"});
    CHECK(bad_name.status == 1);
    CHECK(bad_name.err.find("(invalid_key)") != std::string::npos);
    CHECK(ok(cli, {"cache", "list"}).out.empty());
}

TEST_CASE("cli: reserved and invalid cache names are refused", "[cli]") {
    CliFixture cli;
    auto name = GENERATE(as<std::string>{}, "nar", "_api", "metrics", "sync", "chunks", "bad.name",
                         "sp ace", std::string(51, 'a'));
    auto result = cli.run({"cache", "create", name});
    INFO(result.err);
    CHECK(result.status == 1);
    CHECK(result.out.empty());
    CHECK(result.err.find("(invalid_cache_name)") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(cli.data_dir())); // refused before opening the lab
}

TEST_CASE("cli: creating an existing cache is a conflict and changes nothing", "[cli]") {
    CliFixture cli;
    auto first = ok(cli, {"cache", "create", "main"});
    auto again = cli.run({"cache", "create", "main", "--public"});
    CHECK(again.status == 1);
    CHECK(again.out.empty());
    CHECK(again.err == "nixedge-server: cache 'main' exists (conflict)\n");
    auto cache = cli.stored_cache("main");
    CHECK_FALSE(cache->settings.is_public);
    CHECK(cache->keys.at(0).public_key + "\n" == first.out);
}

TEST_CASE("cli: cache info and list on missing caches", "[cli]") {
    CliFixture cli;
    auto missing = cli.run({"cache", "info", "main"});
    CHECK(missing.status == 1);
    CHECK(missing.out.empty());
    CHECK(missing.err == "nixedge-server: no cache 'main' (not_found)\n");
    CHECK(ok(cli, {"cache", "list"}).out.empty());
}

// ---- cache configure -------------------------------------------------------------

TEST_CASE("cli: cache configure changes only the settings given", "[cli]") {
    CliFixture cli;
    ok(cli, {"cache", "create", "main", "--priority", "30", "--upstream-key", "a-1"});

    ok(cli, {"cache", "configure", "main", "--public", "--edge"});
    auto cache = cli.stored_cache("main");
    CHECK(cache->settings.is_public);
    CHECK(cache->settings.edge_enabled);
    CHECK(cache->settings.priority == 30);
    CHECK(cache->settings.upstream_key_names == std::vector<std::string>{"a-1"});

    ok(cli, {"cache", "configure", "main", "--retention", "1w", "--priority", "45",
             "--allow-upstream-references", "--upstream-key", "b-1", "--upstream-key", "c-1"});
    cache = cli.stored_cache("main");
    CHECK(cache->settings.is_public);
    CHECK(cache->settings.retention_seconds == 7 * 86400);
    CHECK(cache->settings.priority == 45);
    CHECK(cache->settings.allow_upstream_references);
    CHECK(cache->settings.upstream_key_names == std::vector<std::string>{"b-1", "c-1"});

    ok(cli, {"cache", "configure", "main", "--private", "--no-edge", "--retention", "0",
             "--no-allow-upstream-references", "--no-upstream-keys"});
    cache = cli.stored_cache("main");
    CacheSettings expected;
    expected.priority = 45;
    CHECK(cache->settings == expected);
}

namespace {

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST_CASE("cli: cache create, configure and destroy update the bucket at once", "[cli]") {
    CliFixture cli;
    const auto bucket = cli.data_dir() / "bucket";
    ok(cli, {"cache", "create", "main", "--public", "--edge", "--priority", "30"});
    CHECK(read_text(bucket / "main" / "nix-cache-info") ==
          "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n");
    CHECK(read_text(bucket / "sync" / "plan").find("mutable main/nix-cache-info\n") !=
          std::string::npos);

    ok(cli, {"cache", "configure", "main", "--priority", "50"});
    CHECK(read_text(bucket / "main" / "nix-cache-info").find("Priority: 50\n") !=
          std::string::npos);

    ok(cli, {"cache", "configure", "main", "--no-edge"});
    CHECK_FALSE(std::filesystem::exists(bucket / "main" / "nix-cache-info"));
    CHECK(read_text(bucket / "sync" / "plan").find("main/") == std::string::npos);

    ok(cli, {"cache", "configure", "main", "--edge"});
    CHECK(std::filesystem::exists(bucket / "main" / "nix-cache-info"));
    ok(cli, {"cache", "destroy", "main", "--yes"});
    CHECK_FALSE(std::filesystem::exists(bucket / "main" / "nix-cache-info"));
    CHECK(read_text(bucket / "sync" / "plan").find("main/") == std::string::npos);
}

TEST_CASE("cli: cache configure refuses nothing to do, contradictions and bad values", "[cli]") {
    CliFixture cli;
    ok(cli, {"cache", "create", "main"});
    struct Case {
        std::vector<std::string> flags;
        std::string message;
    };
    auto [flags, message] = GENERATE(values<Case>({
        {{}, "nothing to change"},
        {{"--public", "--private"}, "--public and --private exclude each other"},
        {{"--edge", "--no-edge"}, "--edge and --no-edge exclude each other"},
        {{"--priority", "high"}, "--priority 'high' is not a non-negative integer"},
        {{"--priority", "-1"}, "not a non-negative integer"},
        {{"--priority", "12abc"}, "not a non-negative integer"},
        {{"--retention", "3 months"}, "--retention:"},
        {{"--upstream-key", "a-1", "--no-upstream-keys"}, "exclude each other"},
        {{"--upstream-key", "has space"}, "--upstream-key:"},
        {{"--key-name", "x"}, "unknown option '--key-name'"},
    }));
    std::vector<std::string> args{"cache", "configure", "main"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto result = cli.run(args);
    INFO(result.err);
    CHECK(result.status == 2);
    CHECK(result.err.find(message) != std::string::npos);
    CHECK(cli.stored_cache("main")->settings == CacheSettings{});
}

TEST_CASE("cli: cache configure on a missing cache fails", "[cli]") {
    CliFixture cli;
    auto result = cli.run({"cache", "configure", "ghost", "--public"});
    CHECK(result.status == 1);
    CHECK(result.err == "nixedge-server: no cache 'ghost' (not_found)\n");
}

// ---- cache destroy -----------------------------------------------------------------

TEST_CASE("cli: cache destroy needs --yes", "[cli]") {
    CliFixture cli;
    ok(cli, {"cache", "create", "main"});
    ok(cli, {"cache", "create", "other"});

    auto refused = cli.run({"cache", "destroy", "main"});
    CHECK(refused.status == 2);
    CHECK(refused.err.find("refusing to destroy cache 'main' without --yes") != std::string::npos);
    CHECK(cli.stored_cache("main"));

    ok(cli, {"cache", "destroy", "main", "--yes"});
    CHECK_FALSE(cli.stored_cache("main"));
    CHECK(cli.stored_cache("other"));
    CHECK(cli.run({"cache", "info", "main"}).status == 1);
    CHECK(ok(cli, {"cache", "list"}).out ==
          "other private no-edge priority=41 retention=forever\n");

    auto again = cli.run({"cache", "destroy", "main", "--yes"});
    CHECK(again.status == 1);
    CHECK(again.err.find("(not_found)") != std::string::npos);

    // The name is free again, with a new key.
    ok(cli, {"cache", "create", "main"});
}

// ---- make-token ---------------------------------------------------------------------

TEST_CASE("cli: make-token prints a token that verifies, with the grants in atticadm's order",
          "[cli][auth]") {
    CliFixture cli;
    cli.env.set(std::string(token_secret_hex_variable), test_secret_hex);
    auto before = unix_now();
    // atticadm applies --pull, then --push, ... whatever the command-line order.
    auto made = ok(cli, {"make-token", "--sub",
                         "ci",         "--validity",
                         "1y",         "--push",
                         "b",          "--delete",
                         "team-*",     "--pull",
                         "a",          "--pull",
                         "b",          "--destroy-cache",
                         "a",          "--create-cache",
                         "new-*",      "--configure-cache",
                         "a",          "--configure-cache-retention",
                         "a"});
    auto lines = lines_of(made.out);
    REQUIRE(lines.size() == 1);

    auto secret = encoding::from_hex(test_secret_hex).value();
    auto verified = verify_token(secret, lines[0]);
    REQUIRE(verified);
    const auto& claims = verified->claims;
    CHECK(claims.subject == "ci");
    REQUIRE(claims.not_before);
    REQUIRE(claims.expires_at);
    CHECK(*claims.not_before >= before);
    CHECK(*claims.expires_at - *claims.not_before == 31'557'600); // 365.25 days

    Permissions a, b, team, fresh;
    a.pull = a.destroy_cache = a.configure_cache = a.configure_cache_retention = true;
    b.pull = b.push = true;
    team.delete_paths = true;
    fresh.create_cache = true;
    std::vector<CacheGrant> expected{{"a", a}, {"b", b}, {"team-*", team}, {"new-*", fresh}};
    CHECK(claims.grants == expected);
    CHECK(claims.permissions_for("team-x").delete_paths);
    CHECK_FALSE(claims.permissions_for("c").pull);
    CHECK_FALSE(std::filesystem::exists(cli.data_dir())); // tokens need no database
}

TEST_CASE("cli: make-token reads the base64 secret too", "[cli][auth]") {
    CliFixture cli;
    auto secret = encoding::from_hex(test_secret_hex).value();
    cli.env.set(std::string(token_secret_base64_variable), encoding::to_base64(secret));
    auto made = ok(cli, {"make-token", "--sub", "admin", "--validity", "30d", "--pull", "*"});
    auto verified = verify_token(secret, test::trim_newline(made.out));
    REQUIRE(verified);
    CHECK(verified->claims.permissions_for("anything").pull);
    CHECK(*verified->claims.expires_at - *verified->claims.not_before == 30 * 86400);
}

TEST_CASE("cli: make-token without a secret says which variable to set", "[cli][auth]") {
    CliFixture cli;
    auto result = cli.run({"make-token", "--sub", "ci", "--validity", "1y", "--pull", "main"});
    CHECK(result.status == 1);
    CHECK(result.out.empty());
    CHECK(result.err.find("no token secret: set NIXEDGE_TOKEN_HS256_SECRET") != std::string::npos);
}

TEST_CASE("cli: make-token refuses a short secret from the environment", "[cli][auth]") {
    CliFixture cli;
    cli.env.set(std::string(token_secret_hex_variable), "abcd");
    auto result = cli.run({"make-token", "--sub", "ci", "--validity", "1y"});
    CHECK(result.status == 1);
    CHECK(result.out.empty());
    CHECK(result.err.find("at least 32 are needed") != std::string::npos);
}

TEST_CASE("cli: make-token usage errors", "[cli][auth]") {
    CliFixture cli;
    cli.env.set(std::string(token_secret_hex_variable), test_secret_hex);
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    auto [args, message] = GENERATE(values<Case>({
        {{"--validity", "1y"}, "--sub and --validity are required"},
        {{"--sub", "ci"}, "--sub and --validity are required"},
        {{"--sub", "ci", "--validity", "forever"}, "--validity:"},
        {{"--sub", "ci", "--validity", "1y", "--pull", "bad pattern"}, "--pull:"},
        {{"--sub", "ci", "--validity", "1y", "--write", "x"}, "unknown option '--write'"},
    }));
    args.insert(args.begin(), "make-token");
    auto result = cli.run(args);
    INFO(result.err);
    CHECK(result.status == 2);
    CHECK(result.out.empty());
    CHECK(result.err.find(message) != std::string::npos);
}

// ---- serve ------------------------------------------------------------------------

TEST_CASE("cli: serve reports a data directory it cannot open, exit 1", "[cli]") {
    CliFixture cli;
    write_file(cli.dir / "a-file", "");
    FixedEnvironment env;
    write_file(cli.dir / "bad.toml",
               "[server]\ndata_dir = \"" + (cli.dir / "a-file" / "data").string() + "\"\n");
    std::ostringstream out, err;
    CHECK(run_cli({"--config", (cli.dir / "bad.toml").string(), "serve"}, out, err, env) == 1);
    CHECK(out.str().empty());
    CHECK(err.str().find("cannot create the data directory") != std::string::npos);
}

// ---- gc and path ------------------------------------------------------------------

TEST_CASE("cli: gc runs once and records the run, gc --status shows it", "[cli][gc]") {
    CliFixture cli;
    CHECK(ok(cli, {"gc", "--status"}).out == "no GC run recorded\n");
    auto run = ok(cli, {"gc", "--once"});
    CHECK(run.out.starts_with("removed 0 expired paths, 0 NARs, 0 chunks (0 bytes), 0 expired "
                              "staged uploads in "));
    auto status = lines_of(ok(cli, {"gc", "--status"}).out);
    REQUIRE(status.size() == 3);
    CHECK(status[0].starts_with("started 20"));
    CHECK(status[1].ends_with(": succeeded"));
    CHECK(status[2] + "\n" == run.out);
}

TEST_CASE("cli: path commands on a missing path or cache, and malformed store paths", "[cli][gc]") {
    CliFixture cli;
    ok(cli, {"cache", "create", "main"});
    const std::string hash = "0c1fk1ljn4h6bs4dmyk4lpbyh1y0sx6r";
    for (const auto* command : {"pin", "unpin", "info"}) {
        auto missing = cli.run({"path", command, "main", "/nix/store/" + hash + "-hello"});
        CHECK(missing.status == 1);
        CHECK(missing.err.find("(not_found)") != std::string::npos);
    }
    auto absent = cli.run({"path", "delete", "main", hash});
    CHECK(absent.status == 1);
    CHECK(absent.err == "nixedge-server: " + hash + " stays in cache 'main': not in the cache\n");
    auto no_cache = cli.run({"path", "delete", "nope", hash});
    CHECK(no_cache.status == 1);
    CHECK(no_cache.err.find("no cache 'nope'") != std::string::npos);
    for (const auto* bad : {"/nix/store/short", "hello",
                            "/nix/store/"
                            "0c1fk1ljn4h6bs4dmyk4lpbyh1y0sx6rX"}) {
        auto malformed = cli.run({"path", "delete", "main", bad});
        INFO(bad);
        CHECK(malformed.status == 2);
        CHECK(malformed.err.find("nixedge-server path delete: ") == 0);
    }
}
