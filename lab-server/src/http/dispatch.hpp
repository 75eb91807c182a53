// The request path minus the socket, shared by the server's sessions and by
// testing::call: routing outcome -> handler -> Response. Answers 400, 404, 405
// (with Allow), 413 (declared Content-Length over the route's cap) and 414
// itself, and turns an exception escaping a handler into a generic 500 whose
// detail is logged only.
#pragma once

#include "http/message.hpp"
#include "http/router.hpp"

#include <boost/asio/awaitable.hpp>

namespace nixedge::lab::http {

// Route name in metrics and logs for requests no route took.
inline constexpr std::string_view unmatched_route = "unmatched";

// Moves what the match found (path, query, params, route name) into init.
void apply_match(RouteMatch& match, Request::Init& init);

boost::asio::awaitable<Response> dispatch(const RouteMatch& match, Request& req,
                                          std::uint64_t default_body_limit);

} // namespace nixedge::lab::http
