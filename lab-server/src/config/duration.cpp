#include "config/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace nixedge::lab {
namespace {

constexpr std::int64_t minute = 60;
constexpr std::int64_t hour = 60 * minute;
constexpr std::int64_t day = 24 * hour;
constexpr std::int64_t week = 7 * day;
constexpr std::int64_t year = 365 * day + day / 4; // humantime's year: 365.25 days

// Largest first, so format_duration picks the biggest unit that divides.
constexpr std::array<std::pair<char, std::int64_t>, 6> units{{
    {'y', year},
    {'w', week},
    {'d', day},
    {'h', hour},
    {'m', minute},
    {'s', 1},
}};

std::optional<std::int64_t> unit_seconds(char unit) {
    for (auto [name, seconds] : units)
        if (name == unit)
            return seconds;
    return std::nullopt;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

Error bad(std::string_view text, std::string_view why) {
    return make_error(ErrorCode::invalid_argument,
                      "duration \"" + std::string(text) + "\" " + std::string(why) +
                          " (write e.g. \"90s\", \"15m\", \"1h\", \"30d\", \"1y\" or \"0\")");
}

} // namespace

Result<Seconds> parse_duration(std::string_view text) {
    if (text == "0")
        return Seconds{0};
    if (text.empty())
        return bad(text, "is empty");
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!is_digit(text[i]))
            return bad(text, "has no number before '" + std::string(1, text[i]) + "'");
        std::int64_t count = 0;
        for (; i < text.size() && is_digit(text[i]); ++i) {
            if (count > (max - (text[i] - '0')) / 10)
                return bad(text, "is too long");
            count = count * 10 + (text[i] - '0');
        }
        if (i == text.size())
            return bad(text, "ends without a unit (s, m, h, d, w or y)");
        auto unit = unit_seconds(text[i]);
        if (!unit)
            return bad(text, "has an unknown unit '" + std::string(1, text[i]) + "'");
        ++i;
        if (count > (max - total) / *unit)
            return bad(text, "is too long");
        total += count * *unit;
    }
    return Seconds{total};
}

std::string format_duration(Seconds duration) {
    auto seconds = duration.count();
    if (seconds == 0)
        return "0";
    for (auto [name, unit] : units)
        if (seconds % unit == 0)
            return std::to_string(seconds / unit) + name;
    return std::to_string(seconds) + "s"; // unreachable: every count divides by 1
}

} // namespace nixedge::lab
