// The `nixedge` client against a real lab server on a loopback socket: its
// HTTP client and Attic API calls (uploads with the info in a header or a
// preamble, errors as the user sees them), and its commands in-process
// (login, cache, use), configuration files included.
#include "client/api_client.hpp"
#include "client/client_cli.hpp"
#include "client/text_files.hpp"
#include "http_test_support.hpp"
#include "lab_support.hpp"

#include <sstream>

using namespace nixedge;
using namespace nixedge::test;
using lab::Permission;
using lab::client::ApiClient;
using lab::client::BodySource;

namespace {

// A NAR from memory, optionally failing after `fail_after` bytes.
class MemorySource final : public BodySource {
  public:
    explicit MemorySource(std::string bytes, std::size_t fail_after = SIZE_MAX)
        : bytes_(std::move(bytes)), fail_after_(fail_after) {}
    Result<std::size_t> fill(std::span<std::byte> buffer) override {
        if (offset_ >= fail_after_)
            return make_error(ErrorCode::invalid_argument, "the source broke");
        std::size_t n = std::min({buffer.size(), bytes_.size() - offset_, fail_after_ - offset_});
        std::memcpy(buffer.data(), bytes_.data() + offset_, n);
        offset_ += n;
        return n;
    }

  private:
    std::string bytes_;
    std::size_t fail_after_;
    std::size_t offset_ = 0;
};

struct RunningLab {
    LabFixture fixture;
    lab::http::test::TestServer server{fixture.router};
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()) + "/"; }
    lab::client::ServerEntry entry(std::string token) const { return {url(), std::move(token)}; }
    // A cache "main" and a token that may push to it and read it.
    std::string main_pusher() {
        fixture.create_cache("main");
        return fixture.token({{"main", Permission::push}, {"main", Permission::pull}});
    }
};

lab::attic::UploadPathInfo info_for(const std::string& cache, const StorePath& path,
                                    const std::string& nar) {
    lab::attic::UploadPathInfo info;
    info.cache = cache;
    info.store_path_hash = path.hash;
    info.store_path = path.full();
    info.nar_hash.digest = Sha256::digest(as_bytes(nar));
    info.nar_size = nar.size();
    return info;
}

// The client's command line in-process, its configuration under `home`.
struct ClientRun {
    int status = 0;
    std::string out;
    std::string err;
};

ClientRun run_client(const std::filesystem::path& home, std::vector<std::string> args) {
    lab::FixedEnvironment env{{"XDG_CONFIG_HOME", (home / "xdg").string()},
                              {"HOME", home.string()}};
    std::ostringstream out;
    std::ostringstream err;
    int status = lab::client::run_client_cli(std::move(args), out, err, env, false);
    return {status, out.str(), err.str()};
}

} // namespace

TEST_CASE("client api: uploads with the info in a header or a preamble publish signed paths",
          "[client]") {
    RunningLab lab;
    auto token = lab.main_pusher();
    ApiClient api(lab.entry(token));

    for (bool preamble : {false, true}) {
        auto path = path_named(preamble ? "with-preamble" : "with-header");
        std::string nar = file_nar(std::string(300000, preamble ? 'p' : 'h'));
        MemorySource source(nar);
        std::uint64_t last_sent = 0;
        auto result = api.upload_path(info_for("main", path, nar), source, preamble,
                                      [&](std::uint64_t sent) { last_sent = sent; });
        REQUIRE(result);
        CHECK(result->kind == lab::attic::UploadKind::uploaded);
        CHECK(last_sent == nar.size()); // NAR bytes, the preamble not counted
        CHECK(served_nar(lab.fixture, "main", token, path) == nar);
        auto missing = api.get_missing_paths("main", {path.hash, path_named("absent").hash});
        REQUIRE(missing);
        CHECK(*missing == std::vector<std::string>{path_named("absent").hash});
    }
    // The same NAR under another path: every chunk is there already.
    std::string nar = file_nar(std::string(300000, 'h'));
    MemorySource again(nar);
    auto dedup = api.upload_path(info_for("main", path_named("copy"), nar), again, false, {});
    REQUIRE(dedup);
    CHECK(dedup->kind == lab::attic::UploadKind::deduplicated);
}

TEST_CASE("client api: a NAR source that breaks mid-upload fails it and publishes nothing",
          "[client]") {
    RunningLab lab;
    auto token = lab.main_pusher();
    ApiClient api(lab.entry(token));
    auto path = path_named("broken");
    std::string nar = file_nar(std::string(4 << 20, 'b'));
    MemorySource source(nar, nar.size() / 2);
    auto result = api.upload_path(info_for("main", path, nar), source, false, {});
    REQUIRE_FALSE(result);
    CHECK_THAT(result.error().detail, Catch::Contains("the source broke"));
    auto narinfo = lab.fixture.call(lab::http::Verb::get, "/main/" + path.hash + ".narinfo", token);
    REQUIRE(narinfo);
    CHECK(narinfo->status == lab::http::Status::not_found);
    // A NAR whose bytes do not hash as announced is the server's refusal.
    std::string other = file_nar("other bytes");
    auto info = info_for("main", path, other);
    info.nar_hash.digest = Sha256::digest(as_bytes(std::string("something else")));
    MemorySource wrong(other);
    auto refused = api.upload_path(info, wrong, false, {});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::invalid_argument);
    CHECK_THAT(refused.error().detail, Catch::Contains("invalid_nar"));
    CHECK_THAT(refused.error().detail, Catch::Contains(path.full()));
}

TEST_CASE("client api: refusals say what went wrong and what to do", "[client]") {
    RunningLab lab;
    lab.fixture.create_cache("main");
    auto pull_only = lab.fixture.token({{"main", Permission::pull}});

    auto bad_token = ApiClient(lab.entry("not.a.token")).get_cache_config("main");
    REQUIRE_FALSE(bad_token);
    CHECK(bad_token.error().code == ErrorCode::unauthorized);
    CHECK_THAT(bad_token.error().detail, Catch::Contains("token_"));
    CHECK_THAT(bad_token.error().detail, Catch::Contains("log in again"));

    auto anonymous = ApiClient(lab.entry("")).get_cache_config("main");
    REQUIRE_FALSE(anonymous);
    CHECK(anonymous.error().code == ErrorCode::unauthorized);
    CHECK_THAT(anonymous.error().detail, Catch::Contains("not public"));

    auto forbidden = ApiClient(lab.entry(pull_only)).get_missing_paths("main", {});
    REQUIRE_FALSE(forbidden);
    CHECK(forbidden.error().code == ErrorCode::forbidden);
    CHECK_THAT(forbidden.error().detail, Catch::Contains("lacks the permission"));

    auto everything = lab.fixture.token({{"*", Permission::pull}});
    auto missing = ApiClient(lab.entry(everything)).get_cache_config("nope");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::not_found);
    CHECK_THAT(missing.error().detail, Catch::Contains("cache 'nope'"));

    // A port nobody listens on.
    std::uint16_t closed_port = 0;
    {
        lab::http::test::TestServer gone{lab.fixture.router};
        closed_port = gone.port();
    }
    ApiClient nobody({"http://127.0.0.1:" + std::to_string(closed_port) + "/", pull_only});
    auto unreachable = nobody.get_cache_config("main");
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.error().code == ErrorCode::unreachable);
    CHECK_THAT(unreachable.error().detail, Catch::Contains("cannot reach http://127.0.0.1:"));
}

TEST_CASE("client commands: login, cache create, info, configure, use, destroy", "[client]") {
    RunningLab lab;
    TempDir home;
    auto admin = lab.fixture.token({{"team-*", Permission::create_cache},
                                    {"team-*", Permission::pull},
                                    {"team-*", Permission::push},
                                    {"team-*", Permission::configure_cache},
                                    {"team-*", Permission::configure_cache_retention},
                                    {"team-*", Permission::destroy_cache}});

    auto logged_in = run_client(home.path(), {"login", "lab", lab.url(), admin});
    REQUIRE(logged_in.status == 0);
    CHECK_THAT(logged_in.out, Catch::Contains("added server 'lab'"));
    CHECK_THAT(logged_in.out, Catch::Contains("the default"));

    auto created = run_client(home.path(), {"cache", "create", "team-a", "--public", "--priority",
                                            "30", "--no-upstream-keys"});
    REQUIRE(created.status == 0);
    CHECK_THAT(created.out, Catch::Contains("created cache 'team-a' on 'lab'"));
    CHECK_THAT(created.out, Catch::Contains("public:               yes"));
    CHECK_THAT(created.out, Catch::Contains("priority:             30"));
    CHECK_THAT(created.out, Catch::Contains("upstream keys:        (none)"));
    CHECK_THAT(created.out, Catch::Contains("public key:           team-a-1:"));
    auto cache = lab.fixture.lab.metadata->get_cache("team-a");
    REQUIRE(cache);
    REQUIRE(*cache);
    CHECK((*cache)->settings.is_public);
    CHECK((*cache)->settings.priority == 30);

    auto twice = run_client(home.path(), {"cache", "create", "lab:team-a"});
    CHECK(twice.status == 1);
    CHECK_THAT(twice.err, Catch::Contains("cache_already_exists"));

    auto configured = run_client(
        home.path(), {"cache", "configure", "team-a", "--private", "--retention-period", "30d"});
    REQUIRE(configured.status == 0);
    CHECK_THAT(configured.out, Catch::Contains("public:               no"));
    CHECK_THAT(configured.out, Catch::Contains("retention:            30d"));

    auto info = run_client(home.path(), {"cache", "info", "lab:team-a"});
    REQUIRE(info.status == 0);
    CHECK_THAT(info.out, Catch::Contains("substituter:          " + lab.url() + "team-a"));

    auto printed = run_client(home.path(), {"use", "team-a"});
    REQUIRE(printed.status == 0);
    CHECK_THAT(printed.out, Catch::Contains("extra-substituters = " + lab.url() + "team-a\n"));
    CHECK_THAT(printed.out, Catch::Contains("extra-trusted-public-keys = team-a-1:"));
    CHECK_THAT(printed.out, Catch::Contains("machine 127.0.0.1 password " + admin + "\n"));

    auto written = run_client(home.path(), {"use", "team-a", "--write"});
    REQUIRE(written.status == 0);
    auto nix_conf = lab::client::read_text_file(home.path() / "xdg" / "nix" / "nix.conf");
    REQUIRE(nix_conf);
    REQUIRE(*nix_conf);
    CHECK_THAT(**nix_conf, Catch::Contains("extra-substituters = " + lab.url() + "team-a\n"));
    CHECK_THAT(**nix_conf,
               Catch::Contains("netrc-file = " + (home.path() / "xdg" / "nix" / "netrc").string()));
    auto netrc = lab::client::read_text_file(home.path() / "xdg" / "nix" / "netrc");
    REQUIRE(netrc);
    REQUIRE(*netrc);
    CHECK(**netrc == "machine 127.0.0.1 password " + admin + "\n");
    REQUIRE(run_client(home.path(), {"use", "team-a", "--write"}).status == 0);
    CHECK(*lab::client::read_text_file(home.path() / "xdg" / "nix" / "nix.conf") ==
          nix_conf.value());

    auto unconfirmed = run_client(home.path(), {"cache", "destroy", "team-a"});
    CHECK(unconfirmed.status == 2);
    CHECK_THAT(unconfirmed.err, Catch::Contains("--yes"));
    CHECK(lab.fixture.lab.metadata->get_cache("team-a").value());
    auto destroyed = run_client(home.path(), {"cache", "destroy", "team-a", "--yes"});
    REQUIRE(destroyed.status == 0);
    auto gone = run_client(home.path(), {"cache", "info", "team-a"});
    CHECK(gone.status == 1);
    CHECK_THAT(gone.err, Catch::Contains("not_found"));

    auto outside = run_client(home.path(), {"cache", "create", "other"});
    CHECK(outside.status == 1);
    CHECK_THAT(outside.err, Catch::Contains("the token does not allow cc on cache 'other'"));
}

TEST_CASE("client commands: wrong command lines are usage errors that change nothing", "[client]") {
    TempDir home;
    auto no_server = run_client(home.path(), {"cache", "info", "main"});
    CHECK(no_server.status == 1);
    CHECK_THAT(no_server.err, Catch::Contains("log in first"));
    CHECK(run_client(home.path(), {"login", "lab", "localhost:8080", "t"}).status == 2);
    CHECK(run_client(home.path(), {"login", "a:b", "http://h", "t"}).status == 2);
    CHECK(run_client(home.path(), {"login", "lab", "http://h"}).status == 2);
    CHECK_FALSE(std::filesystem::exists(home.path() / "xdg" / "nixedge" / "config.toml"));
    REQUIRE(run_client(home.path(), {"login", "lab", "http://127.0.0.1:9/", "t"}).status == 0);
    auto jobs = run_client(home.path(), {"push", "main", "/nix/store/x", "--jobs", "0"});
    CHECK(jobs.status == 2);
    CHECK_THAT(jobs.err, Catch::Contains("--jobs"));
    CHECK(run_client(home.path(), {"push", "main"}).status == 2);
    auto nothing = run_client(home.path(), {"cache", "configure", "main"});
    CHECK(nothing.status == 2);
    CHECK_THAT(nothing.err, Catch::Contains("nothing to change"));
    CHECK(run_client(home.path(), {"cache", "configure", "main", "--public", "--private"}).status ==
          2);
    auto help = run_client(home.path(), {"--help"});
    CHECK(help.status == 0);
    for (const char* command : {"login", "cache create", "push", "use"})
        CHECK_THAT(help.out, Catch::Contains(command));
    auto push_help = run_client(home.path(), {"push", "--help"});
    CHECK_THAT(push_help.out, Catch::Contains("--jobs N"));
}
