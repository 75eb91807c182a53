#include "http/dispatch.hpp"

#include "http/errors.hpp"

#include <exception>

namespace nixedge::lab::http {

void apply_match(RouteMatch& match, Request::Init& init) {
    init.path = std::move(match.path);
    init.query = std::move(match.query);
    init.params = std::move(match.params);
    init.route_name = match.route != nullptr ? match.route->name : std::string(unmatched_route);
}

boost::asio::awaitable<Response> dispatch(const RouteMatch& match, Request& req,
                                          std::uint64_t default_body_limit) {
    switch (match.outcome) {
    case MatchOutcome::found:
        break;
    case MatchOutcome::not_found:
        co_return problem_response(Problem::not_found, "no such resource");
    case MatchOutcome::method_not_allowed: {
        Response res = problem_response(Problem::method_not_allowed,
                                        std::string(req.method_string()) + " not allowed here");
        res.headers.set(boost::beast::http::field::allow, match.allow);
        co_return res;
    }
    case MatchOutcome::bad_target:
        co_return problem_response(Problem::bad_request, "bad request target: " + match.detail);
    case MatchOutcome::target_too_long:
        co_return problem_response(Problem::uri_too_long, match.detail);
    }

    const Route& route = *match.route;
    std::uint64_t limit = route.options.body_limit.value_or(default_body_limit);
    req.body().set_limit(limit);
    if (auto length = req.body().content_length(); length && *length > limit) {
        Response res =
            problem_response(Problem::payload_too_large,
                             "request body larger than " + std::to_string(limit) + " bytes");
        res.close_connection = true;
        co_return res;
    }

    std::string failure;
    try {
        co_return co_await route.handler(req);
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown exception";
    }
    co_return problem_response(Problem::internal, "handler threw: " + failure);
}

} // namespace nixedge::lab::http
