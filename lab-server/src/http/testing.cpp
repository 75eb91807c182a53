#include "http/testing.hpp"

#include "http/dispatch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>

namespace nixedge::lab::http::testing {

namespace {

boost::asio::awaitable<Result<CallResult>> run_call(const Router& router, Verb method,
                                                    std::string_view target, CallOptions& options,
                                                    Workers& workers);

// co_spawn wants a default-constructible result; Result has no empty state.
boost::asio::awaitable<void> run_call_into(const Router& router, Verb method,
                                           std::string_view target, CallOptions& options,
                                           Workers& workers,
                                           std::optional<Result<CallResult>>& out) {
    out.emplace(co_await run_call(router, method, target, options, workers));
}

boost::asio::awaitable<Result<CallResult>> run_call(const Router& router, Verb method,
                                                    std::string_view target, CallOptions& options,
                                                    Workers& workers) {
    std::string method_string(boost::beast::http::to_string(method));
    RouteMatch match = router.match(method, target);
    StringBody body(std::move(options.body), !options.unknown_length);
    Request::Init init;
    init.method = method;
    init.method_string = method_string;
    init.target = target;
    init.headers = &options.headers;
    init.body = &body;
    init.workers = &workers;
    init.remote_address = options.remote_address;
    apply_match(match, init);
    Request req(std::move(init));
    Response res = co_await dispatch(match, req, options.default_body_limit);

    CallResult out;
    out.status = res.status;
    out.headers = res.headers;
    out.route_name = std::string(req.route_name());
    out.subject = req.subject();
    out.log_detail = res.log_detail;
    out.body_bytes_read = body.bytes_read();
    if (method == Verb::head)
        co_return out;
    if (!res.producer) {
        out.body = std::move(res.body);
        co_return out;
    }
    for (;;) {
        auto piece = co_await res.producer->next();
        if (!piece)
            co_return piece.error();
        if (piece->empty())
            break;
        out.body.append(as_chars(*piece));
    }
    if (res.stream_length && out.body.size() != *res.stream_length)
        co_return make_error(ErrorCode::internal,
                             "streamed body of " + std::to_string(out.body.size()) +
                                 " bytes, announced " + std::to_string(*res.stream_length));
    co_return out;
}

} // namespace

Result<CallResult> call(const Router& router, Verb method, std::string_view target,
                        CallOptions options) {
    std::optional<Workers> own_workers;
    Workers* workers = options.workers;
    if (workers == nullptr)
        workers = &own_workers.emplace(1);
    boost::asio::io_context ioc;
    std::optional<Result<CallResult>> result;
    std::exception_ptr failure;
    boost::asio::co_spawn(ioc, run_call_into(router, method, target, options, *workers, result),
                          [&](std::exception_ptr e) { failure = e; });
    ioc.run();
    if (failure)
        std::rethrow_exception(failure);
    if (!result)
        return make_error(ErrorCode::internal, "handler never completed");
    return std::move(*result);
}

} // namespace nixedge::lab::http::testing
