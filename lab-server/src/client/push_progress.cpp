#include "client/push_progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nixedge::lab::client {
namespace {

constexpr std::size_t bar_width = 24;
constexpr std::size_t name_width = 32;

std::string fixed(double value, int decimals) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string shortened(const std::string& name, std::size_t width) {
    if (name.size() <= width)
        return name + std::string(width - name.size(), ' ');
    return name.substr(0, width - 1) + "~";
}

std::string bar(std::uint64_t done, std::uint64_t total) {
    std::size_t filled =
        total == 0 ? bar_width
                   : static_cast<std::size_t>(bar_width * done / std::max<std::uint64_t>(total, 1));
    filled = std::min(filled, bar_width);
    return "[" + std::string(filled, '#') + std::string(bar_width - filled, '-') + "]";
}

double seconds_between(ProgressClock::time_point from, ProgressClock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

} // namespace

std::string human_bytes(std::uint64_t bytes) {
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? std::to_string(bytes) + " B" : fixed(value, 1) + " " + units[unit];
}

std::string human_duration(std::chrono::seconds duration) {
    auto total = std::max<std::int64_t>(duration.count(), 0);
    auto hours = total / 3600;
    auto minutes = (total / 60) % 60;
    auto seconds = total % 60;
    char text[32];
    if (hours > 0)
        std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(hours),
                      static_cast<long long>(minutes), static_cast<long long>(seconds));
    else
        std::snprintf(text, sizeof text, "%lld:%02lld", static_cast<long long>(minutes),
                      static_cast<long long>(seconds));
    return text;
}

PushProgress::PushProgress(std::ostream& out, Style style,
                           std::function<ProgressClock::time_point()> now)
    : out_(out), style_(style), now_(std::move(now)) {}

void PushProgress::begin(std::size_t paths, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    total_paths_ = paths;
    total_bytes_ = bytes;
    start_ = last_draw_ = now_();
}

std::uint64_t PushProgress::bytes_done() const {
    std::uint64_t bytes = done_bytes_;
    for (const auto& [index, active] : active_)
        bytes += active.sent;
    return bytes;
}

// "[3/10 paths] 1.2 GiB / 3.4 GiB, 123.4 MiB/s, ETA 0:12"
std::string PushProgress::totals() const {
    std::uint64_t done = bytes_done();
    double elapsed = seconds_between(start_, now_());
    std::string line = "[" + std::to_string(done_paths_) + "/" + std::to_string(total_paths_) +
                       " paths] " + human_bytes(done) + " / " + human_bytes(total_bytes_);
    if (elapsed < 0.5 || done == 0)
        return line;
    double rate = static_cast<double>(done) / elapsed;
    line += ", " + human_bytes(static_cast<std::uint64_t>(rate)) + "/s";
    if (done < total_bytes_) {
        auto eta =
            static_cast<std::int64_t>(std::ceil(static_cast<double>(total_bytes_ - done) / rate));
        line += ", ETA " + human_duration(std::chrono::seconds(eta));
    }
    return line;
}

void PushProgress::clear_bars() {
    for (; drawn_lines_ > 0; --drawn_lines_)
        out_ << "\x1b[1A\x1b[2K";
}

void PushProgress::redraw() {
    clear_bars();
    for (const auto& [index, active] : active_) {
        out_ << "  " << shortened(active.name, name_width) << " " << bar(active.sent, active.size)
             << " " << human_bytes(active.sent) << " / " << human_bytes(active.size) << "\n";
        ++drawn_lines_;
    }
    out_ << totals() << "\n";
    ++drawn_lines_;
    out_.flush();
    last_draw_ = now_();
}

void PushProgress::print_line(const std::string& line) {
    if (style_ == Style::bars) {
        clear_bars();
        out_ << line << "\n";
        redraw();
    } else {
        out_ << line << std::endl;
    }
}

void PushProgress::started(std::size_t index, const LocalPathInfo& info) {
    std::lock_guard lock(mutex_);
    active_[index] = Active{info.path.name, info.nar_size, 0};
    if (style_ == Style::bars)
        redraw();
}

void PushProgress::sent(std::size_t index, std::uint64_t bytes_so_far) {
    std::lock_guard lock(mutex_);
    auto found = active_.find(index);
    if (found == active_.end())
        return;
    found->second.sent = bytes_so_far;
    auto now = now_();
    if (style_ == Style::bars && now - last_draw_ >= bar_interval) {
        redraw();
    } else if (style_ == Style::lines && now - last_draw_ >= plain_interval) {
        out_ << "pushing: " << totals() << std::endl;
        last_draw_ = now;
    }
}

void PushProgress::finish(std::size_t index, const std::string& line) {
    if (auto found = active_.find(index); found != active_.end()) {
        done_bytes_ += found->second.size;
        active_.erase(found);
    }
    ++done_paths_;
    print_line(style_ == Style::lines ? line + " " + totals() : line);
}

void PushProgress::uploaded(std::size_t index, const LocalPathInfo& info,
                            const attic::UploadPathResult& result) {
    std::lock_guard lock(mutex_);
    std::string line =
        (result.kind == attic::UploadKind::deduplicated ? "deduplicated " : "uploaded ") +
        info.path.full() + " (" + human_bytes(info.nar_size);
    if (result.frac_deduplicated && result.kind == attic::UploadKind::uploaded)
        line += ", " + fixed(*result.frac_deduplicated * 100, 0) + " % deduplicated";
    finish(index, line + ")");
}

void PushProgress::failed(std::size_t index, const LocalPathInfo& info, const Error& error) {
    std::lock_guard lock(mutex_);
    finish(index, "FAILED " + info.path.full() + ": " + error.detail);
}

void PushProgress::retrying(std::size_t index, const LocalPathInfo& info, const Error& error,
                            std::size_t attempt, std::size_t attempts) {
    std::lock_guard lock(mutex_);
    if (auto found = active_.find(index); found != active_.end())
        found->second.sent = 0;
    print_line("retrying " + info.path.full() + " (attempt " + std::to_string(attempt) + " of " +
               std::to_string(attempts) + "): " + error.detail);
}

void PushProgress::skipped(const LocalPathInfo& info, const LocalPathInfo& failed_reference) {
    std::lock_guard lock(mutex_);
    ++done_paths_;
    done_bytes_ += info.nar_size;
    print_line("skipped " + info.path.full() + ": its reference " + failed_reference.path.full() +
               " failed");
}

void PushProgress::end() {
    std::lock_guard lock(mutex_);
    if (style_ == Style::bars) {
        clear_bars();
        out_.flush();
    }
}

} // namespace nixedge::lab::client
