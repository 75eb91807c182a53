// What `nixedge push` shows while it works. On a terminal: a bar per upload
// in flight and a total line (paths, bytes, rate, ETA), redrawn in place at
// most ten times a second, with a line left above them per path done.
// Otherwise (CI logs, pipes): plain lines, one per path done and a progress
// line every `plain_interval` while bytes move. Thread-safe: the upload
// workers report to it directly.
#pragma once

#include "attic/api_types.hpp"
#include "client/nix_store.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <ostream>
#include <string>

namespace nixedge::lab::client {

using ProgressClock = std::chrono::steady_clock;

// "1.5 MiB", "312 B": sizes as the progress and summary print them.
std::string human_bytes(std::uint64_t bytes);
// "1:05", "1:02:03": an ETA or a duration.
std::string human_duration(std::chrono::seconds duration);

class PushProgress {
  public:
    enum class Style { bars, lines };

    PushProgress(std::ostream& out, Style style,
                 std::function<ProgressClock::time_point()> now = ProgressClock::now);

    void begin(std::size_t paths, std::uint64_t bytes);
    void started(std::size_t index, const LocalPathInfo& info);
    void sent(std::size_t index, std::uint64_t bytes_so_far);
    void uploaded(std::size_t index, const LocalPathInfo& info,
                  const attic::UploadPathResult& result);
    void failed(std::size_t index, const LocalPathInfo& info, const Error& error);
    // The upload failed on the way and starts again (attempt of attempts).
    void retrying(std::size_t index, const LocalPathInfo& info, const Error& error,
                  std::size_t attempt, std::size_t attempts);
    void skipped(const LocalPathInfo& info, const LocalPathInfo& failed_reference);
    // Clears the bars; the caller prints the summary after it.
    void end();

    static constexpr std::chrono::milliseconds bar_interval{100};
    static constexpr std::chrono::seconds plain_interval{10};

  private:
    struct Active {
        std::string name;
        std::uint64_t size = 0;
        std::uint64_t sent = 0;
    };

    // Everything below runs with mutex_ held.
    void finish(std::size_t index, const std::string& line);
    void print_line(const std::string& line);
    void redraw();
    void clear_bars();
    std::string totals() const;
    std::uint64_t bytes_done() const;

    std::ostream& out_;
    Style style_;
    std::function<ProgressClock::time_point()> now_;
    std::mutex mutex_;
    ProgressClock::time_point start_{};
    ProgressClock::time_point last_draw_{};
    std::size_t total_paths_ = 0;
    std::uint64_t total_bytes_ = 0;
    std::size_t done_paths_ = 0;
    std::uint64_t done_bytes_ = 0; // of the paths that ended
    std::map<std::size_t, Active> active_;
    std::size_t drawn_lines_ = 0;
};

} // namespace nixedge::lab::client
