// The route table: ONE table from (methods, path pattern) to a handler, in the
// manner of harmonia's. Patterns are '/'-separated segments; a segment is a
// literal or holds one named parameter with an optional literal prefix and
// suffix:
//
//     /{cache}/nix-cache-info      /{cache}/{hash}.narinfo      /{cache}/nar/{file}
//     /_api/v1/cache-config/{cache}                             /metrics
//
// Matching works on the target split into segments first and percent-decoded
// second, so "%2F" can never act as a separator; "." and ".." segments (also
// when encoded), control characters and bad escapes are refused as a bad
// target, a parameter is never "." or ".." (not even cut from "...narinfo"),
// an empty segment ("//", a trailing "/") matches nothing, the query
// is stripped (and exposed), and overlong targets are refused before any work.
// When several patterns match, the most specific wins (literal segment over a
// parameter with affixes over a bare parameter), whatever the order of add().
// HEAD is served by a route that allows GET; a path that matches with another
// method gets 405 with the Allow list.
//
// match() needs no socket and no io_context: it is what the fuzz target and the
// routing tests drive.
#pragma once

#include "http/message.hpp"
#include "nixedge/result.hpp"

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::http {

class MethodSet {
  public:
    constexpr MethodSet() = default;
    constexpr MethodSet(std::initializer_list<Verb> verbs) {
        for (Verb v : verbs)
            bits_ |= bit(v);
    }
    // HEAD is implied by GET.
    constexpr bool allows(Verb v) const {
        return (bits_ & bit(v)) != 0 || (v == Verb::head && (bits_ & bit(Verb::get)) != 0);
    }
    constexpr bool empty() const { return bits_ == 0; }
    constexpr bool overlaps(MethodSet other) const { return (bits_ & other.bits_) != 0; }
    constexpr MethodSet operator|(MethodSet other) const { return MethodSet(bits_ | other.bits_); }
    // "GET, HEAD, PUT": the Allow header of a 405.
    std::string allow_header() const;

  private:
    constexpr explicit MethodSet(std::uint64_t bits) : bits_(bits) {}
    static constexpr std::uint64_t bit(Verb v) {
        auto n = static_cast<unsigned>(v);
        return n < 64 ? std::uint64_t{1} << n : 0;
    }
    std::uint64_t bits_ = 0;
};

// A target split into its parts. Segments are percent-decoded, one by one.
struct ParsedTarget {
    std::vector<std::string> segments;
    std::string path;  // "/" + segments joined by "/"
    std::string query; // raw, without '?'
};

struct TargetLimits {
    std::size_t max_target_bytes = 4096;
    std::size_t max_segments = 32;
};

// invalid_argument for a malformed target (not origin-form, bad escape,
// "." / "..", control characters, '/' or '\' inside a decoded segment);
// limit_exceeded for one over the limits.
Result<ParsedTarget> parse_target(std::string_view target, const TargetLimits& limits = {});

// First value of `name` in a raw query string, percent-decoded, '+' as space.
// nullopt if absent or badly escaped.
std::optional<std::string> find_query_param(std::string_view query, std::string_view name);

// Percent-decodes s; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = false);

class RoutePattern {
  public:
    static Result<RoutePattern> parse(std::string_view pattern);

    // Binds the parameters into params (appending) if segments match.
    bool match(const std::vector<std::string>& segments, RouteParams* params) const;
    const std::string& text() const { return text_; }
    // Same segments with parameter names erased: two patterns with the same
    // shape match exactly the same paths.
    const std::string& shape() const { return shape_; }
    // Per segment: 2 literal, 1 parameter with affixes, 0 bare parameter; then
    // total affix length. Compared lexicographically: greater is more specific.
    const std::vector<int>& specificity() const { return specificity_; }

  private:
    struct Segment {
        bool is_param = false;
        std::string literal; // is_param: the prefix
        std::string suffix;
        std::string name;
    };
    std::string text_;
    std::string shape_;
    std::vector<Segment> segments_;
    std::vector<int> specificity_;
};

struct RouteOptions {
    // Largest request body accepted (413 beyond); nullopt: the server's default.
    std::optional<std::uint64_t> body_limit;
};

struct Route {
    std::string name; // metrics label and log field: keep it short and fixed
    MethodSet methods;
    RoutePattern pattern;
    Handler handler;
    RouteOptions options;
};

enum class MatchOutcome {
    found,
    not_found,
    method_not_allowed,
    bad_target,      // 400
    target_too_long, // 414
};

struct RouteMatch {
    MatchOutcome outcome = MatchOutcome::not_found;
    const Route* route = nullptr; // found
    RouteParams params;
    std::string path;
    std::string query;
    std::string allow;  // method_not_allowed: the Allow header
    std::string detail; // bad_target / target_too_long: why
};

class Router {
  public:
    explicit Router(TargetLimits limits = {}) : limits_(limits) {}

    // Fails (invalid_argument) on a malformed pattern, an empty method set, a
    // duplicate name, or a pattern of the same shape with overlapping methods.
    Result<void> add(MethodSet methods, std::string_view pattern, std::string name, Handler handler,
                     RouteOptions options = {});

    RouteMatch match(Verb method, std::string_view target) const;

    const std::deque<Route>& routes() const { return routes_; }
    const TargetLimits& limits() const { return limits_; }

  private:
    TargetLimits limits_;
    std::deque<Route> routes_; // deque: match() hands out stable pointers
};

} // namespace nixedge::lab::http
