// The `nixedge` client's parts that need no server: its configuration file,
// Nix's path-info JSON, the push plan and upload order, nix.conf and netrc
// edits, progress output.
#include "client/client_config.hpp"
#include "client/local_nar.hpp"
#include "client/nix_conf.hpp"
#include "client/push.hpp"
#include "client/push_plan.hpp"
#include "client/push_progress.hpp"
#include "nixedge/bytes.hpp"
#include "nixedge/encoding.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>
#include <sys/stat.h>

using namespace nixedge;
using namespace nixedge::lab::client;

namespace {

// A path info as `nix path-info --json` describes one.
LocalPathInfo local_path(const std::string& name, std::uint64_t nar_size,
                         std::vector<std::string> references = {},
                         std::vector<std::string> signatures = {}) {
    LocalPathInfo info;
    auto hash = encoding::to_nix32(Sha256::digest(as_bytes(name))).substr(0, 32);
    info.path = StorePath{hash, name};
    info.nar_size = nar_size;
    info.references = std::move(references);
    info.signatures = std::move(signatures);
    return info;
}

std::vector<std::string> names_in_order(UploadScheduler& scheduler) {
    std::vector<std::string> names;
    while (auto index = scheduler.next()) {
        names.push_back(scheduler.path(*index).path.name);
        scheduler.completed(*index, true);
    }
    return names;
}

} // namespace

// ---- configuration ------------------------------------------------------------------

TEST_CASE("client config: Attic's config.toml reads as ours, and ours reads back", "[client]") {
    // What `attic login lab http://host:8080 TOKEN` writes.
    auto config = parse_client_config(R"(default-server = "lab"

[servers.lab]
endpoint = "http://host:8080"
token = "abc.def.ghi"

[servers.public]
endpoint = "https://cache.example.org/prefix/"
)",
                                      "config.toml");
    REQUIRE(config);
    CHECK(config->default_server == "lab");
    REQUIRE(config->servers.size() == 2);
    CHECK(config->servers["lab"].endpoint == "http://host:8080/");
    CHECK(config->servers["lab"].token == "abc.def.ghi");
    CHECK(config->servers["public"].endpoint == "https://cache.example.org/prefix/");
    CHECK(config->servers["public"].token.empty());

    auto again = parse_client_config(serialize(*config), "again");
    REQUIRE(again);
    CHECK(again->default_server == config->default_server);
    CHECK(again->servers["lab"].token == "abc.def.ghi");
    CHECK(again->servers["public"].endpoint == "https://cache.example.org/prefix/");
}

TEST_CASE("client config: malformed files are refused with the file and the line", "[client]") {
    auto bad_toml = parse_client_config("default-server = \"lab\"\n[servers.lab\n", "cfg.toml");
    REQUIRE_FALSE(bad_toml);
    CHECK_THAT(bad_toml.error().detail, Catch::Contains("cfg.toml: line 2"));
    auto bad_url = parse_client_config("[servers.lab]\nendpoint = \"ftp://x\"\n", "cfg.toml");
    REQUIRE_FALSE(bad_url);
    CHECK_THAT(bad_url.error().detail, Catch::Contains("[servers.lab]"));
    CHECK_FALSE(parse_client_config("[servers.lab]\nendpoint = 3\n", "cfg.toml"));
}

TEST_CASE("client config: saved with mode 0600 in a 0700 directory, replaced whole", "[client]") {
    test::TempDir dir;
    auto file = dir.path() / "xdg" / "nixedge" / "config.toml";
    CHECK(load_client_config(file)->servers.empty()); // missing: empty
    ClientConfig config;
    config.default_server = "lab";
    config.servers["lab"] = {"http://127.0.0.1:1/", "secret-token"};
    REQUIRE(save_client_config(file, config));
    struct stat info {};
    REQUIRE(::stat(file.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    REQUIRE(::stat(file.parent_path().c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0700);
    auto loaded = load_client_config(file);
    REQUIRE(loaded);
    CHECK(loaded->servers["lab"].token == "secret-token");
    CHECK(std::distance(std::filesystem::directory_iterator(file.parent_path()),
                        std::filesystem::directory_iterator()) == 1); // no temporary left
}

TEST_CASE("client config: where the file lives", "[client]") {
    lab::FixedEnvironment xdg{{"XDG_CONFIG_HOME", "/x"}, {"HOME", "/h"}};
    CHECK(*client_config_path(xdg) == "/x/nixedge/config.toml");
    lab::FixedEnvironment home{{"HOME", "/h"}};
    CHECK(*client_config_path(home) == "/h/.config/nixedge/config.toml");
    CHECK_FALSE(client_config_path(lab::FixedEnvironment{}));
}

TEST_CASE("client config: endpoints and server names", "[client]") {
    CHECK(*normalize_endpoint("http://127.0.0.1:8080") == "http://127.0.0.1:8080/");
    CHECK(*normalize_endpoint("https://h/p/") == "https://h/p/");
    for (const char* bad : {"127.0.0.1:8080", "http://", "https:///x", "http://h/?q", "ftp://h"})
        CHECK_FALSE(normalize_endpoint(bad));
    CHECK(validate_server_name("lab-1.prod_x"));
    CHECK_FALSE(validate_server_name(""));
    CHECK_FALSE(validate_server_name("a:b"));
    CHECK_FALSE(validate_server_name("a b"));
}

TEST_CASE("client config: CACHE and SERVER:CACHE resolve as in Attic's client", "[client]") {
    ClientConfig config;
    auto no_server = resolve_cache_ref(config, "main");
    REQUIRE_FALSE(no_server);
    CHECK_THAT(no_server.error().detail, Catch::Contains("log in first"));
    config.servers["lab"] = {"http://a/", "t"};
    config.servers["other"] = {"http://b/", "u"};
    auto no_default = resolve_cache_ref(config, "main");
    REQUIRE_FALSE(no_default);
    CHECK_THAT(no_default.error().detail, Catch::Contains("SERVER:main"));
    config.default_server = "lab";
    auto plain = resolve_cache_ref(config, "main");
    REQUIRE(plain);
    CHECK(plain->server == "lab");
    CHECK(plain->cache == "main");
    auto named = resolve_cache_ref(config, "other:team");
    REQUIRE(named);
    CHECK(named->server == "other");
    CHECK(named->cache == "team");
    CHECK_FALSE(resolve_cache_ref(config, "nowhere:main"));
    CHECK_FALSE(resolve_cache_ref(config, "lab:"));
    CHECK_FALSE(resolve_cache_ref(config, "lab:nar")); // reserved
    CHECK_FALSE(resolve_cache_ref(config, "bad/name"));
}

// ---- Nix's path-info --------------------------------------------------------------------

TEST_CASE("path-info JSON: what Nix 2.8 prints reads whole", "[client]") {
    // `nix path-info --json --recursive` of an input-addressed build output and
    // of a path added with `nix-store --add`, as Nix 2.8 prints them.
    const std::string json =
        R"([{"path":"/nix/store/4qxxrwq6g6ni6ilvbf8ywyhyjh7qp7pf-nixedge-test-top","narHash":"sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM=","narSize":1048,)"
        R"("references":["/nix/store/xp0dpr9yz5h0fk5c5lpj7zzqjbdh3w8c-f"],"deriver":"/nix/store/0s1yzbplicgzhlz2d5i5yfszqfn38yvd-nixedge-test-top.drv",)"
        R"("signatures":["upstream-1:aGVsbG8="],"registrationTime":1796620499,"ultimate":true},)"
        R"({"path":"/nix/store/xp0dpr9yz5h0fk5c5lpj7zzqjbdh3w8c-f","narHash":"sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM=","narSize":120,"references":[],)"
        R"("ca":"fixed:r:sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw","registrationTime":1796620499}])";
    auto infos = parse_path_info_json(json);
    REQUIRE(infos);
    REQUIRE(infos->size() == 2);
    const auto& top = (*infos)[0];
    CHECK(top.path.full() == "/nix/store/4qxxrwq6g6ni6ilvbf8ywyhyjh7qp7pf-nixedge-test-top");
    CHECK(top.nar_hash.to_string() ==
          "sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw");
    CHECK(top.nar_size == 1048);
    CHECK(top.references ==
          std::vector<std::string>{"/nix/store/xp0dpr9yz5h0fk5c5lpj7zzqjbdh3w8c-f"});
    CHECK(top.deriver == "/nix/store/0s1yzbplicgzhlz2d5i5yfszqfn38yvd-nixedge-test-top.drv");
    CHECK(top.signatures == std::vector<std::string>{"upstream-1:aGVsbG8="});
    CHECK_FALSE(top.ca);
    const auto& added = (*infos)[1];
    CHECK(added.ca == "fixed:r:sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw");
    CHECK_FALSE(added.deriver);
    CHECK(added.signatures.empty());
}

TEST_CASE("path-info JSON: malformed or invalid entries are refused by name", "[client]") {
    CHECK_FALSE(parse_path_info_json("not json"));
    CHECK_FALSE(parse_path_info_json("{}"));
    auto invalid = parse_path_info_json(
        R"([{"path":"/nix/store/xp0dpr9yz5h0fk5c5lpj7zzqjbdh3w8c-f","valid":false}])");
    REQUIRE_FALSE(invalid);
    CHECK_THAT(invalid.error().detail, Catch::Contains("xp0dpr9yz5h0fk5c5lpj7zzqjbdh3w8c-f"));
    CHECK_THAT(invalid.error().detail, Catch::Contains("not valid"));
    const std::string good_head = R"([{"path":"/nix/store/xp0dpr9yz5h0fk5c5lpj7zzqjbdh3w8c-f",)";
    CHECK_FALSE(parse_path_info_json(good_head + R"("narSize":120}])")); // no hash
    CHECK_FALSE(parse_path_info_json(good_head + R"("narHash":"sha256-x","narSize":1}])"));
    CHECK_FALSE(parse_path_info_json(
        good_head + R"("narHash":"sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM="}])"));
    CHECK_FALSE(parse_path_info_json(
        good_head +
        R"("narHash":"sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM=","narSize":1,"references":"x"}])"));
    CHECK_FALSE(parse_path_info_json(
        R"([{"path":"/tmp/x","narHash":"sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM=","narSize":1}])"));
}

TEST_CASE("path arguments: store paths, files in them, and links such as ./result", "[client]") {
    const std::string top = "/nix/store/4qxxrwq6g6ni6ilvbf8ywyhyjh7qp7pf-nixedge-test-top";
    CHECK(*resolve_store_path_argument(top) == top);
    CHECK(*resolve_store_path_argument(top + "/bin/run") == top);
    test::TempDir dir;
    // A link into a store path that exists only in a chroot store, and a link to that link.
    std::filesystem::create_symlink(top, dir / "result");
    std::filesystem::create_symlink("result", dir / "again");
    CHECK(*resolve_store_path_argument((dir / "result").string()) == top);
    CHECK(*resolve_store_path_argument((dir / "again").string()) == top);
    std::filesystem::create_symlink(dir / "loop", dir / "loop");
    for (const std::string& bad :
         {(dir / "loop").string(), dir.path().string(), std::string("/nix/store/short-name"),
          std::string("/nix/store"), std::string("/nix/storefoo/x"), std::string("relative")}) {
        auto resolved = resolve_store_path_argument(bad);
        CHECK_FALSE(resolved);
        if (!resolved)
            CHECK_THAT(resolved.error().detail, Catch::Contains(bad));
    }
}

// ---- NARs read from the file system ------------------------------------------------

namespace {

void write_file(const std::filesystem::path& file, const std::string& contents, bool executable) {
    std::ofstream(file, std::ios::binary) << contents;
    std::filesystem::permissions(file, executable ? std::filesystem::perms(0755)
                                                  : std::filesystem::perms(0644));
}

// What `nix-store --dump PATH` prints: the real Nix's NAR of it.
std::string nix_dump(const std::filesystem::path& path) {
    auto process = Subprocess::start({"nix-store", "--dump", path.string()});
    REQUIRE(process);
    auto bytes = process->read_all();
    REQUIRE(process->wait());
    REQUIRE(bytes);
    return *bytes;
}

// The LocalNar of `path` read through a buffer of `piece` bytes.
Result<std::string> local_nar(const std::filesystem::path& path, std::uint64_t expected,
                              std::size_t piece) {
    LocalNar nar(path, expected);
    std::string out;
    std::vector<std::byte> buffer(piece);
    while (true) {
        auto n = nar.fill(buffer);
        if (!n)
            return n.error();
        if (*n == 0)
            return out;
        out.append(reinterpret_cast<const char*>(buffer.data()), *n);
    }
}

} // namespace

TEST_CASE("local NAR: byte for byte what nix-store --dump makes, through any buffer size",
          "[client]") {
    test::TempDir dir;
    auto tree = dir / "tree";
    std::filesystem::create_directories(tree / "sub" / "deeper");
    std::filesystem::create_directories(tree / "empty-dir");
    write_file(tree / "sub" / "deeper" / "file", "hello\n", false);
    write_file(tree / "empty", "", false);
    write_file(tree / "run", "#!/bin/sh\necho hi\n", true);
    // Nix sorts entries bytewise: "B" < "a" < "a.b" < "ab".
    for (const char* name : {"ab", "a.b", "B", "a"})
        write_file(tree / name, name, false);
    std::mt19937 rng(7);
    std::string big(3 * 1024 * 1024 + 5, '\0');
    for (auto& c : big)
        c = static_cast<char>(rng());
    write_file(tree / "big", big, false);
    std::filesystem::create_symlink("sub/deeper/file", tree / "link");
    std::filesystem::create_symlink("/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x", tree / "abs");
    write_file(dir / "single", "one file", true);
    std::filesystem::create_symlink("tree/run", dir / "root-link");

    for (const auto& path : {tree, dir / "single", dir / "root-link"}) {
        std::string expected = nix_dump(path);
        for (std::size_t piece :
             {std::size_t{1}, std::size_t{7}, std::size_t{65536}, std::size_t{4 << 20}}) {
            auto made = local_nar(path, expected.size(), piece);
            REQUIRE(made);
            CHECK(made->size() == expected.size());
            CHECK((*made == expected));
        }
    }
    // A tree that is not the size the store recorded is refused, not sent.
    std::string expected = nix_dump(tree);
    auto shorter = local_nar(tree, expected.size() + 1, 65536);
    REQUIRE_FALSE(shorter);
    CHECK_THAT(shorter.error().detail, Catch::Contains("shorter"));
    auto longer = local_nar(tree, expected.size() - 1, 65536);
    REQUIRE_FALSE(longer);
    CHECK_THAT(longer.error().detail, Catch::Contains("longer"));
    // Nix stores no other file types.
    REQUIRE(::mkfifo((tree / "fifo").c_str(), 0644) == 0);
    auto fifo = local_nar(tree, expected.size(), 65536);
    REQUIRE_FALSE(fifo);
    CHECK_THAT(fifo.error().detail, Catch::Contains("neither a file, a directory nor a symlink"));
}

TEST_CASE("local NAR: which stores are on this machine", "[client]") {
    CHECK(local_store_root("") == std::filesystem::path("/"));
    CHECK(local_store_root("daemon") == std::filesystem::path("/"));
    CHECK(local_store_root("auto") == std::filesystem::path("/"));
    CHECK(local_store_root("unix:///nix/var/nix/daemon-socket/socket") ==
          std::filesystem::path("/"));
    CHECK(local_store_root("/tmp/root") == std::filesystem::path("/tmp/root"));
    CHECK(local_store_root("local?root=/tmp/r&state=/x") == std::filesystem::path("/tmp/r"));
    CHECK(local_store_root("local") == std::filesystem::path("/"));
    CHECK_FALSE(local_store_root("ssh://builder"));
    CHECK_FALSE(local_store_root("https://cache.nixos.org"));
    CHECK_FALSE(local_store_root("s3://bucket"));
}

// ---- the plan -----------------------------------------------------------------------------

TEST_CASE("push plan: paths signed by an upstream key are left out, others kept", "[client]") {
    std::vector<LocalPathInfo> closure{
        local_path("glibc", 10, {}, {"cache.nixos.org-1:c2lnbmF0dXJl"}),
        local_path("mine", 20, {}, {"lab-1:c2ln"}),
        local_path("unsigned", 30),
        local_path("odd", 40, {}, {"no-colon-here"}),
    };
    CHECK(signed_by_upstream(closure[0], {"cache.nixos.org-1"}));
    CHECK_FALSE(signed_by_upstream(closure[0], {"cache.nixos.org"})); // whole names only
    auto filtered = filter_upstream(closure, {"cache.nixos.org-1", "other-1"});
    CHECK(filtered.signed_upstream == 1);
    REQUIRE(filtered.offered.size() == 3);
    CHECK(filtered.offered[0].path.name == "mine");
    auto none = filter_upstream(closure, {});
    CHECK(none.offered.size() == 4);
    CHECK(none.signed_upstream == 0);
}

TEST_CASE("push plan: hashes go to get-missing-paths in batches", "[client]") {
    std::vector<LocalPathInfo> paths;
    for (int i = 0; i < 7; ++i)
        paths.push_back(local_path("p" + std::to_string(i), 1));
    auto batches = hash_batches(paths, 3);
    REQUIRE(batches.size() == 3);
    CHECK(batches[0].size() == 3);
    CHECK(batches[2].size() == 1);
    CHECK(batches[2][0] == paths[6].path.hash);
    CHECK(hash_batches({}, 3).empty());
}

TEST_CASE("upload order: references first, the largest ready path first", "[client]") {
    auto dep = local_path("dep", 5);
    auto big = local_path("big", 500);
    auto mid = local_path("mid", 50, {dep.path.full()});
    // top references mid, dep, itself, and a path not in the plan (cached upstream).
    auto top = local_path("top", 1000,
                          {mid.path.full(), dep.path.full(), "",
                           "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc"});
    top.references[2] = top.path.full();
    UploadScheduler scheduler({top, mid, big, dep});
    CHECK(names_in_order(scheduler) == std::vector<std::string>{"big", "dep", "mid", "top"});
    CHECK(scheduler.finished());
    CHECK(scheduler.skipped().empty());
}

TEST_CASE("upload order: nothing starts before its references end, several run at once",
          "[client]") {
    auto a = local_path("a", 10);
    auto b = local_path("b", 20);
    auto c = local_path("c", 30, {a.path.full(), b.path.full()});
    UploadScheduler scheduler({a, b, c});
    auto first = scheduler.next();
    auto second = scheduler.next();
    REQUIRE(first);
    REQUIRE(second);
    CHECK_FALSE(scheduler.next()); // c waits for both
    CHECK_FALSE(scheduler.finished());
    scheduler.completed(*first, true);
    CHECK_FALSE(scheduler.next());
    scheduler.completed(*second, true);
    auto third = scheduler.next();
    REQUIRE(third);
    CHECK(scheduler.path(*third).path.name == "c");
    scheduler.completed(*third, true);
    CHECK(scheduler.finished());
}

TEST_CASE("upload order: a failed path skips everything that references it", "[client]") {
    auto dep = local_path("dep", 5);
    auto other = local_path("other", 1);
    auto mid = local_path("mid", 50, {dep.path.full()});
    auto top = local_path("top", 100, {mid.path.full()});
    UploadScheduler scheduler({top, mid, dep, other});
    std::vector<std::string> ran;
    while (auto index = scheduler.next()) {
        ran.push_back(scheduler.path(*index).path.name);
        scheduler.completed(*index, scheduler.path(*index).path.name != "dep");
    }
    CHECK(ran == std::vector<std::string>{"dep", "other"});
    CHECK(scheduler.finished());
    REQUIRE(scheduler.skipped().size() == 2);
    for (const auto& [skipped, cause] : scheduler.skipped())
        CHECK(scheduler.path(cause).path.name == "dep");
}

// ---- nix.conf and netrc ----------------------------------------------------------------

TEST_CASE("nix.conf: a substituter and a key are added once, other lines kept", "[client]") {
    std::string conf = "# mine\nsandbox = true\nextra-substituters = https://a\n";
    conf = add_to_nix_conf_list(conf, "extra-substituters", "http://lab/main");
    conf = add_to_nix_conf_list(conf, "extra-trusted-public-keys", "main-1:KEY=");
    conf = set_nix_conf_value(conf, "netrc-file", "/home/u/.config/nix/netrc");
    const std::string expected = "# mine\nsandbox = true\n"
                                 "extra-substituters = https://a http://lab/main\n"
                                 "extra-trusted-public-keys = main-1:KEY=\n"
                                 "netrc-file = /home/u/.config/nix/netrc\n";
    CHECK(conf == expected);
    std::string again = add_to_nix_conf_list(conf, "extra-substituters", "http://lab/main");
    again = add_to_nix_conf_list(again, "extra-trusted-public-keys", "main-1:KEY=");
    again = set_nix_conf_value(again, "netrc-file", "/home/u/.config/nix/netrc");
    CHECK(again == expected);
    // "extra-substituters-x" is another setting, not this one.
    CHECK(add_to_nix_conf_list("extra-substituters-x = y\n", "extra-substituters", "z") ==
          "extra-substituters-x = y\nextra-substituters = z\n");
    CHECK(set_nix_conf_value("netrc-file = /old\n", "netrc-file", "/new") == "netrc-file = /new\n");
}

TEST_CASE("netrc: a host gets its token, replacing an older one", "[client]") {
    std::string netrc = "machine other password x\n";
    netrc = set_netrc_token(netrc, "lab.example.org", "T1");
    CHECK(netrc == "machine other password x\nmachine lab.example.org password T1\n");
    netrc = set_netrc_token(netrc, "lab.example.org", "T2");
    CHECK(netrc == "machine other password x\nmachine lab.example.org password T2\n");
    CHECK(*host_of_url("https://lab.example.org:8443/main") == "lab.example.org");
    CHECK(*host_of_url("http://127.0.0.1:8080/main") == "127.0.0.1");
    CHECK(*host_of_url("http://[::1]:8080/main") == "[::1]");
    CHECK_FALSE(host_of_url("main"));
}

// ---- progress ------------------------------------------------------------------------------

TEST_CASE("progress: sizes and durations as printed", "[client]") {
    CHECK(human_bytes(0) == "0 B");
    CHECK(human_bytes(1023) == "1023 B");
    CHECK(human_bytes(1536) == "1.5 KiB");
    CHECK(human_bytes(3ull << 30) == "3.0 GiB");
    CHECK(human_duration(std::chrono::seconds(65)) == "1:05");
    CHECK(human_duration(std::chrono::seconds(3723)) == "1:02:03");
}

TEST_CASE("progress: plain lines name each path with paths, bytes, rate and ETA", "[client]") {
    ProgressClock::time_point now{};
    std::ostringstream out;
    PushProgress progress(out, PushProgress::Style::lines, [&] { return now; });
    auto a = local_path("a", 100 << 20);
    auto b = local_path("b", 300 << 20);
    progress.begin(2, (400u << 20));
    progress.started(0, a);
    progress.started(1, b);
    now += std::chrono::seconds(4);
    progress.sent(0, 100 << 20);
    progress.sent(1, 100 << 20);
    progress.uploaded(0, a, {lab::attic::UploadKind::uploaded, 1000, 0.25});
    // 200 MiB in 4 s: 50 MiB/s; 200 MiB left: 4 s.
    CHECK_THAT(out.str(), Catch::Contains("uploaded " + a.path.full() +
                                          " (100.0 MiB, 25 % deduplicated) [1/2 paths] "
                                          "200.0 MiB / 400.0 MiB, 50.0 MiB/s, ETA 0:04"));
    out.str("");
    now += std::chrono::seconds(11);
    progress.sent(1, 250 << 20); // more than plain_interval since the last line
    CHECK_THAT(out.str(), Catch::StartsWith("pushing: [1/2 paths] 350.0 MiB / 400.0 MiB"));
    out.str("");
    progress.sent(1, 260 << 20); // within the interval: quiet
    CHECK(out.str().empty());
    progress.failed(1, b, make_error(ErrorCode::invalid_nar, "NarHash mismatch"));
    CHECK_THAT(out.str(), Catch::StartsWith("FAILED " + b.path.full() + ": NarHash mismatch"));
    progress.end();
}

TEST_CASE("progress: on a terminal, bars redrawn in place and cleared at the end", "[client]") {
    ProgressClock::time_point now{};
    std::ostringstream out;
    PushProgress progress(out, PushProgress::Style::bars, [&] { return now; });
    auto a = local_path("a-rather-long-name-that-does-not-fit-in-the-column", 10 << 20);
    progress.begin(1, 10 << 20);
    progress.started(0, a);
    now += std::chrono::seconds(2);
    progress.sent(0, 5 << 20);
    std::string drawn = out.str();
    CHECK_THAT(drawn, Catch::Contains("[############------------] 5.0 MiB / 10.0 MiB"));
    CHECK_THAT(drawn, Catch::Contains("a-rather-long-name-that-does-no~"));
    CHECK_THAT(drawn, Catch::Contains("[0/1 paths] 5.0 MiB / 10.0 MiB, 2.5 MiB/s, ETA 0:02"));
    CHECK_THAT(drawn, Catch::Contains("\x1b[1A\x1b[2K")); // the previous drawing erased
    out.str("");
    now += std::chrono::milliseconds(10);
    progress.sent(0, 6 << 20); // within the redraw interval
    CHECK(out.str().empty());
    progress.uploaded(0, a, {lab::attic::UploadKind::deduplicated, 1, 1.0});
    progress.end();
    std::string final_text = out.str();
    CHECK_THAT(final_text, Catch::Contains("deduplicated " + a.path.full()));
    // The last thing written erases the bars: two lines (the total, nothing running).
    CHECK_THAT(final_text, Catch::EndsWith("[1/1 paths] 10.0 MiB / 10.0 MiB, 5.0 MiB/s\n"
                                           "\x1b[1A\x1b[2K"));
}

TEST_CASE("push summary: the last line says what was sent, skipped and failed", "[client]") {
    PushSummary summary;
    summary.closure_paths = 10;
    summary.signed_upstream = 3;
    summary.already_cached = 4;
    summary.uploaded = 2;
    summary.deduplicated = 1;
    summary.bytes_sent = 300 << 20;
    summary.bytes_deduplicated = 100 << 20;
    summary.elapsed = std::chrono::seconds(2);
    CHECK(summary_line(summary) ==
          "pushed 3 of 10 paths in 2.0 s: 300.0 MiB of NAR sent, 150.0 MiB/s, 100.0 MiB of it "
          "deduplicated; 4 already in the cache, 3 signed upstream");
    summary.failed = 1;
    summary.skipped = 2;
    CHECK_THAT(summary_line(summary), Catch::EndsWith(", 1 FAILED, 2 skipped"));
}
