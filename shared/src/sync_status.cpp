#include "nixedge/sync_status.hpp"

#include <charconv>
#include <set>

namespace nixedge {

namespace {

Error bad(std::size_t line, std::string_view why) {
    return make_error(ErrorCode::invalid_argument,
                      "sync/status line " + std::to_string(line) + ": " + std::string(why));
}

std::optional<std::int64_t> parse_seconds(std::string_view text) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0)
        return std::nullopt;
    return value;
}

} // namespace

Result<SyncStatus> decode_sync_status(std::string_view text) {
    SyncStatus status;
    std::set<std::string, std::less<>> seen;
    std::size_t number = 0;
    while (!text.empty()) {
        auto newline = text.find('\n');
        if (newline == std::string_view::npos)
            return bad(number + 1, "missing final newline");
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline + 1);
        ++number;
        if (number == 1) {
            if (line != "nixedge-sync-status 1")
                return bad(1, "expected 'nixedge-sync-status 1'");
            continue;
        }
        auto space = line.find(' ');
        if (space == std::string_view::npos || space == 0 || space + 1 == line.size())
            return bad(number, "expected 'name value'");
        std::string_view name = line.substr(0, space), value = line.substr(space + 1);
        const bool known = name == "started" || name == "finished" || name == "result" ||
                           name == "phase" || name == "last-success";
        if (!known)
            continue;
        if (!seen.emplace(name).second)
            return bad(number, "'" + std::string(name) + "' repeated");
        if (name == "result") {
            if (value != "ok" && value != "failed")
                return bad(number, "result must be ok or failed");
            status.succeeded = value == "ok";
        } else if (name == "phase") {
            status.phase = std::string(value);
        } else {
            auto seconds = parse_seconds(value);
            if (!seconds)
                return bad(number, "'" + std::string(name) + "' must be unix seconds");
            if (name == "started")
                status.started = *seconds;
            else if (name == "finished")
                status.finished = *seconds;
            else
                status.last_success = *seconds;
        }
    }
    if (number == 0)
        return bad(1, "empty");
    for (std::string_view required : {"started", "finished", "result", "phase"})
        if (!seen.contains(required))
            return bad(number, "no '" + std::string(required) + "' line");
    return status;
}

} // namespace nixedge
