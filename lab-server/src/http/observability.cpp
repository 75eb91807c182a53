#include "http/observability.hpp"

#include "http/errors.hpp"
#include "http/workers.hpp"

namespace nixedge::lab::http {

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
            if (!ready) {
                Response res = problem_response(Problem::service_unavailable, "not ready");
                res.log_detail =
                    std::string(error_code_name(ready.error().code)) + ": " + ready.error().detail;
                co_return res;
            }
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
