#include "http/router.hpp"

#include "nixedge/encoding.hpp"

#include <algorithm>

namespace nixedge::lab::http {

namespace {

bool is_unreserved_or_sub_delim(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
        return true;
    default:
        return false;
    }
}

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

bool valid_param_name(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

bool valid_pattern_literal(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return c != '%' && is_unreserved_or_sub_delim(c); });
}

Error bad_target(std::string detail) {
    return make_error(ErrorCode::invalid_argument, std::move(detail));
}

} // namespace

std::string MethodSet::allow_header() const {
    // A fixed order, so the header is stable.
    static constexpr Verb order[] = {Verb::get,   Verb::head,    Verb::post,   Verb::put,
                                     Verb::patch, Verb::delete_, Verb::options};
    std::string out;
    for (Verb v : order) {
        if (!allows(v))
            continue;
        if (!out.empty())
            out += ", ";
        out += boost::beast::http::to_string(v);
    }
    return out;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size())
                return std::nullopt;
            int hi = encoding::hex_digit_value(s[i + 1]);
            int lo = encoding::hex_digit_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

Result<ParsedTarget> parse_target(std::string_view target, const TargetLimits& limits) {
    if (target.size() > limits.max_target_bytes)
        return make_error(ErrorCode::limit_exceeded, "target longer than " +
                                                         std::to_string(limits.max_target_bytes) +
                                                         " bytes");
    if (target.empty() || target.front() != '/')
        return bad_target("target is not an absolute path");

    ParsedTarget parsed;
    std::string_view path = target;
    if (auto q = target.find('?'); q != std::string_view::npos) {
        path = target.substr(0, q);
        std::string_view query = target.substr(q + 1);
        for (char c : query)
            if (is_control(static_cast<unsigned char>(c)) || c == ' ' || c == '#' ||
                static_cast<unsigned char>(c) >= 0x80)
                return bad_target("invalid character in query");
        parsed.query = std::string(query);
    }
    for (char c : path)
        if (c != '/' && c != '%' && !is_unreserved_or_sub_delim(c))
            return bad_target("invalid character in path");

    // Split first, decode each segment second: an encoded '/' stays data.
    std::string_view rest = path.substr(1);
    if (path.size() > 1) {
        for (;;) {
            auto slash = rest.find('/');
            std::string_view raw = rest.substr(0, slash);
            if (parsed.segments.size() == limits.max_segments)
                return make_error(ErrorCode::limit_exceeded,
                                  "more than " + std::to_string(limits.max_segments) +
                                      " path segments");
            auto decoded = percent_decode(raw);
            if (!decoded)
                return bad_target("malformed percent escape");
            if (*decoded == "." || *decoded == "..")
                return bad_target("dot segment in path");
            for (char c : *decoded)
                if (c == '/' || c == '\\' || is_control(static_cast<unsigned char>(c)))
                    return bad_target("invalid character in path segment");
            parsed.segments.push_back(std::move(*decoded));
            if (slash == std::string_view::npos)
                break;
            rest = rest.substr(slash + 1);
        }
    }
    parsed.path = "/";
    for (std::size_t i = 0; i < parsed.segments.size(); ++i) {
        if (i > 0)
            parsed.path += '/';
        parsed.path += parsed.segments[i];
    }
    return parsed;
}

std::optional<std::string> find_query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        auto eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq), true);
        if (!key || *key != name)
            continue;
        if (eq == std::string_view::npos)
            return std::string{};
        return percent_decode(pair.substr(eq + 1), true);
    }
    return std::nullopt;
}

Result<RoutePattern> RoutePattern::parse(std::string_view pattern) {
    if (pattern.empty() || pattern.front() != '/')
        return make_error(ErrorCode::invalid_argument,
                          "route pattern must start with '/': " + std::string(pattern));
    RoutePattern out;
    out.text_ = std::string(pattern);
    std::string_view rest = pattern.substr(1);
    std::vector<std::string> names;
    if (!rest.empty()) {
        for (;;) {
            auto slash = rest.find('/');
            std::string_view raw = rest.substr(0, slash);
            Segment seg;
            auto open = raw.find('{');
            if (open == std::string_view::npos) {
                if (raw.empty() || !valid_pattern_literal(raw) || raw == "." || raw == "..")
                    return make_error(ErrorCode::invalid_argument,
                                      "bad literal segment in route pattern: " + out.text_);
                seg.literal = std::string(raw);
                out.specificity_.push_back(2);
                out.shape_ += "/" + seg.literal;
            } else {
                auto close = raw.find('}', open);
                if (close == std::string_view::npos)
                    return make_error(ErrorCode::invalid_argument,
                                      "unclosed '{' in route pattern: " + out.text_);
                std::string_view prefix = raw.substr(0, open);
                std::string_view name = raw.substr(open + 1, close - open - 1);
                std::string_view suffix = raw.substr(close + 1);
                if (!valid_param_name(name) || !valid_pattern_literal(prefix) ||
                    !valid_pattern_literal(suffix))
                    return make_error(ErrorCode::invalid_argument,
                                      "bad parameter segment in route pattern: " + out.text_);
                if (std::find(names.begin(), names.end(), name) != names.end())
                    return make_error(ErrorCode::invalid_argument,
                                      "parameter named twice in route pattern: " + out.text_);
                names.emplace_back(name);
                seg.is_param = true;
                seg.literal = std::string(prefix);
                seg.suffix = std::string(suffix);
                seg.name = std::string(name);
                out.specificity_.push_back(prefix.empty() && suffix.empty() ? 0 : 1);
                out.shape_ += "/" + seg.literal + "{}" + seg.suffix;
            }
            out.segments_.push_back(std::move(seg));
            if (slash == std::string_view::npos)
                break;
            rest = rest.substr(slash + 1);
        }
    }
    if (out.shape_.empty())
        out.shape_ = "/";
    int affixes = 0;
    for (const auto& seg : out.segments_)
        if (seg.is_param)
            affixes += static_cast<int>(seg.literal.size() + seg.suffix.size());
    out.specificity_.push_back(affixes);
    return out;
}

bool RoutePattern::match(const std::vector<std::string>& segments, RouteParams* params) const {
    if (segments.size() != segments_.size())
        return false;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const Segment& seg = segments_[i];
        const std::string& s = segments[i];
        if (!seg.is_param) {
            if (s != seg.literal)
                return false;
            continue;
        }
        if (s.size() <= seg.literal.size() + seg.suffix.size() || !s.starts_with(seg.literal) ||
            !s.ends_with(seg.suffix))
            return false;
        // "...narinfo" must not hand a handler the hash "..".
        std::string_view value(s);
        value = value.substr(seg.literal.size(), s.size() - seg.literal.size() - seg.suffix.size());
        if (value == "." || value == "..")
            return false;
    }
    if (params != nullptr) {
        for (std::size_t i = 0; i < segments.size(); ++i) {
            const Segment& seg = segments_[i];
            if (!seg.is_param)
                continue;
            const std::string& s = segments[i];
            params->add(seg.name, s.substr(seg.literal.size(),
                                           s.size() - seg.literal.size() - seg.suffix.size()));
        }
    }
    return true;
}

Result<void> Router::add(MethodSet methods, std::string_view pattern, std::string name,
                         Handler handler, RouteOptions options) {
    if (methods.empty())
        return make_error(ErrorCode::invalid_argument, "route " + name + " allows no method");
    if (name.empty())
        return make_error(ErrorCode::invalid_argument, "route without a name");
    if (!handler)
        return make_error(ErrorCode::invalid_argument, "route " + name + " has no handler");
    auto parsed = RoutePattern::parse(pattern);
    if (!parsed)
        return parsed.error();
    for (const Route& r : routes_) {
        if (r.name == name)
            return make_error(ErrorCode::invalid_argument, "duplicate route name " + name);
        if (r.pattern.shape() == parsed->shape() && r.methods.overlaps(methods))
            return make_error(ErrorCode::invalid_argument,
                              "route " + name + " overlaps route " + r.name);
    }
    routes_.push_back(
        Route{std::move(name), methods, std::move(*parsed), std::move(handler), options});
    return {};
}

RouteMatch Router::match(Verb method, std::string_view target) const {
    RouteMatch m;
    auto parsed = parse_target(target, limits_);
    if (!parsed) {
        m.outcome = parsed.error().code == ErrorCode::limit_exceeded ? MatchOutcome::target_too_long
                                                                     : MatchOutcome::bad_target;
        m.detail = parsed.error().detail;
        return m;
    }
    m.path = std::move(parsed->path);
    m.query = std::move(parsed->query);

    const Route* best = nullptr;
    MethodSet path_methods;
    for (const Route& r : routes_) {
        if (!r.pattern.match(parsed->segments, nullptr))
            continue;
        path_methods = path_methods | r.methods;
        if (!r.methods.allows(method))
            continue;
        if (best == nullptr || r.pattern.specificity() > best->pattern.specificity())
            best = &r;
    }
    if (best != nullptr) {
        m.outcome = MatchOutcome::found;
        m.route = best;
        best->pattern.match(parsed->segments, &m.params);
    } else if (!path_methods.empty()) {
        m.outcome = MatchOutcome::method_not_allowed;
        m.allow = path_methods.allow_header();
    } else {
        m.outcome = MatchOutcome::not_found;
    }
    return m;
}

} // namespace nixedge::lab::http
