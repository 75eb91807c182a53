#include "http/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <type_traits>

namespace nixedge::lab::http {

namespace {

bool valid_metric_name(std::string_view name) {
    if (name.empty())
        return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

bool valid_label_name(std::string_view name) {
    if (name.empty() || name.starts_with("__") || name == "le")
        return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

void append_escaped(std::string& out, std::string_view s, bool quotes) {
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quotes)
            out += "\\\"";
        else
            out += c;
    }
}

// {a="x",b="y"} (with an extra trailing label, e.g. le, if given).
std::string label_text(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
    if (names.empty() && extra_name.empty())
        return {};
    std::string out = "{";
    bool first = true;
    auto add = [&](std::string_view name, std::string_view value) {
        if (!first)
            out += ',';
        first = false;
        out += name;
        out += "=\"";
        append_escaped(out, value, true);
        out += '"';
    };
    for (std::size_t i = 0; i < names.size(); ++i)
        add(names[i], i < values.size() ? std::string_view(values[i]) : std::string_view{});
    if (!extra_name.empty())
        add(extra_name, extra_value);
    out += '}';
    return out;
}

void append_sample(std::string& out, std::string_view name, const std::string& labels, double v) {
    out += name;
    out += labels;
    out += ' ';
    out += format_metric_value(v);
    out += '\n';
}

} // namespace

std::string format_metric_value(double v) {
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    if (ec != std::errc{})
        return "NaN";
    return std::string(buf, end);
}

std::vector<double> default_latency_buckets() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(&bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
    for (std::size_t i = 0; i <= bounds.size(); ++i)
        counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
    if (std::isnan(v))
        return;
    // Buckets are upper-inclusive: le="0.1" counts v <= 0.1.
    auto it = std::lower_bound(bounds_->begin(), bounds_->end(), v);
    counts_[static_cast<std::size_t>(it - bounds_->begin())].fetch_add(1,
                                                                       std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
    std::vector<std::uint64_t> out(bounds_->size() + 1);
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = counts_[i].load(std::memory_order_relaxed);
    return out;
}

template <class M> M& Family<M>::with(std::initializer_list<std::string_view> values) {
    std::vector<std::string> key;
    key.reserve(label_names_.size());
    for (std::string_view v : values)
        key.emplace_back(v);
    return lookup(std::move(key));
}

template <class M> M& Family<M>::with(const std::vector<std::string>& values) {
    return lookup(values);
}

template <class M> M& Family<M>::lookup(std::vector<std::string> values) {
    values.resize(label_names_.size());
    std::lock_guard lock(mutex_);
    auto it = series_.find(values);
    if (it != series_.end())
        return *it->second;
    std::unique_ptr<M> series;
    if constexpr (std::is_same_v<M, Histogram>)
        series = std::make_unique<M>(bounds_);
    else
        series = std::make_unique<M>();
    M& ref = *series;
    series_.emplace(std::move(values), std::move(series));
    return ref;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Result<Metrics::Entry*> Metrics::find_or_add(std::string name, Type type, std::string help,
                                             std::vector<std::string> label_names,
                                             std::vector<double> buckets) {
    if (!valid_metric_name(name))
        return make_error(ErrorCode::invalid_argument, "invalid metric name: " + name);
    for (const auto& label : label_names)
        if (!valid_label_name(label))
            return make_error(ErrorCode::invalid_argument,
                              "invalid label name " + label + " for metric " + name);
    if (type == Type::histogram) {
        if (buckets.empty())
            return make_error(ErrorCode::invalid_argument, "histogram without buckets: " + name);
        for (std::size_t i = 0; i < buckets.size(); ++i)
            if (!std::isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
                return make_error(ErrorCode::invalid_argument,
                                  "histogram buckets must be finite and increasing: " + name);
    }
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it != entries_.end()) {
        Entry& e = it->second;
        if (e.type != type || e.type == Type::callback || e.help != help ||
            e.label_names != label_names || e.buckets != buckets)
            return make_error(ErrorCode::invalid_argument,
                              "metric " + name + " already registered differently");
        return &e;
    }
    Entry e{type, std::move(help), std::move(label_names), std::move(buckets), nullptr, nullptr};
    switch (type) {
    case Type::counter:
        e.family.reset(new Family<Counter>(e.label_names, {}));
        break;
    case Type::gauge:
        e.family.reset(new Family<Gauge>(e.label_names, {}));
        break;
    case Type::histogram:
        e.family.reset(new Family<Histogram>(e.label_names, e.buckets));
        break;
    case Type::callback:
        break;
    }
    return &entries_.emplace(std::move(name), std::move(e)).first->second;
}

Result<Family<Counter>*> Metrics::counter_family(std::string name, std::string help,
                                                 std::vector<std::string> label_names) {
    auto e =
        find_or_add(std::move(name), Type::counter, std::move(help), std::move(label_names), {});
    if (!e)
        return e.error();
    return static_cast<Family<Counter>*>((*e)->family.get());
}

Result<Family<Gauge>*> Metrics::gauge_family(std::string name, std::string help,
                                             std::vector<std::string> label_names) {
    auto e = find_or_add(std::move(name), Type::gauge, std::move(help), std::move(label_names), {});
    if (!e)
        return e.error();
    return static_cast<Family<Gauge>*>((*e)->family.get());
}

Result<Family<Histogram>*> Metrics::histogram_family(std::string name, std::string help,
                                                     std::vector<std::string> label_names,
                                                     std::vector<double> buckets) {
    auto e = find_or_add(std::move(name), Type::histogram, std::move(help), std::move(label_names),
                         std::move(buckets));
    if (!e)
        return e.error();
    return static_cast<Family<Histogram>*>((*e)->family.get());
}

Result<Counter*> Metrics::counter(std::string name, std::string help) {
    auto family = counter_family(std::move(name), std::move(help), {});
    if (!family)
        return family.error();
    return &(*family)->with({});
}

Result<Gauge*> Metrics::gauge(std::string name, std::string help) {
    auto family = gauge_family(std::move(name), std::move(help), {});
    if (!family)
        return family.error();
    return &(*family)->with({});
}

Result<Histogram*> Metrics::histogram(std::string name, std::string help,
                                      std::vector<double> buckets) {
    auto family = histogram_family(std::move(name), std::move(help), {}, std::move(buckets));
    if (!family)
        return family.error();
    return &(*family)->with({});
}

Result<void> Metrics::callback_gauge(std::string name, std::string help,
                                     std::function<double()> read) {
    if (!read)
        return make_error(ErrorCode::invalid_argument, "callback gauge without a callback");
    auto e = find_or_add(std::move(name), Type::callback, std::move(help), {}, {});
    if (!e)
        return e.error();
    (*e)->read = std::move(read);
    return {};
}

std::string Metrics::render() const {
    // Snapshot the entries under the registry lock; series under each family's.
    std::string out;
    std::lock_guard lock(mutex_);
    for (const auto& [name, e] : entries_) {
        out += "# HELP ";
        out += name;
        out += ' ';
        append_escaped(out, e.help, false);
        out += "\n# TYPE ";
        out += name;
        switch (e.type) {
        case Type::counter: {
            out += " counter\n";
            auto* family = static_cast<Family<Counter>*>(e.family.get());
            std::lock_guard series_lock(family->mutex_);
            for (const auto& [values, series] : family->series_)
                append_sample(out, name, label_text(e.label_names, values), series->value());
            break;
        }
        case Type::gauge: {
            out += " gauge\n";
            auto* family = static_cast<Family<Gauge>*>(e.family.get());
            std::lock_guard series_lock(family->mutex_);
            for (const auto& [values, series] : family->series_)
                append_sample(out, name, label_text(e.label_names, values), series->value());
            break;
        }
        case Type::callback:
            out += " gauge\n";
            append_sample(out, name, {}, e.read());
            break;
        case Type::histogram: {
            out += " histogram\n";
            auto* family = static_cast<Family<Histogram>*>(e.family.get());
            std::lock_guard series_lock(family->mutex_);
            for (const auto& [values, series] : family->series_) {
                auto counts = series->bucket_counts();
                std::uint64_t cumulative = 0;
                for (std::size_t i = 0; i < counts.size(); ++i) {
                    cumulative += counts[i];
                    std::string le =
                        i < e.buckets.size() ? format_metric_value(e.buckets[i]) : "+Inf";
                    append_sample(out, name + "_bucket",
                                  label_text(e.label_names, values, "le", le),
                                  static_cast<double>(cumulative));
                }
                std::string labels = label_text(e.label_names, values);
                append_sample(out, name + "_sum", labels, series->sum());
                append_sample(out, name + "_count", labels, static_cast<double>(cumulative));
            }
            break;
        }
        }
    }
    return out;
}

} // namespace nixedge::lab::http
