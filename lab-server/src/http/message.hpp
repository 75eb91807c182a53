// What a handler sees and returns. Handlers are C++20 coroutines:
//
//     boost::asio::awaitable<Response> handler(Request& req);
//
// Why coroutines rather than callbacks: a push handler is a sequence of
// asynchronous steps (check the token, pull a piece of the body, hand it to the
// worker pool, store a chunk, pull the next piece, ...). As a coroutine that is
// a plain loop whose locals live across the waits; with callbacks every handler
// would be a hand-written state machine, and backpressure (read the next piece
// only when the previous one has been dealt with) would have to be rebuilt in
// each one. Here it falls out of the loop: the socket is read only inside
// `co_await req.body().read_some()`.
//
// A handler first sees the method, target and headers; the body is untouched
// until it calls read_some (which is also when `100 Continue` goes out for a
// request that asked for it). A handler may answer without reading the body at
// all (401, 403, 409): the server then closes or drains the connection safely.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nixedge::lab::http {

using Verb = boost::beast::http::verb;
using Status = boost::beast::http::status;
using Fields = boost::beast::http::fields;

class Workers;
class Request;
struct Response;

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

// Named segments of the matched route pattern, percent-decoded.
class RouteParams {
  public:
    void add(std::string name, std::string value);
    // Empty if absent (a matched segment is never empty).
    std::string_view get(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  private:
    std::vector<std::pair<std::string, std::string>> items_;
};

// The request body, pulled piece by piece. Nothing is read from the socket
// before the first read_some, and each call reads at most one more piece: the
// span returned stays valid until the next call.
class RequestBody {
  public:
    // Largest piece read_some hands out by default.
    static constexpr std::size_t default_piece = 64 * 1024;

    virtual ~RequestBody() = default;

    // The next piece (at most max_bytes, at least 1), or an empty span at the
    // end. Errors: limit_exceeded when the body passes the route's cap,
    // invalid_argument when the client breaks the framing, stalls or goes away.
    boost::asio::awaitable<Result<ByteView>> read_some(std::size_t max_bytes = default_piece);

    // Convenience for small bodies (narinfo, JSON): everything, up to max_bytes
    // (limit_exceeded beyond).
    boost::asio::awaitable<Result<std::string>> read_all(std::size_t max_bytes);

    // Content-Length if the client sent one (nullopt: chunked or none).
    virtual std::optional<std::uint64_t> content_length() const = 0;
    std::uint64_t bytes_read() const { return bytes_read_; }
    bool finished() const { return finished_; }
    bool started() const { return started_; }

    // The route's cap, set by the server before the handler runs.
    void set_limit(std::uint64_t limit) { limit_ = limit; }
    std::uint64_t limit() const { return limit_; }

  protected:
    // One piece from the transport: at most max_bytes; empty means the end.
    virtual boost::asio::awaitable<Result<ByteView>> next_piece(std::size_t max_bytes) = 0;

  private:
    std::uint64_t limit_ = UINT64_MAX;
    std::uint64_t bytes_read_ = 0;
    bool started_ = false;
    bool finished_ = false;
};

// An in-memory body: tests, and requests built without a socket.
class StringBody final : public RequestBody {
  public:
    explicit StringBody(std::string data, bool declare_length = true)
        : data_(std::move(data)), declare_length_(declare_length) {}
    std::optional<std::uint64_t> content_length() const override;

  protected:
    boost::asio::awaitable<Result<ByteView>> next_piece(std::size_t max_bytes) override;

  private:
    std::string data_;
    std::size_t offset_ = 0;
    bool declare_length_;
};

// A streamed response body: the server pulls pieces one by one and writes each
// before asking for the next. An empty span ends the body; an error aborts the
// connection (the client then sees a short body, never a complete-looking one).
class BodyProducer {
  public:
    virtual ~BodyProducer() = default;
    virtual boost::asio::awaitable<Result<ByteView>> next() = 0;
};

struct Response {
    Status status = Status::ok;
    // Free-form: Content-Type, ETag, Accept-Ranges, Content-Range for a 206, ...
    // The server sets Content-Length / Transfer-Encoding and Connection itself.
    Fields headers;
    // A small body ...
    std::string body;
    // ... or a streamed one, with its length announced up front (nullopt: sent
    // chunked). Exactly that many bytes must come out of the producer. A HEAD
    // answer may set the length with no producer (nothing is opened for it).
    std::unique_ptr<BodyProducer> producer;
    std::optional<std::uint64_t> stream_length;
    // Close the connection after this response.
    bool close_connection = false;
    // Logged with the request, never sent (the full detail of a 500).
    std::string log_detail;

    static Response text(Status status, std::string body,
                         std::string_view content_type = "text/plain; charset=utf-8");
    static Response json(Status status, std::string body);
    static Response empty(Status status);
    static Response stream(Status status, std::optional<std::uint64_t> length,
                           std::unique_ptr<BodyProducer> producer,
                           std::string_view content_type = "application/octet-stream");
};

class Request {
  public:
    struct Init {
        Verb method = Verb::unknown;
        std::string_view method_string;
        std::string_view target;
        std::string path;
        std::string query;
        std::string route_name;
        RouteParams params;
        const Fields* headers = nullptr;
        RequestBody* body = nullptr;
        Workers* workers = nullptr;
        std::string remote_address;
        const std::atomic<bool>* stopping = nullptr;
    };

    explicit Request(Init init);

    // HEAD requests reach the GET handler with method() == Verb::head.
    Verb method() const { return init_.method; }
    std::string_view method_string() const { return init_.method_string; }
    // As sent by the client.
    std::string_view target() const { return init_.target; }
    // Percent-decoded path ('/'-joined segments) and the raw query (no '?').
    std::string_view path() const { return init_.path; }
    std::string_view query() const { return init_.query; }
    // First value of a query parameter, percent-decoded ('+' is a space).
    std::optional<std::string> query_param(std::string_view name) const;
    std::string_view route_name() const { return init_.route_name; }
    std::string_view param(std::string_view name) const { return init_.params.get(name); }
    const RouteParams& params() const { return init_.params; }
    const Fields& headers() const { return *init_.headers; }
    std::string_view header(std::string_view name) const;
    std::string_view remote_address() const { return init_.remote_address; }

    RequestBody& body() { return *init_.body; }
    Workers& workers() { return *init_.workers; }
    // True once the server is shutting down (readiness turns false).
    bool server_stopping() const { return init_.stopping != nullptr && init_.stopping->load(); }

    // Who made the request (e.g. the token's subject), for the access log.
    void set_subject(std::string subject) { subject_ = std::move(subject); }
    const std::string& subject() const { return subject_; }

  private:
    Init init_;
    std::string subject_;
};

} // namespace nixedge::lab::http
