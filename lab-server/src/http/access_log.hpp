// One structured line per request, as JSON:
//
//   {"time":"2024-05-01T12:00:00.123Z","method":"GET","route":"narinfo",
//    "target":"/main/abc.narinfo","status":200,"bytes_in":0,"bytes_out":512,
//    "duration_ms":0.412,"remote":"127.0.0.1:40112","subject":"ci"}
//
// `subject` appears when the handler set one; `error` carries the detail of a
// failure that the client only saw as a generic message. Lines go to a sink
// (stderr by default; tests capture them).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace nixedge::lab::http {

// Receives one complete line (no trailing newline). Called from I/O threads:
// a sink must be thread-safe.
using LogSink = std::function<void(std::string_view line)>;

// Writes each line to stderr with a trailing newline, one write per line.
LogSink stderr_log_sink();

struct AccessLogEntry {
    std::chrono::system_clock::time_point time;
    std::string_view method;
    std::string_view route;
    std::string_view target;
    unsigned status = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    double duration_ms = 0;
    std::string_view remote;
    std::string_view subject;
    std::string_view error;
};

// Targets longer than this are cut in the log (they are refused anyway).
inline constexpr std::size_t max_logged_target = 1024;

std::string format_access_log(const AccessLogEntry& entry);

// RFC 3339, UTC, milliseconds: 2024-05-01T12:00:00.123Z
std::string format_log_time(std::chrono::system_clock::time_point time);

} // namespace nixedge::lab::http
