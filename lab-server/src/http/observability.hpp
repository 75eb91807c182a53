// The server's own endpoints, added to the one route table like any other:
//   GET /healthz  200 while the process serves requests at all (liveness:
//                 the backends are not asked)
//   GET /readyz   200 if the embedding program's readiness check passes and
//                 the server is not shutting down; 503 otherwise, with the
//                 backends that failed their probe named in the body
//   GET /metrics  the registry in Prometheus' text format
#pragma once

#include "http/metrics.hpp"
#include "http/router.hpp"
#include "nixedge/result.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nixedge::lab::http {

// What a readiness check found.
struct Readiness {
    // The backends that failed their probe ("database", "storage"), in the
    // body of the 503. Empty: ready.
    std::vector<std::string> down;
    // Their errors, for the log only (they may name hosts and paths).
    std::string detail;

    bool ready() const { return down.empty(); }
};

// Runs on the worker pool (it may block on a database ping); must be thread-safe.
using ReadinessCheck = std::function<Readiness()>;

// One backend's probe: succeeds while the backend answers.
struct Probe {
    std::string name; // what /readyz reports when it fails
    std::function<Result<void>()> run;
};

struct ProbeCacheOptions {
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    // A probe's result is reused for this long, so a storm of /readyz
    // requests costs one probe per backend per max_age.
    std::chrono::milliseconds max_age{2000};
    // A probe still running after this long counts as failed (a backend
    // that hangs is as down as one that refuses), and a first probe is
    // waited for at most this long.
    std::chrono::milliseconds stall_limit{5000};
    Clock clock = std::chrono::steady_clock::now; // tests replace it
};

// A readiness check that runs `probes` (each at most once per max_age, and
// never twice at once: while one run is under way other callers get its
// previous result at once) and reports the ones that failed.
ReadinessCheck cached_readiness(std::vector<Probe> probes, ProbeCacheOptions options = {});

inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

// No readiness check: ready whenever the server is not stopping.
Result<void> add_observability_routes(Router& router, std::shared_ptr<Metrics> metrics,
                                      ReadinessCheck readiness = {});

} // namespace nixedge::lab::http
