// A small thread-safe metrics registry rendered in Prometheus' text format
// (version 0.0.4). Families are registered once (by name, with fixed label
// names); a series is looked up by its label values and then updated with
// atomics only. Registering the same family again with the same type, help,
// labels (and buckets) returns the existing one, so modules may register in
// any order and several servers may share one registry.
//
//     auto* chunks = metrics.counter_family("nixedge_chunks_total",
//                                           "Chunks seen by ingest.", {"result"}).value();
//     chunks->with({"deduplicated"}).inc();
#pragma once

#include "nixedge/result.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::http {

class Counter {
  public:
    // Negative increments are ignored: a counter only goes up.
    void inc(double v = 1) {
        if (v > 0)
            value_.fetch_add(v, std::memory_order_relaxed);
    }
    double value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> value_{0};
};

class Gauge {
  public:
    void set(double v) { value_.store(v, std::memory_order_relaxed); }
    void inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
    void dec(double v = 1) { value_.fetch_sub(v, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> value_{0};
};

class Histogram {
  public:
    explicit Histogram(const std::vector<double>& bounds);
    void observe(double v);
    // Non-cumulative count per bucket (the last one is +Inf), and the sum.
    std::vector<std::uint64_t> bucket_counts() const;
    double sum() const { return sum_.load(std::memory_order_relaxed); }
    const std::vector<double>& bounds() const { return *bounds_; }

  private:
    const std::vector<double>* bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
    std::atomic<double> sum_{0};
};

// Latency buckets in seconds, from a cached narinfo to a multi-GB NAR.
std::vector<double> default_latency_buckets();

template <class M> class Family {
  public:
    // The series for these label values (created on first use). The number of
    // values must equal the number of label names; missing ones read as "".
    M& with(std::initializer_list<std::string_view> values);
    M& with(const std::vector<std::string>& values);

  private:
    friend class Metrics;
    Family(std::vector<std::string> label_names, std::vector<double> bounds)
        : label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}
    M& lookup(std::vector<std::string> values);

    std::vector<std::string> label_names_;
    std::vector<double> bounds_; // histograms only
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<M>> series_;
};

class Metrics {
  public:
    Metrics() = default;
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // invalid_argument: a bad metric or label name, bad buckets (empty, not
    // increasing, not finite), or the name taken by a different family.
    Result<Family<Counter>*> counter_family(std::string name, std::string help,
                                            std::vector<std::string> label_names);
    Result<Family<Gauge>*> gauge_family(std::string name, std::string help,
                                        std::vector<std::string> label_names);
    Result<Family<Histogram>*> histogram_family(std::string name, std::string help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> buckets);
    // Unlabelled shortcuts.
    Result<Counter*> counter(std::string name, std::string help);
    Result<Gauge*> gauge(std::string name, std::string help);
    Result<Histogram*> histogram(std::string name, std::string help, std::vector<double> buckets);
    // A gauge read at scrape time (e.g. bytes in storage, mirror age). The
    // callback must be cheap, thread-safe, and must not call this registry.
    Result<void> callback_gauge(std::string name, std::string help, std::function<double()> read);

    // The exposition text, families sorted by name, series by label values.
    std::string render() const;

  private:
    enum class Type { counter, gauge, histogram, callback };
    struct Entry {
        Type type;
        std::string help;
        std::vector<std::string> label_names;
        std::vector<double> buckets;
        std::shared_ptr<void> family;
        std::function<double()> read;
    };
    Result<Entry*> find_or_add(std::string name, Type type, std::string help,
                               std::vector<std::string> label_names, std::vector<double> buckets);

    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
};

// Prometheus' number format: shortest round-trip, "+Inf", "-Inf", "NaN".
std::string format_metric_value(double v);

} // namespace nixedge::lab::http
