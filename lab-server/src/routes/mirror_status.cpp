#include "routes/mirror_status.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/sync_status.hpp"

#include <mutex>
#include <optional>

namespace nixedge::lab {

namespace {

constexpr std::uint64_t max_status_bytes = 64 * 1024;

// The last sync/status read, refreshed at most every `refresh`. A missing or
// unreadable object reads as absent; the gauges then say so.
class MirrorStatusReader {
  public:
    MirrorStatusReader(std::shared_ptr<Storage> storage, std::chrono::seconds refresh)
        : storage_(std::move(storage)), refresh_(refresh) {}

    std::optional<SyncStatus> status() {
        std::lock_guard lock(mutex_);
        auto now = std::chrono::steady_clock::now();
        if (!read_once_ || now - read_at_ >= refresh_) {
            status_ = read();
            read_at_ = now;
            read_once_ = true;
        }
        return status_;
    }

  private:
    std::optional<SyncStatus> read() {
        auto bytes = read_object(*storage_, bucket_key::sync_status(), max_status_bytes);
        if (!bytes)
            return std::nullopt;
        auto status = decode_sync_status(as_chars(*bytes));
        if (!status)
            return std::nullopt;
        return *status;
    }

    std::shared_ptr<Storage> storage_;
    std::chrono::seconds refresh_;
    std::mutex mutex_;
    bool read_once_ = false;
    std::chrono::steady_clock::time_point read_at_{};
    std::optional<SyncStatus> status_;
};

} // namespace

Result<void> register_mirror_gauges(http::Metrics& metrics, std::shared_ptr<Storage> storage,
                                    UnixClock now, std::chrono::seconds refresh) {
    auto reader = std::make_shared<MirrorStatusReader>(std::move(storage), refresh);
    using Read = std::function<double(const std::optional<SyncStatus>&)>;
    struct Gauge {
        const char* name;
        const char* help;
        Read read;
    };
    const Gauge gauges[] = {
        {"nixedge_mirror_sync_status_present",
         "1 if the bucket holds a readable sync/status from the sync job.",
         [](const auto& s) { return s ? 1.0 : 0.0; }},
        {"nixedge_mirror_last_sync_success", "1 if the last sync run succeeded.",
         [](const auto& s) { return s && s->succeeded ? 1.0 : 0.0; }},
        {"nixedge_mirror_last_sync_finished_seconds", "When the last sync run ended (unix time).",
         [](const auto& s) { return s ? static_cast<double>(s->finished) : 0.0; }},
        {"nixedge_mirror_last_success_seconds",
         "When a sync run last succeeded (unix time; 0: never).",
         [](const auto& s) {
             return s && s->last_success ? static_cast<double>(*s->last_success) : 0.0;
         }},
        {"nixedge_mirror_age_seconds",
         "Seconds since a sync run last succeeded: how far the edge mirror may lag (-1: never).",
         [now](const auto& s) {
             return s && s->last_success ? static_cast<double>(now() - *s->last_success) : -1.0;
         }},
    };
    for (const auto& gauge : gauges)
        if (auto added = metrics.callback_gauge(
                gauge.name, gauge.help,
                [reader, read = gauge.read] { return read(reader->status()); });
            !added)
            return added;
    return {};
}

} // namespace nixedge::lab
