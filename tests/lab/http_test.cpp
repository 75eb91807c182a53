// The HTTP layer without sockets: the route table, targets, the error body,
// the metrics registry and text format, the access log line, and handlers
// called through testing::call.
#include "http/access_log.hpp"
#include "http/errors.hpp"
#include "http/metrics.hpp"
#include "http/observability.hpp"
#include "http/router.hpp"
#include "http/testing.hpp"
#include "http/workers.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <thread>

using namespace nixedge;
using namespace nixedge::lab::http;
using boost::asio::awaitable;

namespace {

Handler named(std::string text) {
    return [text](Request& req) -> awaitable<Response> {
        std::string body = text;
        for (const auto& [key, value] : req.params().items())
            body += " " + key + "=" + value;
        co_return Response::text(Status::ok, body);
    };
}

// The shape of the real server's table.
Router cache_router() {
    Router r;
    REQUIRE(r.add({Verb::get}, "/{cache}/nix-cache-info", "cache_info", named("info")));
    REQUIRE(r.add({Verb::get, Verb::put}, "/{cache}/{hash}.narinfo", "narinfo", named("narinfo")));
    REQUIRE(r.add({Verb::get, Verb::put}, "/{cache}/{hash}.ls", "listing", named("ls")));
    REQUIRE(r.add({Verb::get, Verb::put}, "/{cache}/nar/{file}", "nar", named("nar")));
    REQUIRE(r.add({Verb::post}, "/_api/v1/get-missing-paths", "missing", named("missing")));
    REQUIRE(r.add({Verb::get, Verb::post, Verb::patch, Verb::delete_},
                  "/_api/v1/cache-config/{cache}", "cache_config", named("config")));
    REQUIRE(r.add({Verb::get}, "/healthz", "healthz", named("health")));
    return r;
}

} // namespace

TEST_CASE("route table: named segments, affixes, literals", "[http]") {
    Router r = cache_router();
    auto m = r.match(Verb::get, "/main/nix-cache-info");
    REQUIRE(m.outcome == MatchOutcome::found);
    CHECK(m.route->name == "cache_info");
    CHECK(m.params.get("cache") == "main");

    m = r.match(Verb::put, "/main/0123456789abcdfghijklmnpqrsvwxy.narinfo");
    REQUIRE(m.outcome == MatchOutcome::found);
    CHECK(m.route->name == "narinfo");
    CHECK(m.params.get("hash") == "0123456789abcdfghijklmnpqrsvwxy");

    m = r.match(Verb::get, "/main/nar/abc.nar.zst");
    REQUIRE(m.outcome == MatchOutcome::found);
    CHECK(m.route->name == "nar");
    CHECK(m.params.get("file") == "abc.nar.zst");

    m = r.match(Verb::patch, "/_api/v1/cache-config/main");
    REQUIRE(m.outcome == MatchOutcome::found);
    CHECK(m.route->name == "cache_config");

    // A parameter never matches empty: ".narinfo" alone is not a narinfo.
    CHECK(r.match(Verb::get, "/main/.narinfo").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::get, "/main/x.narinfox").outcome == MatchOutcome::not_found);
}

TEST_CASE("route table: the most specific pattern wins, whatever the order", "[http]") {
    Router r;
    REQUIRE(r.add({Verb::get}, "/{cache}/{file}", "any_file", named("any")));
    REQUIRE(r.add({Verb::get}, "/{cache}/{hash}.narinfo", "narinfo", named("narinfo")));
    REQUIRE(r.add({Verb::get}, "/{cache}/nix-cache-info", "cache_info", named("info")));
    REQUIRE(r.add({Verb::get}, "/metrics/{x}", "metrics_x", named("mx")));
    CHECK(r.match(Verb::get, "/main/nix-cache-info").route->name == "cache_info");
    CHECK(r.match(Verb::get, "/main/abc.narinfo").route->name == "narinfo");
    CHECK(r.match(Verb::get, "/main/abc.ls").route->name == "any_file");
    CHECK(r.match(Verb::get, "/metrics/a").route->name == "metrics_x");
}

TEST_CASE("route table: HEAD follows GET, 405 lists Allow, 404 otherwise", "[http]") {
    Router r = cache_router();
    auto head = r.match(Verb::head, "/main/nix-cache-info");
    REQUIRE(head.outcome == MatchOutcome::found);
    CHECK(head.route->name == "cache_info");

    auto put = r.match(Verb::put, "/main/nix-cache-info");
    CHECK(put.outcome == MatchOutcome::method_not_allowed);
    CHECK(put.allow == "GET, HEAD");

    auto del = r.match(Verb::delete_, "/main/abc.narinfo");
    CHECK(del.outcome == MatchOutcome::method_not_allowed);
    CHECK(del.allow == "GET, HEAD, PUT");

    auto missing = r.match(Verb::get, "/_api/v1/get-missing-paths");
    CHECK(missing.outcome == MatchOutcome::method_not_allowed);
    CHECK(missing.allow == "POST");

    CHECK(r.match(Verb::get, "/").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::get, "/main").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::get, "/main/nar").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::get, "/main/nar/a/b").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::unknown, "/nothing").outcome == MatchOutcome::not_found);
}

TEST_CASE("route table: traversal, encoded slashes, double slashes, queries", "[http]") {
    Router r = cache_router();
    // Dot segments, plain or encoded, are refused outright.
    for (const char* target :
         {"/main/../etc/passwd", "/main/nar/..", "/main/%2e%2e/nix-cache-info", "/main/nar/%2E%2E",
          "/./main/nix-cache-info", "/main/nar/.", "/..",
          // An encoded '/' or '\' inside a segment is never a separator.
          "/a%2Fb/nix-cache-info", "/main/nar/..%2F..%2Fetc%2Fpasswd", "/main/nar/a%5Cb",
          // Bad escapes, control characters, non-ASCII, not origin-form.
          "/main/nar/%zz", "/main/nar/%2", "/main/nar/%", "/main/nar/a%00b", "/main/nar/a%0ab",
          "/main/nar/\x01", "/main/nar/\xc3\xa9", "http://evil/main/nix-cache-info", "*",
          "main/nix-cache-info", "", "/main/nar/a b", "/main/nar/a\"b", "/main/nar/a#b"}) {
        INFO(target);
        auto m = r.match(Verb::get, target);
        CHECK(m.outcome == MatchOutcome::bad_target);
        CHECK(m.route == nullptr);
    }
    // A parameter cut out of a longer segment is never a dot segment either
    // (found by tests/fuzz/router_fuzz.cpp).
    CHECK(r.match(Verb::get, "/main/...narinfo").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::get, "/main/..ls").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::get, "/main/....narinfo").outcome == MatchOutcome::found);
    // Empty segments match nothing (Nix never sends them).
    CHECK(r.match(Verb::get, "//main/nix-cache-info").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::get, "/main//nix-cache-info").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::get, "/main/nix-cache-info/").outcome == MatchOutcome::not_found);
    CHECK(r.match(Verb::get, "/main/nar//x").outcome == MatchOutcome::not_found);

    // Encoded ordinary characters decode, per segment.
    auto m = r.match(Verb::get, "/ma%69n/nar/a%2Bb.nar");
    REQUIRE(m.outcome == MatchOutcome::found);
    CHECK(m.params.get("cache") == "main");
    CHECK(m.params.get("file") == "a+b.nar");
    CHECK(m.path == "/main/nar/a+b.nar");

    // The query is stripped from matching and exposed.
    m = r.match(Verb::get, "/main/nix-cache-info?compression=zstd&x=%2F..%2F");
    REQUIRE(m.outcome == MatchOutcome::found);
    CHECK(m.path == "/main/nix-cache-info");
    CHECK(m.query == "compression=zstd&x=%2F..%2F");
    CHECK(find_query_param(m.query, "compression") == "zstd");
    CHECK(find_query_param(m.query, "x") == "/../");
    CHECK(find_query_param(m.query, "y") == std::nullopt);
    CHECK(find_query_param("a=1+2&b&a=3", "a") == "1 2");
    CHECK(find_query_param("a=1+2&b&a=3", "b") == "");
    // A '?' alone ends the path too.
    CHECK(r.match(Verb::get, "/main/nix-cache-info?").outcome == MatchOutcome::found);
}

TEST_CASE("route table: absurdly long targets are refused before any work", "[http]") {
    Router r(TargetLimits{.max_target_bytes = 256, .max_segments = 8});
    REQUIRE(r.add({Verb::get}, "/{cache}/nar/{file}", "nar", named("nar")));
    CHECK(r.match(Verb::get, "/main/nar/" + std::string(200, 'a')).outcome == MatchOutcome::found);
    CHECK(r.match(Verb::get, "/main/nar/" + std::string(300, 'a')).outcome ==
          MatchOutcome::target_too_long);
    CHECK(r.match(Verb::get, "/a/b/c/d/e/f/g/h/i/j").outcome == MatchOutcome::target_too_long);
    // The default stops at 4 KiB even for a query.
    Router d;
    REQUIRE(d.add({Verb::get}, "/x", "x", named("x")));
    CHECK(d.match(Verb::get, "/x?" + std::string(5000, 'q')).outcome ==
          MatchOutcome::target_too_long);
    CHECK(d.match(Verb::get, "/x?" + std::string(4000, 'q')).outcome == MatchOutcome::found);
}

TEST_CASE("route table: bad patterns and overlapping routes are refused", "[http]") {
    Router r;
    auto h = named("x");
    CHECK_FALSE(r.add({Verb::get}, "no-slash", "a", h));
    CHECK_FALSE(r.add({Verb::get}, "/{cache", "a", h));
    CHECK_FALSE(r.add({Verb::get}, "/{Cache}", "a", h));
    CHECK_FALSE(r.add({Verb::get}, "/{a}/{a}", "a", h));
    CHECK_FALSE(r.add({Verb::get}, "/x//y", "a", h));
    CHECK_FALSE(r.add({Verb::get}, "/../y", "a", h));
    CHECK_FALSE(r.add({Verb::get}, "/a%2Fb", "a", h));
    CHECK_FALSE(r.add({}, "/x", "a", h));
    CHECK_FALSE(r.add({Verb::get}, "/x", "", h));
    CHECK_FALSE(r.add({Verb::get}, "/x", "a", Handler{}));
    REQUIRE(r.add({Verb::get}, "/{cache}/{hash}.narinfo", "narinfo", h));
    // Same shape, overlapping method: ambiguous.
    CHECK_FALSE(r.add({Verb::get, Verb::put}, "/{c}/{h}.narinfo", "other", h));
    CHECK_FALSE(r.add({Verb::post}, "/x", "narinfo", h)); // duplicate name
    // Same shape, other methods: fine (one family, split by method).
    CHECK(r.add({Verb::put}, "/{c}/{h}.narinfo", "narinfo_put", h));
    CHECK(r.match(Verb::put, "/main/x.narinfo").route->name == "narinfo_put");
    CHECK(r.match(Verb::get, "/main/x.narinfo").route->name == "narinfo");
}

TEST_CASE(
    "error bodies: Attic's shape (status code, stable name, message), internal details hidden",
    "[http]") {
    auto res = error_response(make_error(ErrorCode::invalid_narinfo, "line 3: no NarHash"));
    CHECK(res.status == Status::bad_request);
    auto body = nlohmann::json::parse(res.body);
    CHECK(body["error"] == "invalid_narinfo");
    CHECK(body["code"] == 400);
    CHECK(body["message"] == "line 3: no NarHash");
    CHECK(res.headers[boost::beast::http::field::content_type] == "application/json");
    CHECK(res.log_detail.empty());

    auto internal =
        error_response(make_error(ErrorCode::internal, "open /var/lib/nixedge/chunks/ab/cd: EIO"));
    CHECK(internal.status == Status::internal_server_error);
    CHECK(internal.body.find("/var/lib") == std::string::npos);
    body = nlohmann::json::parse(internal.body);
    CHECK(body["error"] == "internal");
    CHECK(body["code"] == 500);
    CHECK(internal.log_detail.find("/var/lib/nixedge/chunks/ab/cd") != std::string::npos);

    CHECK(error_status(ErrorCode::limit_exceeded) == Status::payload_too_large);
    CHECK(error_status(ErrorCode::range_not_satisfiable) == Status::range_not_satisfiable);
    CHECK(error_status(ErrorCode::invalid_manifest) == Status::internal_server_error);

    auto forbidden = problem_response(Problem::forbidden, "token may not push to main");
    CHECK(forbidden.status == Status::forbidden);
    body = nlohmann::json::parse(forbidden.body);
    CHECK(body["error"] == "forbidden");
    CHECK(body["code"] == 403);
    CHECK(body["message"] == "token may not push to main");
    CHECK(problem_status(Problem::header_too_large) == Status::request_header_fields_too_large);
    CHECK(problem_status(Problem::conflict) == Status::conflict);

    // Client bytes that are not UTF-8 do not break the body.
    auto odd = problem_response(Problem::bad_request, std::string("bad \xff byte"));
    CHECK_NOTHROW(nlohmann::json::parse(odd.body));
}

TEST_CASE("metrics: Prometheus text format", "[http]") {
    Metrics m;
    auto requests = m.counter_family("t_requests_total", "Requests.", {"route", "status"});
    REQUIRE(requests);
    (*requests)->with({"narinfo", "200"}).inc();
    (*requests)->with({"narinfo", "200"}).inc(2);
    (*requests)->with({"nar", "404"}).inc();
    auto gauge = m.gauge("t_bytes", "Stored \"bytes\"\nin storage.");
    REQUIRE(gauge);
    (*gauge)->set(1.5);
    auto hist = m.histogram_family("t_seconds", "Latency.", {"route"}, {0.1, 1});
    REQUIRE(hist);
    (*hist)->with({"nar"}).observe(0.05);
    (*hist)->with({"nar"}).observe(0.1); // upper bounds are inclusive
    (*hist)->with({"nar"}).observe(3);
    REQUIRE(m.callback_gauge("t_mirror_age_seconds", "Age.", [] { return 42.0; }));
    auto escaped = m.counter_family("t_escape_total", "Escapes.", {"v"});
    REQUIRE(escaped);
    (*escaped)->with({"a\"b\\c\nd"}).inc();

    CHECK(m.render() == "# HELP t_bytes Stored \"bytes\"\\nin storage.\n"
                        "# TYPE t_bytes gauge\n"
                        "t_bytes 1.5\n"
                        "# HELP t_escape_total Escapes.\n"
                        "# TYPE t_escape_total counter\n"
                        "t_escape_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"
                        "# HELP t_mirror_age_seconds Age.\n"
                        "# TYPE t_mirror_age_seconds gauge\n"
                        "t_mirror_age_seconds 42\n"
                        "# HELP t_requests_total Requests.\n"
                        "# TYPE t_requests_total counter\n"
                        "t_requests_total{route=\"nar\",status=\"404\"} 1\n"
                        "t_requests_total{route=\"narinfo\",status=\"200\"} 3\n"
                        "# HELP t_seconds Latency.\n"
                        "# TYPE t_seconds histogram\n"
                        "t_seconds_bucket{route=\"nar\",le=\"0.1\"} 2\n"
                        "t_seconds_bucket{route=\"nar\",le=\"1\"} 2\n"
                        "t_seconds_bucket{route=\"nar\",le=\"+Inf\"} 3\n"
                        "t_seconds_sum{route=\"nar\"} 3.15\n"
                        "t_seconds_count{route=\"nar\"} 3\n");
}

TEST_CASE("metrics: registration rules and concurrent updates", "[http]") {
    Metrics m;
    CHECK_FALSE(m.counter("1bad", "x"));
    CHECK_FALSE(m.counter("bad-name", "x"));
    CHECK_FALSE(m.counter_family("ok_total", "x", {"le"}));
    CHECK_FALSE(m.counter_family("ok_total", "x", {"__reserved"}));
    CHECK_FALSE(m.histogram("h", "x", {}));
    CHECK_FALSE(m.histogram("h", "x", {1, 1}));
    CHECK_FALSE(m.histogram("h", "x", {2, 1}));
    CHECK_FALSE(m.callback_gauge("cb", "x", {}));

    // The same family again is the same family; a different one is refused.
    auto a = m.counter_family("nixedge_chunks_total", "Chunks.", {"result"});
    auto b = m.counter_family("nixedge_chunks_total", "Chunks.", {"result"});
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a == *b);
    CHECK_FALSE(m.gauge_family("nixedge_chunks_total", "Chunks.", {"result"}));
    CHECK_FALSE(m.counter_family("nixedge_chunks_total", "Chunks.", {"other"}));

    // Negative increments do not move a counter.
    (*a)->with({"stored"}).inc(-5);
    CHECK((*a)->with({"stored"}).value() == 0);

    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10000; ++i) {
                (*a)->with({i % 2 == 0 ? "stored" : "deduplicated"}).inc();
                if (i % 1000 == 0)
                    (void)m.render();
            }
            (void)t;
        });
    for (auto& th : threads)
        th.join();
    CHECK((*a)->with({"stored"}).value() == 20000);
    CHECK((*a)->with({"deduplicated"}).value() == 20000);
    CHECK(format_metric_value(0.1) == "0.1");
    CHECK(format_metric_value(1e21) == "1e+21");
    CHECK(format_metric_value(3) == "3");
}

TEST_CASE("access log: one JSON line with every field", "[http]") {
    AccessLogEntry e;
    e.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1714564800123));
    e.method = "PUT";
    e.route = "nar";
    e.target = "/main/nar/x.nar.zst";
    e.status = 201;
    e.bytes_in = 1000;
    e.bytes_out = 17;
    e.duration_ms = 12.34567;
    e.remote = "127.0.0.1:4000";
    e.subject = "ci";
    std::string line = format_access_log(e);
    CHECK(line == "{\"time\":\"2024-05-01T12:00:00.123Z\",\"method\":\"PUT\",\"route\":\"nar\","
                  "\"target\":\"/main/nar/x.nar.zst\",\"status\":201,\"bytes_in\":1000,"
                  "\"bytes_out\":17,\"duration_ms\":12.346,\"remote\":\"127.0.0.1:4000\","
                  "\"subject\":\"ci\"}");
    CHECK(line.find('\n') == std::string::npos);

    AccessLogEntry odd;
    std::string target = "/\xff" + std::string(5000, 'a');
    odd.target = target;
    odd.error = "internal: disk on fire";
    auto parsed = nlohmann::json::parse(format_access_log(odd));
    CHECK(parsed["target"].get<std::string>().size() <= max_logged_target + 2);
    CHECK(parsed["error"] == "internal: disk on fire");
    CHECK_FALSE(parsed.contains("subject"));
}

TEST_CASE("handlers are callable without sockets", "[http]") {
    Router r;
    REQUIRE(r.add(
        {Verb::put}, "/{cache}/{hash}.narinfo", "narinfo_put",
        [](Request& req) -> awaitable<Response> {
            if (req.header("Authorization") != "Bearer good")
                co_return problem_response(Problem::unauthorized, "no token");
            req.set_subject("ci");
            auto text = co_await req.body().read_all(64 * 1024);
            if (!text)
                co_return error_response(text.error());
            co_return Response::text(Status::ok, std::string(req.param("cache")) + ":" + *text);
        },
        RouteOptions{.body_limit = 100}));
    REQUIRE(r.add({Verb::get}, "/{cache}/nix-cache-info", "cache_info",
                  [](Request& req) -> awaitable<Response> {
                      // CPU work goes to the pool and comes back.
                      auto caller = std::this_thread::get_id();
                      auto worker =
                          co_await req.workers().run([] { return std::this_thread::get_id(); });
                      CHECK(worker != caller);
                      CHECK(std::this_thread::get_id() == caller);
                      co_return Response::text(Status::ok, "StoreDir: /nix/store\n");
                  }));

    testing::CallOptions unauth;
    unauth.body = "StorePath: x";
    auto res = testing::call(r, Verb::put, "/main/abc.narinfo", std::move(unauth));
    REQUIRE(res);
    CHECK(res->status == Status::unauthorized);
    CHECK(res->body_bytes_read == 0);

    testing::CallOptions ok;
    ok.headers.set(boost::beast::http::field::authorization, "Bearer good");
    ok.body = "StorePath: x";
    res = testing::call(r, Verb::put, "/main/abc.narinfo", std::move(ok));
    REQUIRE(res);
    CHECK(res->status == Status::ok);
    CHECK(res->body == "main:StorePath: x");
    CHECK(res->subject == "ci");
    CHECK(res->route_name == "narinfo_put");

    testing::CallOptions big;
    big.headers.set(boost::beast::http::field::authorization, "Bearer good");
    big.body = std::string(101, 'x');
    res = testing::call(r, Verb::put, "/main/abc.narinfo", std::move(big));
    REQUIRE(res);
    CHECK(res->status == Status::payload_too_large);
    CHECK(res->body_bytes_read == 0); // refused on the declared length

    testing::CallOptions big_chunked;
    big_chunked.headers.set(boost::beast::http::field::authorization, "Bearer good");
    big_chunked.body = std::string(1000, 'x');
    big_chunked.unknown_length = true;
    res = testing::call(r, Verb::put, "/main/abc.narinfo", std::move(big_chunked));
    REQUIRE(res);
    CHECK(res->status == Status::payload_too_large);

    res = testing::call(r, Verb::head, "/main/nix-cache-info");
    REQUIRE(res);
    CHECK(res->status == Status::ok);
    CHECK(res->body.empty());
    res = testing::call(r, Verb::get, "/main/nix-cache-info");
    REQUIRE(res);
    CHECK(res->body == "StoreDir: /nix/store\n");

    res = testing::call(r, Verb::delete_, "/main/nix-cache-info");
    REQUIRE(res);
    CHECK(res->status == Status::method_not_allowed);
    CHECK(res->headers[boost::beast::http::field::allow] == "GET, HEAD");
    res = testing::call(r, Verb::get, "/main/%2e%2e/x");
    REQUIRE(res);
    CHECK(res->status == Status::bad_request);
    CHECK(nlohmann::json::parse(res->body)["error"] == "bad_request");
}

TEST_CASE("a throwing handler becomes a generic 500, detail kept for the log", "[http]") {
    Router r;
    REQUIRE(r.add({Verb::get}, "/boom", "boom", [](Request&) -> awaitable<Response> {
        throw std::runtime_error("cannot open /secret/path/db.sqlite");
        co_return Response::empty(Status::ok);
    }));
    auto res = testing::call(r, Verb::get, "/boom");
    REQUIRE(res);
    CHECK(res->status == Status::internal_server_error);
    CHECK(res->body.find("/secret") == std::string::npos);
    CHECK(nlohmann::json::parse(res->body)["error"] == "internal");
    CHECK(res->log_detail.find("/secret/path/db.sqlite") != std::string::npos);
}

TEST_CASE("observability routes: healthz, readyz, metrics", "[http]") {
    auto metrics = std::make_shared<Metrics>();
    REQUIRE(metrics->counter("nixedge_chunks_stored_total", "Chunks stored."));
    std::atomic<bool> db_up{false};
    Router r;
    REQUIRE(add_observability_routes(r, metrics, [&]() -> Readiness {
        if (!db_up)
            return {{"database"}, "database: database at /run/db.sock unreachable"};
        return {};
    }));
    auto res = testing::call(r, Verb::get, "/healthz");
    REQUIRE(res);
    CHECK(res->status == Status::ok);
    res = testing::call(r, Verb::get, "/readyz");
    REQUIRE(res);
    CHECK(res->status == Status::service_unavailable);
    auto body = nlohmann::json::parse(res->body);
    CHECK(body["error"] == "service_unavailable");
    CHECK(body["down"] == nlohmann::json::array({"database"}));
    CHECK(body["message"] == "not ready: database unavailable");
    CHECK(res->body.find("/run/db.sock") == std::string::npos);
    CHECK(res->log_detail.find("/run/db.sock") != std::string::npos);
    // Liveness does not depend on the backends.
    res = testing::call(r, Verb::get, "/healthz");
    REQUIRE(res);
    CHECK(res->status == Status::ok);
    db_up = true;
    res = testing::call(r, Verb::get, "/readyz");
    REQUIRE(res);
    CHECK(res->status == Status::ok);
    res = testing::call(r, Verb::get, "/metrics");
    REQUIRE(res);
    CHECK(res->status == Status::ok);
    CHECK(res->headers[boost::beast::http::field::content_type] == metrics_content_type);
    CHECK(res->body.find("# TYPE nixedge_chunks_stored_total counter\n"
                         "nixedge_chunks_stored_total 0\n") != std::string::npos);
}

namespace {

// A steady clock the test moves by hand.
struct ManualClock {
    std::shared_ptr<std::atomic<std::int64_t>> ms = std::make_shared<std::atomic<std::int64_t>>(0);
    ProbeCacheOptions::Clock clock() const {
        return [ms = ms] {
            return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms->load()));
        };
    }
    void advance(std::chrono::milliseconds by) { *ms += by.count(); }
};

// A probe that counts its runs and fails while `up` is false.
struct CountingProbe {
    std::shared_ptr<std::atomic<int>> runs = std::make_shared<std::atomic<int>>(0);
    std::shared_ptr<std::atomic<bool>> up = std::make_shared<std::atomic<bool>>(true);
    Probe named(std::string name) const {
        return {std::move(name), [runs = runs, up = up]() -> Result<void> {
                    ++*runs;
                    if (!*up)
                        return make_error(ErrorCode::storage_unavailable, "connection refused");
                    return {};
                }};
    }
};

} // namespace

TEST_CASE("readiness: each probe runs at most once per max_age, and failures are named", "[http]") {
    ManualClock time;
    CountingProbe database, storage;
    auto check = cached_readiness({database.named("database"), storage.named("storage")},
                                  {.max_age = std::chrono::milliseconds(2000),
                                   .stall_limit = std::chrono::milliseconds(5000),
                                   .clock = time.clock()});
    CHECK(check().ready());
    // A storm of probes within max_age costs nothing.
    for (int i = 0; i < 100; ++i)
        CHECK(check().ready());
    CHECK(*database.runs == 1);
    CHECK(*storage.runs == 1);

    // A backend going down shows once the cached answer is max_age old.
    *storage.up = false;
    time.advance(std::chrono::milliseconds(1999));
    CHECK(check().ready());
    time.advance(std::chrono::milliseconds(1));
    auto down = check();
    CHECK(down.down == std::vector<std::string>{"storage"});
    CHECK(down.detail == "storage: storage_unavailable: connection refused");
    CHECK(*storage.runs == 2);

    *database.up = false;
    time.advance(std::chrono::milliseconds(2000));
    CHECK(check().down == std::vector<std::string>{"database", "storage"});

    *database.up = true;
    *storage.up = true;
    time.advance(std::chrono::milliseconds(2000));
    CHECK(check().ready());
    CHECK(*database.runs == 4);
    CHECK(*storage.runs == 4);
}

TEST_CASE("readiness: a probe under way is not run again, and one that hangs counts as down",
          "[http]") {
    ManualClock time;
    std::mutex gate_mutex;
    std::condition_variable gate_changed;
    bool hang = false;
    bool entered = false;
    std::atomic<int> runs{0};
    Probe database{"database", [&]() -> Result<void> {
                       ++runs;
                       std::unique_lock lock(gate_mutex);
                       entered = true;
                       gate_changed.notify_all();
                       gate_changed.wait(lock, [&] { return !hang; });
                       return {};
                   }};
    auto check = cached_readiness({database}, {.max_age = std::chrono::milliseconds(2000),
                                               .stall_limit = std::chrono::milliseconds(5000),
                                               .clock = time.clock()});
    REQUIRE(check().ready());

    {
        std::lock_guard lock(gate_mutex);
        hang = true;
        entered = false;
    }
    time.advance(std::chrono::milliseconds(2000));
    std::thread prober([&] { CHECK(check().ready()); });
    {
        std::unique_lock lock(gate_mutex);
        gate_changed.wait(lock, [&] { return entered; });
    }
    // Others get the last answer at once instead of a second run...
    CHECK(check().ready());
    CHECK(runs == 2);
    // ... until the run has taken longer than stall_limit.
    time.advance(std::chrono::milliseconds(5001));
    auto stalled = check();
    CHECK(stalled.down == std::vector<std::string>{"database"});
    CHECK(stalled.detail.find("no answer within 5000 ms") != std::string::npos);
    CHECK(runs == 2);
    {
        std::lock_guard lock(gate_mutex);
        hang = false;
    }
    gate_changed.notify_all();
    prober.join();
    CHECK(check().ready());
    CHECK(runs == 2);
}
