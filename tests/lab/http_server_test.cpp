// The HTTP server over real sockets on 127.0.0.1: routing, 100-continue,
// backpressure on uploads, streamed downloads, limits, timeouts, graceful
// stop, the connection limit, metrics and the access log.
#include "http/errors.hpp"
#include "http/observability.hpp"
#include "http/server.hpp"
#include "http/workers.hpp"
#include "http_test_support.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <regex>

using namespace nixedge;
using namespace nixedge::lab::http;
using namespace nixedge::lab::http::test;
using boost::asio::awaitable;

#if defined(__SANITIZE_ADDRESS__)
#define NIXEDGE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NIXEDGE_UNDER_ASAN 1
#endif
#endif

namespace {

constexpr std::string_view cache_info = "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n";

// What the test handlers saw.
struct Observed {
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::size_t> largest_piece{0};
    std::atomic<bool> release{false};
    std::atomic<int> handler_entered{0};
};

awaitable<void> sleep_for(std::chrono::milliseconds d) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, d);
    co_await timer.async_wait(boost::asio::use_awaitable);
}

// 1 MiB pieces of a fixed pattern: byte i of each piece is i % 251.
class PatternProducer final : public BodyProducer {
  public:
    explicit PatternProducer(std::uint64_t total, std::uint64_t fail_after = UINT64_MAX)
        : total_(total), fail_after_(fail_after), piece_(1024 * 1024) {
        for (std::size_t i = 0; i < piece_.size(); ++i)
            piece_[i] = static_cast<std::uint8_t>(i % 251);
    }
    awaitable<Result<ByteView>> next() override {
        if (sent_ >= fail_after_)
            co_return make_error(ErrorCode::internal, "chunk 7 missing from storage");
        std::uint64_t n = std::min<std::uint64_t>(piece_.size(), total_ - sent_);
        n = std::min(n, fail_after_ - sent_);
        sent_ += n;
        co_return ByteView(piece_.data(), static_cast<std::size_t>(n));
    }

  private:
    std::uint64_t total_;
    std::uint64_t fail_after_;
    std::uint64_t sent_ = 0;
    std::vector<std::uint8_t> piece_;
};

std::shared_ptr<Router> test_router(Observed& seen, std::shared_ptr<Metrics> metrics = nullptr) {
    auto r = std::make_shared<Router>();
    REQUIRE(r->add({Verb::get}, "/{cache}/nix-cache-info", "cache_info",
                   [](Request& req) -> awaitable<Response> {
                       if (req.header("Authorization") == "Bearer ci-token")
                           req.set_subject("ci");
                       co_return Response::text(Status::ok, std::string(cache_info),
                                                "text/x-nix-cache-info");
                   }));
    // A NAR upload: authorization first, then the body, piece by piece,
    // optionally through slow work on the pool.
    REQUIRE(r->add(
        {Verb::put}, "/{cache}/nar/{file}", "nar_put",
        [&seen](Request& req) -> awaitable<Response> {
            if (req.header("Authorization") != "Bearer push")
                co_return problem_response(Problem::unauthorized, "push token required");
            bool slow = req.header("X-Slow") == "1";
            std::uint64_t total = 0;
            std::uint64_t sum = 0;
            for (;;) {
                auto piece = co_await req.body().read_some();
                if (!piece)
                    co_return error_response(piece.error());
                if (piece->empty())
                    break;
                std::size_t largest = seen.largest_piece.load();
                while (piece->size() > largest &&
                       !seen.largest_piece.compare_exchange_weak(largest, piece->size())) {
                }
                total += piece->size();
                seen.bytes = total;
                ByteView view = *piece;
                sum += co_await req.workers().run([view, slow] {
                    std::uint64_t s = 0;
                    for (std::uint8_t byte : view)
                        s += byte;
                    if (slow)
                        std::this_thread::sleep_for(std::chrono::microseconds(400));
                    return s;
                });
            }
            nlohmann::json out = {{"bytes", total}, {"sum", sum}};
            co_return Response::json(Status::ok, out.dump());
        },
        RouteOptions{.body_limit = std::uint64_t{200} << 20}));
    // Waits for the test's go-ahead after the first piece.
    REQUIRE(r->add(
        {Verb::put}, "/gate", "gate",
        [&seen](Request& req) -> awaitable<Response> {
            auto first = co_await req.body().read_some();
            if (!first)
                co_return error_response(first.error());
            seen.bytes = first->size();
            while (!seen.release)
                co_await sleep_for(std::chrono::milliseconds(5));
            std::uint64_t total = first->size();
            for (;;) {
                auto piece = co_await req.body().read_some();
                if (!piece)
                    co_return error_response(piece.error());
                if (piece->empty())
                    break;
                total += piece->size();
                seen.bytes = total;
            }
            co_return Response::text(Status::ok, std::to_string(total));
        },
        RouteOptions{.body_limit = std::uint64_t{100} << 20}));
    REQUIRE(r->add(
        {Verb::get, Verb::put}, "/{cache}/{hash}.narinfo", "narinfo",
        [](Request& req) -> awaitable<Response> {
            if (req.method() != Verb::put)
                co_return problem_response(Problem::not_found, "no such path");
            auto text = co_await req.body().read_all(1000);
            if (!text)
                co_return error_response(text.error());
            co_return Response::text(Status::ok, "stored " + std::to_string(text->size()));
        },
        RouteOptions{.body_limit = 1000}));
    REQUIRE(r->add({Verb::get}, "/big/{size}", "big", [](Request& req) -> awaitable<Response> {
        std::uint64_t size = std::stoull(std::string(req.param("size")));
        if (req.method() == Verb::head) // the length, without opening anything
            co_return Response::stream(Status::ok, size, nullptr);
        co_return Response::stream(Status::ok, size, std::make_unique<PatternProducer>(size));
    }));
    // A range answer: the handler decides, the headers are its own.
    REQUIRE(r->add({Verb::get}, "/ranged", "ranged", [](Request& req) -> awaitable<Response> {
        if (req.header("Range") != "bytes=10-19")
            co_return Response::stream(Status::ok, 1000, std::make_unique<PatternProducer>(1000));
        auto res =
            Response::stream(Status::partial_content, 10, std::make_unique<PatternProducer>(10));
        res.headers.set("Content-Range", "bytes 10-19/1000");
        res.headers.set("Accept-Ranges", "bytes");
        co_return res;
    }));
    REQUIRE(r->add({Verb::get}, "/no-producer", "no_producer", [](Request&) -> awaitable<Response> {
        co_return Response::stream(Status::ok, 10, nullptr);
    }));
    REQUIRE(r->add({Verb::get}, "/broken", "broken", [](Request&) -> awaitable<Response> {
        co_return Response::stream(Status::ok, 1024 * 1024,
                                   std::make_unique<PatternProducer>(1024 * 1024, 100 * 1024));
    }));
    REQUIRE(r->add({Verb::get}, "/chunked", "chunked", [](Request&) -> awaitable<Response> {
        co_return Response::stream(Status::ok, std::nullopt,
                                   std::make_unique<PatternProducer>(3 * 1024 * 1024 + 5));
    }));
    REQUIRE(r->add({Verb::get}, "/slow", "slow", [&seen](Request& req) -> awaitable<Response> {
        ++seen.handler_entered;
        auto ms = req.query_param("ms");
        co_await sleep_for(std::chrono::milliseconds(ms ? std::stoi(*ms) : 100));
        co_return Response::text(Status::ok, "done");
    }));
    REQUIRE(r->add({Verb::get}, "/boom", "boom", [](Request&) -> awaitable<Response> {
        throw std::runtime_error("cannot open /secret/db.sqlite");
        co_return Response::empty(Status::ok);
    }));
    if (metrics)
        REQUIRE(add_observability_routes(*r, metrics));
    return r;
}

std::string get(std::string_view target, std::string_view extra = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

// Peak RSS growth while fn runs, sampled every 5 ms.
template <class F> std::size_t rss_growth_during(F fn) {
    std::size_t before = rss_bytes();
    std::atomic<bool> done{false};
    std::atomic<std::size_t> peak{before};
    std::thread sampler([&] {
        while (!done) {
            std::size_t now = rss_bytes();
            if (now > peak)
                peak = now;
            std::this_thread::sleep_for(5ms);
        }
    });
    fn();
    done = true;
    sampler.join();
    return peak > before ? peak - before : 0;
}

} // namespace

TEST_CASE("server: GET, HEAD, 404, 405 and bad targets over one kept-alive connection", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    RawClient c(t.port());
    // Three pipelined requests, answered in order.
    REQUIRE(c.send(get("/main/nix-cache-info") +
                   "HEAD /main/nix-cache-info HTTP/1.1\r\nHost: "
                   "t\r\n\r\n" +
                   get("/main/nar")));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == cache_info);
    CHECK(res->header("content-type") == "text/x-nix-cache-info");
    CHECK(res->header("content-length") == std::to_string(cache_info.size()));
    res = c.read_response(true);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->header("content-length") == std::to_string(cache_info.size()));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(nlohmann::json::parse(res->body)["error"] == "not_found");

    REQUIRE(c.send("DELETE /main/nix-cache-info HTTP/1.1\r\nHost: t\r\n\r\n"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 405);
    CHECK(res->header("allow") == "GET, HEAD");
    auto body = nlohmann::json::parse(res->body);
    CHECK(body["error"] == "method_not_allowed");
    CHECK(body["code"] == 405);

    for (const char* target : {"/main/../main/nix-cache-info", "/main/%2e%2e/nix-cache-info",
                               "/a%2Fb/nix-cache-info", "/main/nar/%zz"}) {
        INFO(target);
        REQUIRE(c.send(get(target)));
        res = c.read_response();
        REQUIRE(res);
        CHECK(res->status == 400);
    }
    REQUIRE(c.send(get("//main/nix-cache-info")));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 404);
    REQUIRE(c.send(get("/main/nix-cache-info?compression=zstd")));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    REQUIRE(c.send(get("/" + std::string(5000, 'a'))));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 414);
    // Still the same connection.
    REQUIRE(c.send(get("/main/nix-cache-info")));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
}

TEST_CASE("server: malformed requests get 400 and a taken port is an error", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    for (std::string request :
         {std::string("GET /main/nix-cache-info HTTP/1.1\r\nNo colon\r\n\r\n"),
          std::string("GET /main/nix-cache-info HTTP/9.9\r\n\r\n"),
          std::string("PUT /main/nar/x HTTP/1.1\r\nContent-Length: "
                      "12x\r\n\r\n")}) {
        INFO(request);
        RawClient c(t.port());
        REQUIRE(c.send(request));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->status == 400);
        CHECK(c.wait_closed(5s));
    }
    ServerOptions options;
    options.port = t.port();
    options.log = [](std::string_view) {};
    auto second = Server::start(options, std::make_shared<Router>());
    REQUIRE_FALSE(second);
    CHECK(second.error().detail.find("cannot listen on 127.0.0.1:") != std::string::npos);
    options.address = "not-an-address";
    CHECK_FALSE(Server::start(options, std::make_shared<Router>()));
}

TEST_CASE("server: libcurl (what Nix uploads with) and Expect 100-continue", "[http]") {
    if (std::system("command -v curl > /dev/null 2>&1") != 0) {
        WARN("curl not installed; skipped");
        return;
    }
    Observed seen;
    TestServer t(test_router(seen));
    char dir_template[] = "/tmp/nixedge-http-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    std::string dir = dir_template;
    std::string file = dir + "/upload.nar";
    {
        std::ofstream out(file, std::ios::binary);
        out << std::string(3 << 20, 'u');
    }
    auto curl = [&](std::string_view extra) {
        std::string cmd = "curl -sS -o /dev/null -w '%{http_code}' --max-time 20 -T " + file +
                          " -H 'Expect: 100-continue' " + std::string(extra) +
                          " http://127.0.0.1:" + std::to_string(t.port()) + "/main/nar/x.nar";
        std::string out;
        if (FILE* p = ::popen(cmd.c_str(), "r")) {
            char buf[64];
            while (std::fgets(buf, sizeof buf, p) != nullptr)
                out += buf;
            ::pclose(p);
        }
        return out;
    };
    CHECK(curl("") == "401");
    CHECK(seen.bytes == 0);
    CHECK(curl("-H 'Authorization: Bearer push'") == "200");
    CHECK(seen.bytes == (3u << 20));
    std::remove(file.c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("server: Expect 100-continue, rejected before reading: no 100 Continue", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    RawClient c(t.port());
    REQUIRE(c.send("PUT /main/nar/abc.nar.zst HTTP/1.1\r\nHost: t\r\n"
                   "Content-Type: application/x-nix-nar\r\nContent-Length: 10000000\r\n"
                   "Expect: 100-continue\r\n\r\n"));
    // The first bytes on the wire are the final answer, not "100 Continue".
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(nlohmann::json::parse(res->body)["error"] == "unauthorized");
    CHECK(res->header("connection") == "close");
    // The body was never asked for: the connection ends rather than wait for it.
    CHECK(c.wait_closed(5s));
    CHECK(seen.bytes == 0);
    auto line = t.log.wait_for([](const std::string& l) { return l.find("nar_put") != l.npos; });
    REQUIRE(line);
    auto log = nlohmann::json::parse(*line);
    CHECK(log["status"] == 401);
    CHECK(log["bytes_in"] == 0);
}

TEST_CASE("server: Expect 100-continue, accepted: 100 Continue, then the body", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    RawClient c(t.port());
    const std::size_t size = 300'000;
    REQUIRE(c.send("PUT /main/nar/abc.nar.zst HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer push\r\n"
                   "Content-Length: " +
                   std::to_string(size) + "\r\nExpect: 100-continue\r\n\r\n"));
    auto interim = c.read_response();
    REQUIRE(interim);
    CHECK(interim->status == 100);
    REQUIRE(c.send(std::string(size, 'x')));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    auto body = nlohmann::json::parse(res->body);
    CHECK(body["bytes"] == size);
    CHECK(res->header("connection") != "close");

    // Without Expect the body simply follows the header.
    REQUIRE(c.send("PUT /main/nar/b.nar HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer push\r\n"
                   "Content-Length: 5\r\n\r\nhello"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(nlohmann::json::parse(res->body)["bytes"] == 5);
    // A small unread body is drained, keeping the connection.
    REQUIRE(c.send("PUT /main/nar/c.nar HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" +
                   get("/main/nix-cache-info")));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 401);
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
}

TEST_CASE("server: a 100 MB upload through a slow consumer is pulled, not buffered", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    const std::uint64_t total = 100ull << 20;
    std::optional<RawResponse> res;
    std::size_t growth = rss_growth_during([&] {
        RawClient c(t.port());
        REQUIRE(c.send("PUT /main/nar/big.nar HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
                       "push\r\nX-Slow: 1\r\nContent-Length: " +
                       std::to_string(total) + "\r\n\r\n"));
        std::string block(1 << 20, 'n');
        for (std::uint64_t sent = 0; sent < total; sent += block.size())
            REQUIRE(c.send(block));
        res = c.read_response(false, 60s);
    });
    REQUIRE(res);
    CHECK(res->status == 200);
    auto body = nlohmann::json::parse(res->body);
    CHECK(body["bytes"] == total);
    CHECK(body["sum"] == total * 'n');
    // The handler never had more than one piece in hand.
    CHECK(seen.largest_piece <= RequestBody::default_piece);
#ifndef NIXEDGE_UNDER_ASAN
    // 100 MB went through; the process grew by a small fraction of it.
    CHECK(growth < (24u << 20));
#else
    (void)growth;
#endif
}

TEST_CASE("server: a handler that stops reading stops the client (backpressure)", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    RawClient c(t.port());
    const std::uint64_t total = 64ull << 20;
    REQUIRE(c.send("PUT /gate HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(total) +
                   "\r\n\r\n"));
    // Push as much as the connection takes while the handler waits.
    std::string block(1 << 20, 'g');
    std::uint64_t sent = 0;
    auto quiet_since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - quiet_since < 300ms && sent < total) {
        std::size_t n = c.send_nonblocking(
            std::string_view(block).substr(0, std::min<std::uint64_t>(block.size(), total - sent)));
        if (n > 0) {
            sent += n;
            quiet_since = std::chrono::steady_clock::now();
        } else {
            std::this_thread::sleep_for(10ms);
        }
    }
    // Only kernel socket buffers and one piece's worth got in.
    CHECK(sent < total);
    CHECK(sent < (32ull << 20));
    CHECK(seen.bytes <= RequestBody::default_piece);
    seen.release = true;
    std::string rest(total - sent, 'g');
    REQUIRE(c.send(rest));
    auto res = c.read_response(false, 30s);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == std::to_string(total));
}

TEST_CASE("server: a 256 MB download is streamed with its Content-Length", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    const std::uint64_t total = 256ull << 20;
    std::uint64_t received = 0;
    bool pattern_ok = true;
    std::size_t growth = rss_growth_during([&] {
        RawClient c(t.port());
        REQUIRE(c.send(get("/big/" + std::to_string(total))));
        auto head = c.read_header();
        REQUIRE(head);
        CHECK(head->status == 200);
        CHECK(head->header("content-length") == std::to_string(total));
        CHECK(head->header("transfer-encoding") == std::nullopt);
        REQUIRE(c.read_body(total, [&](std::string_view piece) {
            for (std::size_t i = 0; i < piece.size(); i += 4093) {
                std::uint64_t offset = (received + i) % (1024 * 1024);
                if (static_cast<unsigned char>(piece[i]) != offset % 251)
                    pattern_ok = false;
            }
            received += piece.size();
        }));
        // HEAD: same length, no body, connection still in step.
        REQUIRE(c.send("HEAD /big/" + std::to_string(total) + " HTTP/1.1\r\nHost: t\r\n\r\n" +
                       get("/main/nix-cache-info")));
        auto h = c.read_response(true);
        REQUIRE(h);
        CHECK(h->header("content-length") == std::to_string(total));
        auto next = c.read_response();
        REQUIRE(next);
        CHECK(next->body == cache_info);
    });
    CHECK(received == total);
    CHECK(pattern_ok);
#ifndef NIXEDGE_UNDER_ASAN
    CHECK(growth < (24u << 20));
#else
    (void)growth;
#endif
}

TEST_CASE("server: a streamed body that breaks off is cut short, never completed", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    RawClient c(t.port());
    REQUIRE(c.send(get("/broken")));
    auto head = c.read_header();
    REQUIRE(head);
    CHECK(head->status == 200);
    CHECK(head->header("content-length") == "1048576");
    std::uint64_t got = 0;
    CHECK_FALSE(c.read_body(1024 * 1024, [&](std::string_view p) { got += p.size(); }));
    CHECK(got == 100 * 1024);
    auto line = t.log.wait_for([](const std::string& l) { return l.find("broken") != l.npos; });
    REQUIRE(line);
    CHECK(nlohmann::json::parse(*line)["error"].get<std::string>().find("chunk 7 missing") !=
          std::string::npos);
}

TEST_CASE("server: a 206 answer carries the handler's own headers", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    RawClient c(t.port());
    REQUIRE(c.send(get("/ranged", "Range: bytes=10-19\r\n")));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 206);
    CHECK(res->header("content-range") == "bytes 10-19/1000");
    CHECK(res->header("accept-ranges") == "bytes");
    CHECK(res->header("content-length") == "10");
    CHECK(res->body.size() == 10);
    // A GET answer announcing a length with nothing to stream is a handler bug.
    REQUIRE(c.send(get("/no-producer")));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 500);
}

TEST_CASE("server: unknown length goes out chunked", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    RawClient c(t.port());
    REQUIRE(c.send(get("/chunked") + get("/main/nix-cache-info")));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->header("transfer-encoding") == "chunked");
    CHECK(res->body.size() == 3 * 1024 * 1024 + 5);
    auto next = c.read_response();
    REQUIRE(next);
    CHECK(next->body == cache_info);
}

TEST_CASE("server: header over the limit gets 431", "[http]") {
    Observed seen;
    Limits limits;
    limits.max_header_bytes = 4096;
    TestServer t(test_router(seen), limits);
    RawClient c(t.port());
    REQUIRE(c.send(get("/main/nix-cache-info", "X-Big: " + std::string(8000, 'a') + "\r\n")));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 431);
    CHECK(nlohmann::json::parse(res->body)["error"] == "header_too_large");
    CHECK(c.wait_closed(5s));
    // Just under the limit is fine.
    RawClient ok(t.port());
    REQUIRE(ok.send(get("/main/nix-cache-info", "X-Big: " + std::string(3000, 'a') + "\r\n")));
    res = ok.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
}

TEST_CASE("server: body over the route's cap gets 413", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    {
        // Declared too large: refused at once, no 100 Continue, connection closed.
        RawClient c(t.port());
        REQUIRE(c.send("PUT /main/abc.narinfo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n"
                       "Expect: 100-continue\r\n\r\n"));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->status == 413);
        CHECK(nlohmann::json::parse(res->body)["error"] == "payload_too_large");
        CHECK(c.wait_closed(5s));
    }
    {
        // Chunked, so only found out while reading.
        RawClient c(t.port());
        std::string chunk(500, 'c');
        std::string req = "PUT /main/abc.narinfo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n";
        for (int i = 0; i < 6; ++i)
            req += "1f4\r\n" + chunk + "\r\n";
        req += "0\r\n\r\n";
        REQUIRE(c.send(req));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->status == 413);
        CHECK(res->header("connection") == "close");
    }
    {
        // Under the cap, chunked, is fine.
        RawClient c(t.port());
        REQUIRE(c.send("PUT /main/abc.narinfo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(res->body == "stored 11");
    }
}

TEST_CASE("server: slow clients are cut off by the read timeouts", "[http]") {
    Observed seen;
    Limits limits;
    limits.header_timeout = 500ms;
    limits.body_idle_timeout = 500ms;
    limits.keep_alive_timeout = 500ms;
    TestServer t(test_router(seen), limits);

    SECTION("a header sent byte by byte, too slowly") {
        RawClient c(t.port());
        auto start = std::chrono::steady_clock::now();
        std::atomic<bool> stop{false};
        std::thread trickle([&] {
            std::string header =
                get("/main/nix-cache-info", "X-Padding: " + std::string(100, 'p') + "\r\n");
            for (char ch : header) {
                if (stop || !c.send(std::string_view(&ch, 1)))
                    return;
                std::this_thread::sleep_for(100ms);
            }
        });
        bool closed = c.wait_closed(5s);
        auto elapsed = std::chrono::steady_clock::now() - start;
        stop = true;
        trickle.join();
        CHECK(closed);
        CHECK(elapsed >= 400ms);
        CHECK(elapsed < 3s);
        auto line =
            t.log.wait_for([](const std::string& l) { return l.find("\"status\":408") != l.npos; });
        CHECK(line);
    }
    SECTION("a body that stalls") {
        RawClient c(t.port());
        REQUIRE(c.send("PUT /main/nar/x.nar HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer push\r\n"
                       "Content-Length: 1000\r\n\r\n0123456789"));
        auto start = std::chrono::steady_clock::now();
        CHECK(c.wait_closed(5s));
        CHECK(std::chrono::steady_clock::now() - start < 3s);
    }
    SECTION("an idle kept-alive connection") {
        RawClient c(t.port());
        REQUIRE(c.send(get("/main/nix-cache-info")));
        REQUIRE(c.read_response());
        auto start = std::chrono::steady_clock::now();
        CHECK(c.wait_closed(5s));
        CHECK(std::chrono::steady_clock::now() - start >= 400ms);
    }
}

TEST_CASE("server: graceful stop lets requests in flight finish", "[http]") {
    Observed seen;
    Limits limits;
    limits.shutdown_grace = 5s;
    TestServer t(test_router(seen), limits);
    RawClient idle(t.port());
    REQUIRE(idle.send(get("/main/nix-cache-info")));
    REQUIRE(idle.read_response());
    RawClient busy(t.port());
    REQUIRE(busy.send(get("/slow?ms=1500")));
    while (seen.handler_entered == 0)
        std::this_thread::sleep_for(5ms);

    auto start = std::chrono::steady_clock::now();
    t.server->stop();
    CHECK(t.server->stopping());
    // Idle connections go at once, long before the request in flight ends.
    CHECK(idle.wait_closed(2s));
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    auto res = busy.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == "done");
    CHECK(res->header("connection") == "close");
    t.server->wait();
    CHECK(std::chrono::steady_clock::now() - start < 4s);
    CHECK_FALSE(RawClient::can_connect(t.port()));
}

TEST_CASE("server: stop cuts requests still running after the grace period", "[http]") {
    Observed seen;
    Limits limits;
    limits.shutdown_grace = 200ms;
    TestServer t(test_router(seen), limits);
    RawClient busy(t.port());
    REQUIRE(busy.send(get("/slow?ms=20000")));
    while (seen.handler_entered == 0)
        std::this_thread::sleep_for(5ms);
    auto start = std::chrono::steady_clock::now();
    t.server->stop();
    CHECK(busy.wait_closed(3s));
    t.server->wait();
    CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("server: connections over the limit get 503 and are closed", "[http]") {
    Observed seen;
    Limits limits;
    limits.max_connections = 2;
    TestServer t(test_router(seen), limits);
    RawClient a(t.port());
    RawClient b(t.port());
    for (RawClient* c : {&a, &b}) {
        REQUIRE(c->send(get("/main/nix-cache-info")));
        REQUIRE(c->read_response());
    }
    RawClient over(t.port());
    REQUIRE(over.send(get("/main/nix-cache-info")));
    auto res = over.read_response();
    REQUIRE(res);
    CHECK(res->status == 503);
    CHECK(res->header("retry-after") == "1");
    CHECK(over.wait_closed(3s));
    // The two admitted connections still work.
    REQUIRE(a.send(get("/main/nix-cache-info")));
    auto again = a.read_response();
    REQUIRE(again);
    CHECK(again->status == 200);
}

TEST_CASE("server: metrics and the access log", "[http]") {
    Observed seen;
    auto metrics = std::make_shared<Metrics>();
    // Another module's metric on the same registry.
    auto chunks = metrics->counter_family("nixedge_chunks_total", "Chunks by outcome.", {"result"});
    REQUIRE(chunks);
    (*chunks)->with({"deduplicated"}).inc(3);
    TestServer t(test_router(seen, metrics), {}, metrics);
    RawClient c(t.port());
    REQUIRE(c.send(get("/main/nix-cache-info", "Authorization: Bearer ci-token\r\n")));
    REQUIRE(c.read_response());
    REQUIRE(c.send(get("/boom")));
    auto boom = c.read_response();
    REQUIRE(boom);
    CHECK(boom->status == 500);
    CHECK(boom->body.find("/secret") == std::string::npos);
    REQUIRE(t.log.wait_for([](const std::string& l) { return l.find("boom") != l.npos; }));

    REQUIRE(c.send(get("/metrics")));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->header("content-type") == std::string(metrics_content_type));
    const std::string& text = res->body;
    for (std::string expected :
         {std::string("# TYPE nixedge_http_requests_total counter\n"),
          std::string("nixedge_http_requests_total{route=\"cache_info\",method=\"GET\","
                      "status=\"200\"} 1\n"),
          std::string("nixedge_http_requests_total{route=\"boom\",method=\"GET\",status=\"500\"} "
                      "1\n"),
          std::string("# TYPE nixedge_http_request_duration_seconds histogram\n"),
          std::string("nixedge_http_request_duration_seconds_bucket{route=\"cache_info\",le=\"+"
                      "Inf\"} 1\n"),
          std::string("nixedge_http_request_duration_seconds_count{route=\"cache_info\"} 1\n"),
          "nixedge_http_response_body_bytes_total{route=\"cache_info\"} " +
              std::to_string(cache_info.size()) + "\n",
          std::string("nixedge_http_request_body_bytes_total{route=\"cache_info\"} 0\n"),
          std::string("nixedge_http_connections_active 1\n"),
          std::string("nixedge_http_requests_in_flight 1\n"),
          std::string("nixedge_chunks_total{result=\"deduplicated\"} 3\n")}) {
        INFO(expected);
        CHECK(text.find(expected) != std::string::npos);
    }

    auto line = t.log.wait_for([](const std::string& l) { return l.find("cache_info") != l.npos; });
    REQUIRE(line);
    auto log = nlohmann::json::parse(*line);
    CHECK(std::regex_match(log["time"].get<std::string>(),
                           std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
    CHECK(log["method"] == "GET");
    CHECK(log["route"] == "cache_info");
    CHECK(log["target"] == "/main/nix-cache-info");
    CHECK(log["status"] == 200);
    CHECK(log["bytes_in"] == 0);
    CHECK(log["bytes_out"] == cache_info.size());
    CHECK(log["duration_ms"].is_number());
    CHECK(log["duration_ms"].get<double>() >= 0);
    CHECK(log["remote"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
    CHECK(log["subject"] == "ci");
    CHECK_FALSE(log.contains("error"));
    auto boom_line = t.log.wait_for([](const std::string& l) { return l.find("boom") != l.npos; });
    REQUIRE(boom_line);
    auto boom_log = nlohmann::json::parse(*boom_line);
    CHECK(boom_log["status"] == 500);
    CHECK(boom_log["error"].get<std::string>().find("/secret/db.sqlite") != std::string::npos);
    CHECK_FALSE(boom_log.contains("subject"));
    // Every line is one JSON object.
    for (const auto& l : t.log.lines())
        CHECK_NOTHROW(nlohmann::json::parse(l));
}

TEST_CASE("server: run_until_signal stops on SIGTERM", "[http]") {
    Observed seen;
    TestServer t(test_router(seen));
    struct sigaction previous {};
    ::sigaction(SIGTERM, nullptr, &previous);
    std::promise<void> installed;
    auto ready = installed.get_future();
    std::promise<Result<void>> finished;
    auto done = finished.get_future();
    std::thread runner(
        [&] { finished.set_value(run_until_signal(*t.server, [&] { installed.set_value(); })); });
    REQUIRE(ready.wait_for(5s) == std::future_status::ready);
    RawClient c(t.port());
    REQUIRE(c.send(get("/main/nix-cache-info")));
    REQUIRE(c.read_response());
    ::kill(::getpid(), SIGTERM);
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    runner.join();
    CHECK(done.get());
    CHECK(t.server->stopping());
    CHECK_FALSE(RawClient::can_connect(t.port()));
    ::sigaction(SIGTERM, &previous, nullptr);
}
