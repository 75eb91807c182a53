#include "http/server.hpp"

#include "http/dispatch.hpp"
#include "http/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace nixedge::lab::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using std::chrono::steady_clock;

namespace {

// Asynchronous results as (error_code, ...) tuples instead of exceptions: a
// closed socket or a timeout is ordinary control flow in a server.
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

// The largest piece a handler may ask read_some for.
constexpr std::size_t max_body_piece = 1024 * 1024;
// A connection closing with request bytes still unread is read and discarded
// for at most this long / this much first, so the kernel does not answer the
// client's next segment with a reset that destroys our response in flight.
constexpr std::chrono::milliseconds linger_time{2000};
constexpr std::size_t linger_bytes = 1024 * 1024;

struct Connection {
    explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
    beast::tcp_stream stream;
    std::string remote;
    // Waiting for the first byte of the next request. Touched on the
    // connection's own io_context thread only.
    bool idle = false;
};

std::string endpoint_text(const tcp::endpoint& ep) {
    auto addr = ep.address();
    std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
    return host + ":" + std::to_string(ep.port());
}

std::string_view method_label(Verb v) {
    switch (v) {
    case Verb::get:
    case Verb::head:
    case Verb::put:
    case Verb::post:
    case Verb::patch:
    case Verb::delete_:
    case Verb::options: {
        auto s = bhttp::to_string(v);
        return {s.data(), s.size()};
    }
    default:
        return "OTHER";
    }
}

bool body_forbidden(Status status) {
    unsigned code = static_cast<unsigned>(status);
    return code < 200 || code == 204 || code == 304;
}

// The request body, read from the connection when the handler pulls.
class SocketBody final : public RequestBody {
  public:
    enum class Failure { none, timeout, transport, framing };

    SocketBody(Connection& conn, beast::flat_buffer& buffer,
               bhttp::request_parser<bhttp::buffer_body>& parser, bool expect_continue,
               const Limits& limits)
        : conn_(conn), buffer_(buffer), parser_(parser), expect_continue_(expect_continue),
          limits_(limits) {}

    std::optional<std::uint64_t> content_length() const override {
        auto length = parser_.content_length();
        if (!length)
            return std::nullopt;
        return *length;
    }
    bool complete() const { return parser_.is_done(); }
    bool continue_pending() const { return expect_continue_ && !continue_sent_; }
    Failure failure() const { return failure_; }
    const std::string& failure_detail() const { return failure_detail_; }

    // Bytes of a Content-Length body not read yet; nullopt if chunked.
    std::optional<std::uint64_t> remaining() const {
        auto length = content_length();
        if (!length)
            return std::nullopt;
        return *length - std::min(*length, bytes_read());
    }

    // Reads and discards the rest of the body. True if it all came.
    net::awaitable<bool> drain() {
        for (;;) {
            auto piece = co_await read_some(max_body_piece);
            if (!piece)
                co_return false;
            if (piece->empty())
                co_return true;
        }
    }

  protected:
    net::awaitable<Result<ByteView>> next_piece(std::size_t max_bytes) override {
        if (failure_ != Failure::none)
            co_return make_error(ErrorCode::invalid_argument, failure_detail_);
        if (parser_.is_done())
            co_return ByteView{};
        if (continue_pending()) {
            // Only now, with the handler asking for the body, may the client send it.
            continue_sent_ = true;
            bhttp::response<bhttp::empty_body> cont{Status::continue_, 11};
            conn_.stream.expires_after(limits_.send_timeout);
            auto [ec, n] = co_await bhttp::async_write(conn_.stream, cont, nothrow);
            (void)n;
            if (ec)
                co_return fail(Failure::transport, "writing 100 Continue: " + ec.message());
        }
        std::size_t want = std::min(max_bytes, max_body_piece);
        if (scratch_size_ < want) {
            // Not zeroed: the kernel commits only the pages a read fills, so
            // an upload that stalls early holds kilobytes, not a MiB, and no
            // I/O thread spends time clearing memory about to be overwritten.
            scratch_ = std::make_unique_for_overwrite<std::uint8_t[]>(want);
            scratch_size_ = want;
        }
        for (;;) {
            auto& body = parser_.get().body();
            body.data = scratch_.get();
            body.size = want;
            conn_.stream.expires_after(limits_.body_idle_timeout);
            auto [ec, n] = co_await bhttp::async_read_some(conn_.stream, buffer_, parser_, nothrow);
            (void)n;
            if (ec == bhttp::error::need_buffer)
                ec = {};
            if (ec == beast::error::timeout)
                co_return fail(Failure::timeout, "request body: no data for too long");
            if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category() &&
                ec != bhttp::error::partial_message && ec != bhttp::error::end_of_stream)
                co_return fail(Failure::framing, "request body: " + ec.message());
            if (ec)
                co_return fail(Failure::transport, "request body: " + ec.message());
            std::size_t got = want - body.size;
            if (got > 0)
                co_return ByteView(scratch_.get(), got);
            if (parser_.is_done())
                co_return ByteView{};
        }
    }

  private:
    Error fail(Failure failure, std::string detail) {
        failure_ = failure;
        failure_detail_ = std::move(detail);
        return make_error(ErrorCode::invalid_argument, failure_detail_);
    }

    Connection& conn_;
    beast::flat_buffer& buffer_;
    bhttp::request_parser<bhttp::buffer_body>& parser_;
    bool expect_continue_;
    bool continue_sent_ = false;
    const Limits& limits_;
    std::unique_ptr<std::uint8_t[]> scratch_;
    std::size_t scratch_size_ = 0;
    Failure failure_ = Failure::none;
    std::string failure_detail_;
};

struct ServerMetrics {
    Family<Counter>* requests = nullptr;
    Family<Histogram>* duration = nullptr;
    Family<Counter>* bytes_in = nullptr;
    Family<Counter>* bytes_out = nullptr;
    Gauge* connections_active = nullptr;
    Counter* connections_total = nullptr;
    Counter* connections_rejected = nullptr;
    Gauge* requests_in_flight = nullptr;
};

Result<ServerMetrics> register_server_metrics(Metrics& metrics) {
    ServerMetrics m;
#define NIXEDGE_TRY_METRIC(target, call)                                                           \
    do {                                                                                           \
        auto r = call;                                                                             \
        if (!r)                                                                                    \
            return r.error();                                                                      \
        target = *r;                                                                               \
    } while (false)
    NIXEDGE_TRY_METRIC(m.requests, metrics.counter_family("nixedge_http_requests_total",
                                                          "HTTP requests answered.",
                                                          {"route", "method", "status"}));
    NIXEDGE_TRY_METRIC(
        m.duration,
        metrics.histogram_family("nixedge_http_request_duration_seconds",
                                 "Time from the request header to the last byte of the response.",
                                 {"route"}, default_latency_buckets()));
    NIXEDGE_TRY_METRIC(m.bytes_in, metrics.counter_family("nixedge_http_request_body_bytes_total",
                                                          "Request body bytes read.", {"route"}));
    NIXEDGE_TRY_METRIC(m.bytes_out,
                       metrics.counter_family("nixedge_http_response_body_bytes_total",
                                              "Response body bytes written.", {"route"}));
    NIXEDGE_TRY_METRIC(m.connections_active,
                       metrics.gauge("nixedge_http_connections_active", "Open connections."));
    NIXEDGE_TRY_METRIC(m.connections_total,
                       metrics.counter("nixedge_http_connections_total", "Connections accepted."));
    NIXEDGE_TRY_METRIC(m.connections_rejected,
                       metrics.counter("nixedge_http_connections_rejected_total",
                                       "Connections answered 503 for being over the limit."));
    NIXEDGE_TRY_METRIC(m.requests_in_flight,
                       metrics.gauge("nixedge_http_requests_in_flight",
                                     "Requests whose response is not complete yet."));
#undef NIXEDGE_TRY_METRIC
    return m;
}

} // namespace

struct Server::Impl {
    Impl(ServerOptions opts, std::shared_ptr<const Router> r, std::shared_ptr<Metrics> registry,
         ServerMetrics sm)
        : options(std::move(opts)), limits(options.limits), router(std::move(r)),
          metrics(std::move(registry)), m(sm), log(options.log ? options.log : stderr_log_sink()),
          io_threads(resolve_thread_count(options.io_threads)), workers(options.worker_threads),
          contexts(make_contexts(io_threads)), acceptor(contexts.front()->get_executor()) {}

    // One io_context per I/O thread, each run by its thread alone: a
    // connection stays on one thread for its life, so its handlers need no
    // strand and a completion never wakes another thread (with one shared
    // io_context, thread hand-offs cost as much as the HTTP work of a small
    // GET).
    static std::vector<std::unique_ptr<net::io_context>> make_contexts(unsigned count) {
        std::vector<std::unique_ptr<net::io_context>> made;
        for (unsigned i = 0; i < count; ++i)
            made.push_back(std::make_unique<net::io_context>(1));
        return made;
    }

    // Round robin over the contexts for new connections.
    net::io_context& next_context() { return *contexts[next_context_index++ % contexts.size()]; }

    void stop_contexts() {
        works.clear();
        for (auto& context : contexts)
            context->stop();
    }

    ServerOptions options;
    const Limits limits;
    std::shared_ptr<const Router> router;
    std::shared_ptr<Metrics> metrics;
    ServerMetrics m;
    LogSink log;
    unsigned io_threads;
    std::string bound_address;
    std::uint16_t bound_port = 0;

    std::atomic<bool> stopping{false};
    std::mutex mutex; // guards the members below
    std::map<std::uint64_t, std::shared_ptr<Connection>> connections;
    std::uint64_t next_connection_id = 0;
    std::optional<steady_clock::time_point> stop_deadline;

    std::mutex join_mutex;
    std::vector<std::thread> threads;
    bool joined = false;

    Workers workers;
    // Last, so destroyed first: coroutine frames still pending when the
    // io_contexts go are destroyed with them, and their destructors use the
    // members above.
    std::vector<std::unique_ptr<net::io_context>> contexts;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> works;
    std::atomic<std::size_t> next_context_index{0};
    tcp::acceptor acceptor;

    // --- accepting

    net::awaitable<void> accept_loop() {
        for (;;) {
            tcp::socket socket(next_context());
            auto [ec] = co_await acceptor.async_accept(socket, nothrow);
            if (ec) {
                if (stopping || !acceptor.is_open())
                    co_return;
                // Out of descriptors and the like: back off instead of spinning.
                net::steady_timer pause(co_await net::this_coro::executor,
                                        std::chrono::milliseconds(50));
                co_await pause.async_wait(nothrow);
                continue;
            }
            if (stopping)
                co_return;
            m.connections_total->inc();
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            std::shared_ptr<Connection> conn;
            std::uint64_t id = 0;
            {
                std::lock_guard lock(mutex);
                if (connections.size() < limits.max_connections) {
                    conn = std::make_shared<Connection>(std::move(socket));
                    id = next_connection_id++;
                    connections.emplace(id, conn);
                }
            }
            if (!conn) {
                m.connections_rejected->inc();
                auto ex = socket.get_executor();
                net::co_spawn(ex, reject(std::move(socket)), net::detached);
                continue;
            }
            m.connections_active->inc();
            net::co_spawn(conn->stream.get_executor(), session(conn, id), net::detached);
        }
    }

    // Over the connection limit: a polite 503, then close.
    net::awaitable<void> reject(tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        Response problem =
            problem_response(Problem::service_unavailable, "too many connections; retry shortly");
        bhttp::response<bhttp::string_body> msg{Status::service_unavailable, 11};
        msg.set(bhttp::field::content_type, "application/json");
        msg.set(bhttp::field::retry_after, "1");
        msg.body() = std::move(problem.body);
        msg.keep_alive(false);
        msg.prepare_payload();
        stream.expires_after(std::chrono::seconds(1));
        co_await bhttp::async_write(stream, msg, nothrow);
        co_await linger(stream, std::chrono::seconds(1));
    }

    // --- one connection

    struct ConnectionGuard {
        Impl* impl;
        std::uint64_t id;
        ~ConnectionGuard() {
            {
                std::lock_guard lock(impl->mutex);
                impl->connections.erase(id);
            }
            impl->m.connections_active->dec();
        }
    };

    net::awaitable<void> session(std::shared_ptr<Connection> conn, std::uint64_t id) {
        ConnectionGuard guard{this, id};
        beast::error_code ec;
        auto remote = conn->stream.socket().remote_endpoint(ec);
        if (!ec)
            conn->remote = endpoint_text(remote);
        beast::flat_buffer buffer(limits.max_header_bytes + limits.read_ahead_bytes);
        for (std::size_t served = 0;; ++served) {
            if (buffer.size() == 0) {
                // Idle until the first byte: the state stop() closes at once. The
                // first request's wait counts against its header timeout.
                conn->idle = true;
                if (stopping)
                    break;
                conn->stream.expires_after(served == 0 ? limits.header_timeout
                                                       : limits.keep_alive_timeout);
                auto [read_ec, n] = co_await conn->stream.async_read_some(
                    buffer.prepare(limits.read_ahead_bytes), nothrow);
                conn->idle = false;
                if (read_ec)
                    break;
                buffer.commit(n);
            }
            if (!co_await serve_one(*conn, buffer, served))
                break;
        }
        conn->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        conn->stream.close();
    }

    // Serves one request; true if the connection stays open for the next one.
    net::awaitable<bool> serve_one(Connection& conn, beast::flat_buffer& buffer,
                                   std::size_t served) {
        auto started = steady_clock::now();
        auto wall = std::chrono::system_clock::now();
        bhttp::request_parser<bhttp::buffer_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
        parser.body_limit(boost::none); // per route, enforced by the body reader
        if (served > 0)
            conn.stream.expires_after(limits.header_timeout);
        auto [ec, n] = co_await bhttp::async_read_header(conn.stream, buffer, parser, nothrow);
        (void)n;
        if (ec) {
            if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted)
                co_return false; // the client or stop() closed between requests
            std::optional<Problem> problem;
            if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
                problem = Problem::header_too_large;
            else if (ec == beast::error::timeout)
                problem = Problem::request_timeout; // logged; the socket is gone already
            else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                     ec != bhttp::error::partial_message)
                problem = Problem::bad_request;
            if (!problem)
                co_return false; // reset, EOF mid-header: nobody to answer
            Response res = problem_response(*problem, ec.message());
            std::uint64_t bytes_out = 0;
            bool written = false;
            if (*problem != Problem::request_timeout) {
                std::string failure;
                written = co_await write_response(conn, res, 11, false, false, bytes_out, failure);
            }
            record(wall, started, "", unmatched_route, "", res.status, 0, bytes_out, conn.remote,
                   "", ec.message());
            if (written)
                co_await linger(conn.stream, linger_time);
            co_return false;
        }

        auto& msg = parser.get();
        Verb method = msg.method();
        std::string method_string(msg.method_string());
        std::string target(msg.target());
        unsigned version = msg.version();
        bool expect_continue =
            version >= 11 && beast::iequals(msg[bhttp::field::expect], "100-continue");

        m.requests_in_flight->inc();
        RouteMatch match = router->match(method, target);
        SocketBody body(conn, buffer, parser, expect_continue, limits);
        Request::Init init;
        init.method = method;
        init.method_string = method_string;
        init.target = target;
        init.headers = &static_cast<const Fields&>(msg);
        init.body = &body;
        init.workers = &workers;
        init.remote_address = conn.remote;
        init.stopping = &stopping;
        apply_match(match, init);
        Request req(std::move(init));

        Response res = co_await dispatch(match, req, limits.default_body_limit);

        // A body the client broke (stalled, reset, bad chunking) ends the
        // connection; the answer is about that, whatever the handler said.
        bool can_write = true;
        switch (body.failure()) {
        case SocketBody::Failure::none:
            break;
        case SocketBody::Failure::framing:
            res = problem_response(Problem::bad_request, body.failure_detail());
            break;
        case SocketBody::Failure::timeout:
            res = problem_response(Problem::request_timeout, body.failure_detail());
            can_write = false; // the stream closed the socket on its timeout
            break;
        case SocketBody::Failure::transport:
            res.log_detail = body.failure_detail();
            can_write = false;
            break;
        }

        if (method != Verb::head && !res.producer && res.stream_length &&
            !body_forbidden(res.status))
            res = problem_response(Problem::internal,
                                   "handler announced a streamed body without a producer");

        bool keep = msg.keep_alive() && !res.close_connection && !stopping &&
                    body.failure() == SocketBody::Failure::none &&
                    served + 1 < limits.max_requests_per_connection;
        bool drain_after = false;
        if (keep && !body.complete()) {
            // The handler answered without reading (all of) the body. Keep the
            // connection only if the rest is small and already on its way: a
            // client still waiting for 100 Continue never sends it.
            auto remaining = body.remaining();
            if (!body.continue_pending() && remaining && *remaining <= limits.drain_limit)
                drain_after = true;
            else
                keep = false;
        }

        if (res.producer && !res.stream_length && version < 11)
            keep = false; // no chunked encoding in HTTP/1.0: the body ends with the connection
        std::uint64_t bytes_out = 0;
        std::string failure;
        bool written = false;
        if (can_write)
            written = co_await write_response(conn, res, version, method == Verb::head, keep,
                                              bytes_out, failure);
        if (!written)
            keep = false;
        if (keep && drain_after)
            keep = co_await body.drain();

        std::string detail = res.log_detail;
        if (!failure.empty())
            detail += (detail.empty() ? "" : "; ") + failure;
        m.requests_in_flight->dec();
        record(wall, started, method_string, req.route_name(), target, res.status,
               body.bytes_read(), bytes_out, conn.remote, req.subject(), detail);
        if (written && !keep && !body.complete())
            co_await linger(conn.stream, linger_time);
        co_return keep;
    }

    // Writes the response; false if that failed and the connection cannot be
    // used any more (write error, or a streamed body broke off: the client then
    // sees a short body, never a complete-looking one). An unknown-length body
    // to an HTTP/1.0 client needs keep_alive false: it ends with the connection.
    net::awaitable<bool> write_response(Connection& conn, Response& res, unsigned version,
                                        bool head_only, bool keep_alive, std::uint64_t& bytes_out,
                                        std::string& failure) {
        bool no_body = head_only || body_forbidden(res.status);
        bool chunked = res.producer && !res.stream_length;

        auto fill = [&](auto& msg) {
            for (const auto& f : res.headers)
                msg.insert(f.name_string(), f.value());
            msg.erase(bhttp::field::content_length);
            msg.erase(bhttp::field::transfer_encoding);
            msg.erase(bhttp::field::connection);
            msg.keep_alive(keep_alive);
            if (body_forbidden(res.status))
                return;
            if (res.stream_length)
                msg.content_length(*res.stream_length);
            else if (res.producer && version >= 11)
                msg.chunked(true);
            else if (!res.producer)
                msg.content_length(res.body.size());
        };

        if (!no_body && !res.producer && res.stream_length) {
            // Only a HEAD answer may announce a streamed length without a producer.
            failure = "streamed response without a producer";
            co_return false;
        }
        if (!res.producer && !no_body) {
            // Small body: header and body in one write.
            bhttp::response<bhttp::string_body> msg{res.status, version};
            fill(msg);
            msg.body() = std::move(res.body);
            conn.stream.expires_after(limits.send_timeout);
            auto [ec, n] = co_await bhttp::async_write(conn.stream, msg, nothrow);
            (void)n;
            if (ec) {
                failure = "writing response: " + ec.message();
                co_return false;
            }
            bytes_out = msg.body().size();
            co_return true;
        }

        bhttp::response<bhttp::empty_body> head{res.status, version};
        fill(head);
        bhttp::response_serializer<bhttp::empty_body> serializer{head};
        conn.stream.expires_after(limits.send_timeout);
        auto [ec, n] = co_await bhttp::async_write_header(conn.stream, serializer, nothrow);
        (void)n;
        if (ec) {
            failure = "writing response header: " + ec.message();
            co_return false;
        }
        if (no_body || !res.producer)
            co_return true;

        for (;;) {
            auto piece = co_await res.producer->next();
            if (!piece) {
                failure =
                    "response body aborted: " + std::string(error_code_name(piece.error().code)) +
                    ": " + piece.error().detail;
                co_return false;
            }
            if (piece->empty())
                break;
            if (res.stream_length && bytes_out + piece->size() > *res.stream_length) {
                failure = "response body longer than its Content-Length";
                co_return false;
            }
            conn.stream.expires_after(limits.send_timeout);
            beast::error_code write_ec;
            if (chunked && version >= 11) {
                auto [e, w] = co_await net::async_write(
                    conn.stream, bhttp::make_chunk(net::buffer(piece->data(), piece->size())),
                    nothrow);
                (void)w;
                write_ec = e;
            } else {
                auto [e, w] = co_await net::async_write(
                    conn.stream, net::buffer(piece->data(), piece->size()), nothrow);
                (void)w;
                write_ec = e;
            }
            if (write_ec) {
                failure = "writing response body: " + write_ec.message();
                co_return false;
            }
            bytes_out += piece->size();
        }
        if (res.stream_length && bytes_out != *res.stream_length) {
            failure = "response body shorter than its Content-Length";
            co_return false;
        }
        if (chunked && version >= 11) {
            conn.stream.expires_after(limits.send_timeout);
            auto [e, w] = co_await net::async_write(conn.stream, bhttp::make_chunk_last(), nothrow);
            (void)w;
            if (e) {
                failure = "writing last chunk: " + e.message();
                co_return false;
            }
        }
        co_return true;
    }

    // Half-closes, then reads and discards what the client still sends, for a
    // while, before the socket is closed.
    static net::awaitable<void> linger(beast::tcp_stream& stream, std::chrono::milliseconds time) {
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec)
            co_return;
        std::vector<char> sink(16 * 1024);
        std::size_t discarded = 0;
        stream.expires_after(time);
        while (discarded < linger_bytes) {
            auto [read_ec, n] = co_await stream.async_read_some(net::buffer(sink), nothrow);
            if (read_ec)
                break;
            discarded += n;
        }
    }

    void record(std::chrono::system_clock::time_point wall, steady_clock::time_point started,
                std::string_view method, std::string_view route, std::string_view target,
                Status status, std::uint64_t bytes_in, std::uint64_t bytes_out,
                std::string_view remote, std::string_view subject, std::string_view error) {
        double seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
        std::string status_text = std::to_string(static_cast<unsigned>(status));
        Verb verb = method.empty() ? Verb::unknown : bhttp::string_to_verb(method);
        m.requests->with({route, method_label(verb), status_text}).inc();
        m.duration->with({route}).observe(seconds);
        m.bytes_in->with({route}).inc(static_cast<double>(bytes_in));
        m.bytes_out->with({route}).inc(static_cast<double>(bytes_out));
        AccessLogEntry entry;
        entry.time = wall;
        entry.method = method.substr(0, 32);
        entry.route = route;
        entry.target = target;
        entry.status = static_cast<unsigned>(status);
        entry.bytes_in = bytes_in;
        entry.bytes_out = bytes_out;
        entry.duration_ms = seconds * 1000.0;
        entry.remote = remote;
        entry.subject = subject;
        entry.error = error;
        log(format_access_log(entry));
    }

    // --- stopping

    void request_stop(std::chrono::milliseconds grace) {
        auto deadline = steady_clock::now() + grace;
        {
            std::lock_guard lock(mutex);
            if (stop_deadline && *stop_deadline <= deadline)
                return;
            stop_deadline = deadline;
        }
        if (stopping.exchange(true))
            return; // the shutdown coroutine is running and sees the new deadline
        net::post(acceptor.get_executor(), [this] {
            beast::error_code ec;
            acceptor.close(ec);
        });
        net::co_spawn(*contexts.front(), shutdown(), net::detached);
    }

    void close_connections(bool idle_only) {
        std::vector<std::shared_ptr<Connection>> open;
        {
            std::lock_guard lock(mutex);
            for (auto& [id, conn] : connections)
                open.push_back(conn);
        }
        for (auto& conn : open) {
            net::post(conn->stream.get_executor(), [conn, idle_only] {
                if (idle_only && !conn->idle)
                    return;
                beast::error_code ec;
                conn->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
                conn->stream.close();
            });
        }
    }

    bool sessions_done() {
        std::lock_guard lock(mutex);
        return connections.empty();
    }

    net::awaitable<void> shutdown() {
        close_connections(true);
        net::steady_timer timer(*contexts.front());
        auto tick = std::chrono::milliseconds(10);
        for (;;) {
            if (sessions_done())
                break;
            steady_clock::time_point deadline;
            {
                std::lock_guard lock(mutex);
                deadline = *stop_deadline;
            }
            if (steady_clock::now() >= deadline) {
                // Grace is over: cut what is left, and give the sessions a
                // moment to unwind before the io_context stops regardless.
                close_connections(false);
                auto give_up = steady_clock::now() + std::chrono::seconds(1);
                while (!sessions_done() && steady_clock::now() < give_up) {
                    timer.expires_after(tick);
                    co_await timer.async_wait(nothrow);
                }
                break;
            }
            timer.expires_after(
                std::min<steady_clock::duration>(tick, deadline - steady_clock::now()));
            co_await timer.async_wait(nothrow);
        }
        stop_contexts();
    }

    void join() {
        std::lock_guard lock(join_mutex);
        if (joined)
            return;
        for (auto& t : threads)
            if (t.joinable())
                t.join();
        joined = true;
    }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
    if (impl_) {
        stop_now();
        wait();
        impl_->workers.join();
        // Connections whose sessions never ran to the end are owned by their
        // pending coroutine frames now; those go with the io_context.
        std::map<std::uint64_t, std::shared_ptr<Connection>> leftovers;
        {
            std::lock_guard lock(impl_->mutex);
            leftovers.swap(impl_->connections);
        }
    }
}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options,
                                              std::shared_ptr<const Router> router) {
    if (!router)
        return make_error(ErrorCode::invalid_argument, "server started without a router");
    auto registry = options.metrics ? options.metrics : std::make_shared<Metrics>();
    auto server_metrics = register_server_metrics(*registry);
    if (!server_metrics)
        return server_metrics.error();
    beast::error_code ec;
    auto address = net::ip::make_address(options.address, ec);
    if (ec)
        return make_error(ErrorCode::invalid_argument,
                          "listen address " + options.address + ": " + ec.message());
    tcp::endpoint endpoint{address, options.port};

    auto impl =
        std::make_unique<Impl>(std::move(options), std::move(router), registry, *server_metrics);
    auto& acceptor = impl->acceptor;
    std::string where = endpoint_text(endpoint);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec)
        acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor.bind(endpoint, ec);
    if (!ec)
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        return make_error(ErrorCode::internal, "cannot listen on " + where + ": " + ec.message());
    auto local = acceptor.local_endpoint(ec);
    if (ec)
        return make_error(ErrorCode::internal, "listening socket: " + ec.message());
    impl->bound_address = local.address().to_string();
    impl->bound_port = local.port();

    for (auto& context : impl->contexts)
        impl->works.push_back(net::make_work_guard(*context));
    Impl* raw = impl.get();
    net::co_spawn(acceptor.get_executor(), raw->accept_loop(), net::detached);
    for (auto& context : raw->contexts)
        raw->threads.emplace_back([context = context.get()] { context->run(); });
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::port() const {
    return impl_->bound_port;
}

const std::string& Server::address() const {
    return impl_->bound_address;
}

Workers& Server::workers() {
    return impl_->workers;
}

Metrics& Server::metrics() {
    return *impl_->metrics;
}

boost::asio::any_io_executor Server::executor() {
    return impl_->contexts.front()->get_executor();
}

void Server::stop() {
    impl_->request_stop(impl_->limits.shutdown_grace);
}

void Server::stop_now() {
    impl_->request_stop(std::chrono::milliseconds(0));
}

bool Server::stopping() const {
    return impl_->stopping;
}

void Server::wait() {
    impl_->join();
}

Result<void> run_until_signal(Server& server, const std::function<void()>& installed) {
    beast::error_code ec;
    net::signal_set signals(server.executor());
    signals.add(SIGINT, ec);
    if (!ec)
        signals.add(SIGTERM, ec);
    if (ec)
        return make_error(ErrorCode::internal, "installing signal handlers: " + ec.message());
    int received = 0;
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& error, int) {
        if (error)
            return;
        if (++received == 1) {
            server.stop();
            signals.async_wait(on_signal);
        } else {
            server.stop_now();
        }
    };
    signals.async_wait(on_signal);
    if (installed)
        installed();
    server.wait();
    return {};
}

} // namespace nixedge::lab::http
