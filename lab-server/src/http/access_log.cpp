#include "http/access_log.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace nixedge::lab::http {

LogSink stderr_log_sink() {
    return [](std::string_view line) {
        static std::mutex mutex;
        std::string out;
        out.reserve(line.size() + 1);
        out.append(line);
        out += '\n';
        std::lock_guard lock(mutex);
        std::fwrite(out.data(), 1, out.size(), stderr);
    };
}

std::string format_log_time(std::chrono::system_clock::time_point time) {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[96]; // wide enough for any int fields, so no truncation warning
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return buf;
}

std::string format_access_log(const AccessLogEntry& entry) {
    // Milliseconds with microsecond resolution keep the line short.
    double duration = std::round(entry.duration_ms * 1000.0) / 1000.0;
    nlohmann::ordered_json line = {
        {"time", format_log_time(entry.time)},
        {"method", entry.method},
        {"route", entry.route},
        {"target", entry.target.substr(0, max_logged_target)},
        {"status", entry.status},
        {"bytes_in", entry.bytes_in},
        {"bytes_out", entry.bytes_out},
        {"duration_ms", duration},
        {"remote", entry.remote},
    };
    if (!entry.subject.empty())
        line["subject"] = entry.subject;
    if (!entry.error.empty())
        line["error"] = entry.error;
    // Targets and headers are client bytes: invalid UTF-8 is replaced, not thrown.
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace nixedge::lab::http
