// Calls a route table without a socket: the same routing, body cap, HEAD and
// error handling as the server, on a private io_context. For the tests of
// domain handlers (cache reads, uploads) and of the route table itself.
#pragma once

#include "http/message.hpp"
#include "http/router.hpp"
#include "http/workers.hpp"
#include "nixedge/result.hpp"

#include <string>
#include <string_view>

namespace nixedge::lab::http::testing {

struct CallOptions {
    Fields headers;
    std::string body;
    // Send the body without a Content-Length (as a chunked upload would).
    bool unknown_length = false;
    std::uint64_t default_body_limit = 1024 * 1024;
    // null: a private pool of one thread.
    Workers* workers = nullptr;
    std::string remote_address = "127.0.0.1:0";
};

struct CallResult {
    Status status = Status::ok;
    Fields headers;
    std::string body; // a streamed body, collected
    std::string route_name;
    std::string subject;
    std::string log_detail;
    std::uint64_t body_bytes_read = 0; // how much of the request body the handler read
};

// Fails if a streamed response breaks off or its length differs from the one
// announced (the server would cut the connection).
Result<CallResult> call(const Router& router, Verb method, std::string_view target,
                        CallOptions options = {});

} // namespace nixedge::lab::http::testing
