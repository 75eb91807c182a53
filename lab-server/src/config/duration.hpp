// Durations as people write them in server.toml and on the command line:
// "90s", "15m", "1h", "30d", "2w", "1y", or several run together ("1h30m").
// "0" alone is zero. The units mean what they mean in humantime, the parser
// atticadm uses, so `--validity 1y` gives the same expiry as Attic's:
// a year is 365.25 days. There is no month unit: "1m" is a minute, and a
// month is better written "30d" than guessed at.
#pragma once

#include "nixedge/result.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace nixedge::lab {

using Seconds = std::chrono::seconds;

Result<Seconds> parse_duration(std::string_view text);

// The shortest text parse_duration reads back as `duration` (one unit).
std::string format_duration(Seconds duration);

} // namespace nixedge::lab
