// Helpers for the HTTP layer's socket tests: a server on 127.0.0.1 (free port)
// whose access log is captured, and a raw blocking socket client that sees
// exactly the bytes the server sends (100 Continue or not, where the body
// ends, when the connection closes).
#pragma once

#include "http/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace nixedge::lab::http::test {

using namespace std::chrono_literals;

// Access log lines, captured.
class LogCapture {
  public:
    LogSink sink() {
        return [this](std::string_view line) {
            std::lock_guard lock(mutex_);
            lines_.emplace_back(line);
        };
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    // The log line is written after the response: wait for it.
    std::optional<std::string> wait_for(const std::function<bool(const std::string&)>& pred,
                                        std::chrono::milliseconds timeout = 5s) const {
        auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            for (const auto& line : lines())
                if (pred(line))
                    return line;
            if (std::chrono::steady_clock::now() > until)
                return std::nullopt;
            std::this_thread::sleep_for(5ms);
        }
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

struct TestServer {
    explicit TestServer(std::shared_ptr<Router> router, Limits limits = {},
                        std::shared_ptr<Metrics> registry = nullptr, unsigned io_threads = 2) {
        ServerOptions options;
        options.address = "127.0.0.1";
        options.port = 0;
        options.io_threads = io_threads;
        options.worker_threads = 2;
        options.limits = limits;
        options.metrics = registry ? registry : std::make_shared<Metrics>();
        options.log = log.sink();
        this->metrics = options.metrics;
        auto started = Server::start(std::move(options), std::move(router));
        if (!started)
            throw std::runtime_error("server did not start: " + started.error().detail);
        server = std::move(*started);
    }
    std::uint16_t port() const { return server->port(); }

    LogCapture log;
    std::shared_ptr<Metrics> metrics;
    std::unique_ptr<Server> server;
};

struct RawResponse {
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers; // names lower-cased
    std::string body;

    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [key, value] : headers)
            if (key == name)
                return value;
        return std::nullopt;
    }
};

inline std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Resident set size of this process, from /proc.
inline std::size_t rss_bytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stoull(line.substr(6)) * 1024;
    return 0;
}

class RawClient {
  public:
    explicit RawClient(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0)
            throw std::runtime_error("socket");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect failed");
        }
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~RawClient() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    // True if something listens on the port (a connection succeeds).
    static bool can_connect(std::uint16_t port) {
        try {
            RawClient c(port);
            return true;
        } catch (const std::exception&) {
            return false;
        }
    }

    int fd() const { return fd_; }

    // False if the peer closed or reset.
    bool send(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Sends without blocking; how much the kernel took (stops at EAGAIN).
    std::size_t send_nonblocking(std::string_view data) {
        int flags = ::fcntl(fd_, F_GETFL);
        ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
        std::size_t sent = 0;
        while (sent < data.size()) {
            ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            sent += static_cast<std::size_t>(n);
        }
        ::fcntl(fd_, F_SETFL, flags);
        return sent;
    }

    // Reads at least one more byte into the buffer; false on EOF, error or timeout.
    bool fill(std::chrono::milliseconds timeout = 10s) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
            return false;
        char buf[64 * 1024];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        buffered_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    // Whatever arrives within `timeout` (without consuming it).
    const std::string& peek(std::chrono::milliseconds timeout) {
        auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until && !eof_)
            fill(std::chrono::duration_cast<std::chrono::milliseconds>(
                std::max<std::chrono::steady_clock::duration>(
                    1ms, until - std::chrono::steady_clock::now())));
        return buffered_;
    }

    // True if the server closes the connection within `timeout` (EOF or reset),
    // discarding anything that arrives before.
    bool wait_closed(std::chrono::milliseconds timeout = 10s) {
        auto until = std::chrono::steady_clock::now() + timeout;
        while (!eof_) {
            auto left = until - std::chrono::steady_clock::now();
            if (left <= 0s)
                return false;
            buffered_.clear();
            fill(std::chrono::duration_cast<std::chrono::milliseconds>(left) + 1ms);
        }
        return true;
    }

    std::optional<RawResponse> read_header(std::chrono::milliseconds timeout = 10s) {
        std::size_t end;
        while ((end = buffered_.find("\r\n\r\n")) == std::string::npos)
            if (!fill(timeout))
                return std::nullopt;
        std::string head = buffered_.substr(0, end);
        buffered_.erase(0, end + 4);
        RawResponse res;
        auto line_end = head.find("\r\n");
        std::string status_line = head.substr(0, line_end);
        if (status_line.size() < 12)
            return std::nullopt;
        res.status = std::stoi(status_line.substr(9, 3));
        res.reason = status_line.size() > 13 ? status_line.substr(13) : "";
        std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            auto next = head.find("\r\n", pos);
            if (next == std::string::npos)
                next = head.size();
            std::string line = head.substr(pos, next - pos);
            auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string value = line.substr(colon + 1);
                value.erase(0, value.find_first_not_of(' '));
                res.headers.emplace_back(lower(line.substr(0, colon)), value);
            }
            pos = next + 2;
        }
        return res;
    }

    // Reads exactly n body bytes, handing them to sink piece by piece.
    bool read_body(std::uint64_t n, const std::function<void(std::string_view)>& sink) {
        while (n > 0) {
            if (buffered_.empty() && !fill())
                return false;
            std::size_t take =
                static_cast<std::size_t>(std::min<std::uint64_t>(n, buffered_.size()));
            sink(std::string_view(buffered_).substr(0, take));
            buffered_.erase(0, take);
            n -= take;
        }
        return true;
    }

    // A whole response; a HEAD response (or 1xx) has no body.
    std::optional<RawResponse> read_response(bool head = false,
                                             std::chrono::milliseconds timeout = 10s) {
        auto res = read_header(timeout);
        if (!res || head || res->status < 200 || res->status == 204 || res->status == 304)
            return res;
        if (auto length = res->header("content-length")) {
            if (!read_body(std::stoull(*length),
                           [&](std::string_view piece) { res->body.append(piece); }))
                return std::nullopt;
            return res;
        }
        if (auto te = res->header("transfer-encoding"); te && lower(*te) == "chunked") {
            for (;;) {
                std::size_t eol;
                while ((eol = buffered_.find("\r\n")) == std::string::npos)
                    if (!fill(timeout))
                        return std::nullopt;
                std::uint64_t size = std::stoull(buffered_.substr(0, eol), nullptr, 16);
                buffered_.erase(0, eol + 2);
                if (size == 0) {
                    while (buffered_.find("\r\n") == std::string::npos)
                        if (!fill(timeout))
                            return std::nullopt;
                    buffered_.erase(0, buffered_.find("\r\n") + 2);
                    return res;
                }
                if (!read_body(size, [&](std::string_view piece) { res->body.append(piece); }))
                    return std::nullopt;
                while (buffered_.size() < 2)
                    if (!fill(timeout))
                        return std::nullopt;
                buffered_.erase(0, 2);
            }
        }
        while (fill(timeout)) {
        }
        res->body = std::move(buffered_);
        buffered_.clear();
        return res;
    }

  private:
    int fd_ = -1;
    std::string buffered_;
    bool eof_ = false;
};

} // namespace nixedge::lab::http::test
