#include "app/maintenance.hpp"

#include "app/gc.hpp"

#include <algorithm>
#include <cstdio>

namespace nixedge::lab {

namespace {

void log_failure(const char* what, const Error& error) {
    std::fprintf(stderr, "nixedge-server: %s: %s\n", what, error.detail.c_str());
}

// Often enough for staged uploads (a quarter of their timeout), for the lab
// reads (a minute) and for GC's interval; never busier than once a second.
std::chrono::seconds tick_period(const ServerConfig& config) {
    auto period = std::min(config.uploads.staged_upload_timeout / 4, std::chrono::seconds(60));
    if (config.gc.interval.count() > 0)
        period = std::min(period, config.gc.interval);
    return std::max(period, std::chrono::seconds(1));
}

} // namespace

Maintenance::Maintenance(LabContext& context)
    : context_(context), period_(tick_period(context.lab.config)),
      thread_([this](std::stop_token stop) {
          std::unique_lock lock(mutex_);
          for (;;) {
              // Returns early (false) only when stop is requested.
              wake_.wait_for(lock, stop, period_, [] { return false; });
              if (stop.stop_requested())
                  return;
              tick(stop);
          }
      }) {}

Maintenance::~Maintenance() {
    thread_.request_stop();
    thread_.join();
    if (auto flushed = context_.reads.flush(*context_.lab.metadata, system_clock_now()); !flushed)
        log_failure("writing lab reads", flushed.error());
}

void Maintenance::tick(std::stop_token stop) {
    auto& metadata = *context_.lab.metadata;
    if (auto expired = metadata.expire_staged(system_clock_now()); !expired)
        log_failure("expiring staged uploads", expired.error());
    if (auto flushed = context_.reads.flush(metadata, system_clock_now()); !flushed)
        log_failure("writing lab reads", flushed.error());
    if (gc_due())
        collect_garbage(std::move(stop));
}

bool Maintenance::gc_due() {
    const auto interval = context_.lab.config.gc.interval.count();
    if (interval == 0)
        return false;
    auto last = context_.lab.metadata->last_gc_run();
    if (!last) {
        log_failure("reading the last GC run", last.error());
        return false;
    }
    return !*last || (*last)->started_at + interval <= system_clock_now();
}

void Maintenance::collect_garbage(std::stop_token stop) {
    auto& metrics = context_.metrics;
    metrics.gc_runs->inc();
    auto options = gc_options(context_.lab.config);
    options.stop = std::move(stop);
    auto report = run_gc(context_.lab, context_.drainer, options);
    if (!report) {
        metrics.gc_failures->inc();
        log_failure("gc", report.error());
        return;
    }
    if (report->skipped)
        return;
    if (report->paths_removed > 0)
        context_.narinfos->clear();
    metrics.gc_paths_removed->inc(static_cast<double>(report->paths_removed));
    metrics.gc_nars_deleted->inc(static_cast<double>(report->nars_deleted));
    metrics.gc_chunks_deleted->inc(static_cast<double>(report->chunks_deleted));
    metrics.gc_bytes_deleted->inc(static_cast<double>(report->chunk_bytes_deleted));
    metrics.gc_last_success->set(static_cast<double>(system_clock_now()));
    std::fprintf(stderr, "nixedge-server: gc: %s\n", format_gc_report(*report).c_str());
}

} // namespace nixedge::lab
