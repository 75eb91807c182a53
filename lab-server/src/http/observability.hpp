// The server's own endpoints, added to the one route table like any other:
//   GET /healthz  200 while the process serves requests at all
//   GET /readyz   200 if the embedding program's readiness check passes (e.g.
//                 the database answers) and the server is not shutting down;
//                 503 otherwise
//   GET /metrics  the registry in Prometheus' text format
#pragma once

#include "http/metrics.hpp"
#include "http/router.hpp"
#include "nixedge/result.hpp"

#include <functional>
#include <memory>

namespace nixedge::lab::http {

// Runs on the worker pool (it may block on a database ping); must be thread-safe.
using ReadinessCheck = std::function<Result<void>()>;

inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

// No readiness check: ready whenever the server is not stopping.
Result<void> add_observability_routes(Router& router, std::shared_ptr<Metrics> metrics,
                                      ReadinessCheck readiness = {});

} // namespace nixedge::lab::http
