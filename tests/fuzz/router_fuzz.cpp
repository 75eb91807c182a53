// libFuzzer target for the lab server's route matcher (the first thing every
// request's target goes through). Input: one byte picking the method, then the
// target. Errors (400/404/405/414) are fine; crashes are not, and neither is a
// match that hands a handler a parameter able to escape its segment:
//   - a found route's parameters are non-empty, never "." or "..", and hold no
//     '/', '\' or control character, however the target was encoded;
//   - 405 always comes with an Allow list; the path is absolute, the query
//     free of '#'.
#include "http/router.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace nixedge::lab::http;

namespace {

void require(bool condition) {
    if (!condition)
        std::abort();
}

boost::asio::awaitable<Response> unused(Request&) {
    co_return Response::empty(Status::ok);
}

const Router& table() {
    static const Router router = [] {
        Router r;
        bool ok = r.add({Verb::get, Verb::put}, "/{cache}/nix-cache-info", "cache_info", unused) &&
                  r.add({Verb::get, Verb::put}, "/{cache}/{hash}.narinfo", "narinfo", unused) &&
                  r.add({Verb::get, Verb::put}, "/{cache}/{hash}.ls", "listing", unused) &&
                  r.add({Verb::get, Verb::put}, "/{cache}/nar/{file}", "nar", unused) &&
                  r.add({Verb::get}, "/{cache}/attic-cache-info", "attic_info", unused) &&
                  r.add({Verb::post}, "/_api/v1/get-missing-paths", "missing", unused) &&
                  r.add({Verb::put}, "/_api/v1/upload-path", "upload", unused) &&
                  r.add({Verb::get, Verb::post, Verb::patch, Verb::delete_},
                        "/_api/v1/cache-config/{cache}", "cache_config", unused) &&
                  r.add({Verb::get}, "/metrics", "metrics", unused) &&
                  r.add({Verb::get}, "/healthz", "healthz", unused) &&
                  r.add({Verb::get}, "/readyz", "readyz", unused);
        require(ok);
        return r;
    }();
    return router;
}

void check_value(std::string_view value) {
    require(!value.empty());
    require(value != "." && value != "..");
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        require(c != '/' && c != '\\' && u >= 0x20 && u != 0x7f);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    static constexpr Verb methods[] = {Verb::get,   Verb::head,    Verb::put,     Verb::post,
                                       Verb::patch, Verb::delete_, Verb::options, Verb::unknown};
    Verb method = methods[data[0] % 8];
    std::string_view target(reinterpret_cast<const char*>(data + 1), size - 1);

    RouteMatch m = table().match(method, target);
    switch (m.outcome) {
    case MatchOutcome::found:
        require(m.route != nullptr);
        require(m.route->methods.allows(method));
        require(!m.path.empty() && m.path.front() == '/');
        require(m.query.find('#') == std::string::npos);
        for (const auto& [name, value] : m.params.items())
            check_value(value);
        break;
    case MatchOutcome::method_not_allowed:
        require(m.route == nullptr && !m.allow.empty());
        break;
    case MatchOutcome::not_found:
    case MatchOutcome::bad_target:
    case MatchOutcome::target_too_long:
        require(m.route == nullptr);
        break;
    }

    auto parsed = parse_target(target);
    require(parsed.ok() ==
            (m.outcome != MatchOutcome::bad_target && m.outcome != MatchOutcome::target_too_long));
    if (parsed) {
        for (const auto& segment : parsed->segments)
            if (!segment.empty())
                check_value(segment);
        (void)find_query_param(parsed->query, "compression");
    }
    return 0;
}
