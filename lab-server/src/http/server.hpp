// The HTTP server: a listener and sessions that know nothing of the domain, in
// the manner of Beast's advanced server, written as C++20 coroutines.
//
// Threading: `io_threads` io_contexts (default one per core), each run by one
// thread; connections are dealt to them in turn and stay there, so a session
// never runs on two threads at once and needs no locks, and no completion has
// to wake another thread. CPU-heavy work goes to a separate worker pool
// (Request::workers()); the session coroutine resumes on its own thread when
// that work is done.
//
// Per connection, requests are served one at a time, in order (pipelined ones
// included): the next request's header is read only once the previous response
// has been written, and what the client sent ahead is bounded by the read
// buffer (max_header_bytes + read_ahead_bytes). Request bodies are read only
// when the handler asks for the next piece.
//
// Shutdown (stop(), or SIGINT/SIGTERM via run_until_signal): stop accepting,
// close idle keep-alive connections, let requests in flight finish (answered
// with Connection: close) until shutdown_grace, then close what is left.
#pragma once

#include "http/access_log.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "http/workers.hpp"
#include "nixedge/result.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace nixedge::lab::http {

struct Limits {
    // Request line + headers; 431 beyond.
    std::size_t max_header_bytes = 16 * 1024;
    // Request body for routes that set no body_limit; 413 beyond.
    std::uint64_t default_body_limit = 1024 * 1024;
    // The whole header must arrive within this (also the first request's wait).
    std::chrono::milliseconds header_timeout{30'000};
    // Idle time allowed between requests on a kept-alive connection.
    std::chrono::milliseconds keep_alive_timeout{60'000};
    // Longest wait for the next bytes of a body the handler asked for.
    std::chrono::milliseconds body_idle_timeout{60'000};
    // Longest a single write may take (a client that stops reading).
    std::chrono::milliseconds send_timeout{60'000};
    // Connections beyond this are answered 503 and closed.
    std::size_t max_connections = 1024;
    std::size_t max_requests_per_connection = 10'000;
    // Bytes read ahead of the parser: bounds what a pipelining client can
    // make the server hold, beyond the current request's header.
    std::size_t read_ahead_bytes = 64 * 1024;
    // A body left unread by the handler is read and discarded, to keep the
    // connection, only if what remains is at most this; else the connection
    // closes.
    std::uint64_t drain_limit = 64 * 1024;
    // How long requests in flight may run after stop() before being cut.
    std::chrono::milliseconds shutdown_grace{25'000};
};

struct ServerOptions {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;   // 0: any free port (see Server::port())
    unsigned io_threads = 0;     // 0: one per core
    unsigned worker_threads = 0; // 0: one per core
    Limits limits;
    // Shared with the rest of the program (its modules add their own metrics);
    // null: the server makes its own.
    std::shared_ptr<Metrics> metrics;
    // Access log sink; null: stderr.
    LogSink log;
};

class Server {
  public:
    // Binds, listens and starts the threads. The router is shared and must not
    // change afterwards.
    static Result<std::unique_ptr<Server>> start(ServerOptions options,
                                                 std::shared_ptr<const Router> router);
    // Stops at once (no grace) if still running, then joins every thread.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    std::uint16_t port() const;
    const std::string& address() const;
    Workers& workers();
    Metrics& metrics();
    // The io_context's executor, for a signal_set or timers of the embedding program.
    boost::asio::any_io_executor executor();

    // Graceful stop with limits.shutdown_grace; returns at once, thread-safe,
    // idempotent. stop_now() is the same with no grace.
    void stop();
    void stop_now();
    bool stopping() const;
    // Blocks until the server has stopped and its threads have exited.
    void wait();

    struct Impl;

  private:
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Waits for SIGINT or SIGTERM, then stops gracefully (a second signal stops at
// once), and returns when the server is down. The signal handlers are the
// embedding program's choice: call this from main, not from a library.
// `installed` runs once the handlers are in place (readiness notification, tests).
Result<void> run_until_signal(Server& server, const std::function<void()>& installed = {});

} // namespace nixedge::lab::http
