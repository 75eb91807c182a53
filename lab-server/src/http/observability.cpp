#include "http/observability.hpp"

#include "http/errors.hpp"
#include "http/workers.hpp"

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>

namespace nixedge::lab::http {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// One probe with its last result. Thread-safe; a run happens outside the lock.
class CachedProbe {
  public:
    CachedProbe(Probe probe, const ProbeCacheOptions& options)
        : probe_(std::move(probe)), options_(options) {}

    const std::string& name() const { return probe_.name; }

    Result<void> check() {
        std::unique_lock lock(mutex_);
        auto now = options_.clock();
        if (last_ && now - last_at_ < options_.max_age)
            return *last_;
        if (running_) {
            if (now - running_since_ > options_.stall_limit)
                return stalled();
            if (last_)
                return *last_; // the run under way will refresh it
            // No earlier result to give: wait for the first one.
            if (!finished_.wait_for(lock, options_.stall_limit, [&] { return !running_; }))
                return stalled();
            return *last_;
        }
        running_ = true;
        running_since_ = now;
        lock.unlock();
        Result<void> result = run();
        lock.lock();
        last_ = result;
        last_at_ = options_.clock();
        running_ = false;
        finished_.notify_all();
        return result;
    }

  private:
    Result<void> run() {
        try {
            return probe_.run();
        } catch (const std::exception& e) {
            return make_error(ErrorCode::internal, std::string("the probe threw: ") + e.what());
        }
    }

    Result<void> stalled() const {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.stall_limit);
        return make_error(ErrorCode::internal,
                          "no answer within " + std::to_string(ms.count()) + " ms");
    }

    Probe probe_;
    const ProbeCacheOptions& options_; // the owning ProbeSet's
    std::mutex mutex_;
    std::condition_variable finished_;
    std::optional<Result<void>> last_;
    SteadyTime last_at_{};
    bool running_ = false;
    SteadyTime running_since_{};
};

struct ProbeSet {
    explicit ProbeSet(ProbeCacheOptions options_) : options(std::move(options_)) {}
    ProbeCacheOptions options;
    std::vector<std::unique_ptr<CachedProbe>> probes;
};

// 503 with the usual error body plus the names of the failed backends.
Response not_ready(const Readiness& readiness) {
    std::string names;
    for (const auto& name : readiness.down)
        names += (names.empty() ? "" : ", ") + name;
    auto body = nlohmann::json::parse(error_body(problem_name(Problem::service_unavailable),
                                                 Status::service_unavailable,
                                                 "not ready: " + names + " unavailable"));
    body["down"] = readiness.down;
    Response res =
        Response::json(Status::service_unavailable,
                       body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    res.log_detail = readiness.detail;
    return res;
}

} // namespace

ReadinessCheck cached_readiness(std::vector<Probe> probes, ProbeCacheOptions options) {
    auto set = std::make_shared<ProbeSet>(std::move(options));
    for (auto& probe : probes)
        set->probes.push_back(std::make_unique<CachedProbe>(std::move(probe), set->options));
    return [set]() {
        Readiness readiness;
        for (auto& probe : set->probes) {
            auto ok = probe->check();
            if (ok)
                continue;
            readiness.down.push_back(probe->name());
            if (!readiness.detail.empty())
                readiness.detail += "; ";
            readiness.detail += probe->name() + ": " +
                                std::string(error_code_name(ok.error().code)) + ": " +
                                ok.error().detail;
        }
        return readiness;
    };
}

Result<void> add_observability_routes(Router& router, std::shared_ptr<Metrics> metrics,
                                      ReadinessCheck readiness) {
    if (!metrics)
        return make_error(ErrorCode::invalid_argument, "observability routes need a registry");
    auto healthz = [](Request&) -> boost::asio::awaitable<Response> {
        co_return Response::text(Status::ok, "ok\n");
    };
    auto readyz = [readiness =
                       std::move(readiness)](Request& req) -> boost::asio::awaitable<Response> {
        if (req.server_stopping())
            co_return problem_response(Problem::service_unavailable, "shutting down");
        if (readiness) {
            auto ready = co_await req.workers().run(readiness);
            if (!ready.ready())
                co_return not_ready(ready);
        }
        co_return Response::text(Status::ok, "ready\n");
    };
    auto metrics_handler = [metrics](Request&) -> boost::asio::awaitable<Response> {
        co_return Response::text(Status::ok, metrics->render(), metrics_content_type);
    };
    if (auto r = router.add({Verb::get}, "/healthz", "healthz", healthz); !r)
        return r;
    if (auto r = router.add({Verb::get}, "/readyz", "readyz", std::move(readyz)); !r)
        return r;
    return router.add({Verb::get}, "/metrics", "metrics", std::move(metrics_handler));
}

} // namespace nixedge::lab::http
