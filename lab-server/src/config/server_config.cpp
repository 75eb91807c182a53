#include "config/server_config.hpp"

#include "config/secrets.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <concepts>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

namespace nixedge::lab {
namespace {

constexpr std::string_view sqlite_scheme = "sqlite://";
constexpr std::int64_t seconds_per_day = 24 * 60 * 60;

template <class T> struct Range {
    T min;
    T max;
};

// Every key of server.toml, once. Reading, rendering and the list of known
// keys all walk this list, so no key can be read without also being rendered
// and checked against the reference file. Chunk sizes have no range here:
// validate_chunker_params checks the three together.
template <class Config, class Visitor> void visit_fields(Config& c, Visitor& v) {
    constexpr Range<Seconds> timeout{Seconds{1}, Seconds{3600}};
    v("server.listen", c.server.listen);
    v("server.io_threads", c.server.io_threads, Range<std::uint32_t>{0, 256});
    v("server.worker_threads", c.server.worker_threads, Range<std::uint32_t>{0, 256});
    v("server.data_dir", c.server.data_dir);
    v("server.public_url", c.server.public_url);
    v("server.limits.max_header_bytes", c.server.limits.max_header_bytes,
      Range<std::uint64_t>{1 * KiB, 1 * MiB});
    v("server.limits.max_narinfo_bytes", c.server.limits.max_narinfo_bytes,
      Range<std::uint64_t>{1 * KiB, 16 * MiB});
    v("server.limits.max_nar_bytes", c.server.limits.max_nar_bytes,
      Range<std::uint64_t>{1 * MiB, 1024 * GiB});
    v("server.limits.max_connections", c.server.limits.max_connections,
      Range<std::uint64_t>{16, 1'000'000});
    v("server.timeouts.request_header", c.server.timeouts.request_header, timeout);
    v("server.timeouts.read", c.server.timeouts.read, timeout);
    v("server.timeouts.write", c.server.timeouts.write, timeout);
    v("server.timeouts.idle", c.server.timeouts.idle, timeout);
    v("database.url", c.database.url);
    // At least 3: GC holds one (its lock) while the outbox drain holds
    // another (its lock) and queries on a third.
    v("database.max_connections", c.database.max_connections, Range<std::uint32_t>{3, 1000});
    v("storage.type", c.storage.type);
    v("storage.path", c.storage.path);
    v("storage.s3.endpoint", c.storage.s3.endpoint);
    v("storage.s3.region", c.storage.s3.region);
    v("storage.s3.bucket", c.storage.s3.bucket);
    v("storage.s3.addressing", c.storage.s3.addressing);
    v("storage.s3.missing_on_403", c.storage.s3.missing_on_403);
    v("storage.s3.max_idle_connections", c.storage.s3.max_idle_connections,
      Range<std::uint32_t>{0, 1024});
    v("storage.s3.max_attempts", c.storage.s3.max_attempts, Range<std::uint32_t>{1, 20});
    v("storage.s3.connect_timeout", c.storage.s3.connect_timeout, timeout);
    v("storage.s3.request_timeout", c.storage.s3.request_timeout, timeout);
    v("chunking.min_size", c.chunking.sizes.min_size);
    v("chunking.avg_size", c.chunking.sizes.avg_size);
    v("chunking.max_size", c.chunking.sizes.max_size);
    v("chunking.zstd_level", c.chunking.zstd_level, Range<int>{1, 19});
    v("caches.default_priority", c.caches.default_priority,
      Range<std::int32_t>{0, std::numeric_limits<std::int32_t>::max()});
    v("caches.default_retention", c.caches.default_retention,
      Range<Seconds>{Seconds{0}, Seconds{36525 * seconds_per_day}}); // 100 years
    v("uploads.staged_upload_timeout", c.uploads.staged_upload_timeout,
      Range<Seconds>{Seconds{60}, Seconds{30 * seconds_per_day}});
    v("gc.interval", c.gc.interval, Range<Seconds>{Seconds{0}, Seconds{7 * seconds_per_day}});
    v("gc.orphan_grace", c.gc.orphan_grace,
      Range<Seconds>{Seconds{1}, Seconds{365 * seconds_per_day}});
    v("sync.interval", c.sync.interval, Range<Seconds>{Seconds{1}, Seconds{7 * seconds_per_day}});
    v("sync.max_duration", c.sync.max_duration,
      Range<Seconds>{Seconds{1}, Seconds{7 * seconds_per_day}});
    v("sync.edge_narinfo_ttl", c.sync.edge_narinfo_ttl,
      Range<Seconds>{Seconds{0}, Seconds{365 * seconds_per_day}});
    v("auth.clock_skew", c.auth.clock_skew, Range<Seconds>{Seconds{0}, Seconds{3600}});
    v("auth.revoked_subjects", c.auth.revoked_subjects);
    v("auth.revoked_token_ids", c.auth.revoked_token_ids);
}

Error invalid(std::string detail) {
    return make_error(ErrorCode::invalid_argument, std::move(detail));
}

std::string in_quotes(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

// ---- URLs -------------------------------------------------------------------

// The "user:password" part of scheme://user:password@host/..., if any.
std::optional<std::pair<std::size_t, std::size_t>> password_span(std::string_view url) {
    auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        return std::nullopt;
    auto authority_start = scheme_end + 3;
    auto authority_end = url.find('/', authority_start);
    auto authority = url.substr(authority_start, authority_end == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : authority_end - authority_start);
    auto at = authority.rfind('@');
    if (at == std::string_view::npos)
        return std::nullopt;
    auto colon = authority.substr(0, at).find(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    return std::pair{authority_start + colon + 1, at - colon - 1};
}

std::string mask_password(std::string url) {
    if (auto span = password_span(url))
        url.replace(span->first, span->second, "***");
    return url;
}

// ---- reading values ---------------------------------------------------------

std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a float";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time";
    case toml::node_type::date_time:
        return "a date-time";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::table:
        return "a table";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

Error wrong_type(const toml::node& node, std::string_view expected) {
    return invalid("expected " + std::string(expected) + ", got " + std::string(type_name(node)));
}

Result<void> read_value(const toml::node& node, std::string& out) {
    const auto* text = node.as_string();
    if (text == nullptr)
        return wrong_type(node, "a string");
    out = text->get();
    return {};
}

Result<void> read_value(const toml::node& node, std::filesystem::path& out) {
    std::string text;
    if (auto read = read_value(node, text); !read)
        return read;
    if (text.empty())
        return invalid("is empty; give a path");
    out = text;
    return {};
}

Result<void> read_value(const toml::node& node, Seconds& out) {
    std::string text;
    if (auto read = read_value(node, text); !read)
        return read;
    auto duration = parse_duration(text);
    if (!duration)
        return duration.error();
    out = *duration;
    return {};
}

Result<void> read_value(const toml::node& node, ListenAddress& out) {
    std::string text;
    if (auto read = read_value(node, text); !read)
        return read;
    auto address = parse_listen_address(text);
    if (!address)
        return address.error();
    out = std::move(address.value());
    return {};
}

Result<void> read_value(const toml::node& node, StorageType& out) {
    std::string text;
    if (auto read = read_value(node, text); !read)
        return read;
    if (text == "local") {
        out = StorageType::local;
        return {};
    }
    if (text == "s3") {
        out = StorageType::s3;
        return {};
    }
    return invalid(in_quotes(text) + " is not a storage type; use \"local\" or \"s3\"");
}

Result<void> read_value(const toml::node& node, S3Addressing& out) {
    std::string text;
    if (auto read = read_value(node, text); !read)
        return read;
    if (text == "path")
        out = S3Addressing::path;
    else if (text == "virtual-host")
        out = S3Addressing::virtual_host;
    else
        return invalid(in_quotes(text) + " is not an addressing style; use \"path\" or " +
                       "\"virtual-host\"");
    return {};
}

Result<void> read_value(const toml::node& node, bool& out) {
    const auto* flag = node.as_boolean();
    if (flag == nullptr)
        return wrong_type(node, "a boolean");
    out = flag->get();
    return {};
}

Result<void> read_value(const toml::node& node, std::vector<std::string>& out) {
    const auto* array = node.as_array();
    if (array == nullptr)
        return wrong_type(node, "an array of strings");
    std::vector<std::string> values;
    for (const auto& element : *array) {
        const auto* text = element.as_string();
        if (text == nullptr)
            return wrong_type(element, "a string in the array");
        if (text->get().empty())
            return invalid("holds an empty string");
        values.push_back(text->get());
    }
    out = std::move(values);
    return {};
}

template <std::integral T> Range<T> full_range() {
    return {std::numeric_limits<T>::min(), std::numeric_limits<T>::max()};
}

template <std::integral T>
Result<void> read_integer(const toml::node& node, T& out, Range<T> range) {
    const auto* integer = node.as_integer();
    if (integer == nullptr)
        return wrong_type(node, "an integer");
    std::int64_t value = integer->get();
    if (std::cmp_less(value, range.min) || std::cmp_greater(value, range.max))
        return invalid(std::to_string(value) + " is out of range " + std::to_string(range.min) +
                       ".." + std::to_string(range.max));
    out = static_cast<T>(value);
    return {};
}

Result<void> check_range(Seconds value, Range<Seconds> range) {
    if (value < range.min || value > range.max)
        return invalid(in_quotes(format_duration(value)) + " is out of range " +
                       format_duration(range.min) + ".." + format_duration(range.max));
    return {};
}

// Reads the keys present in the file into the config; absent keys keep their defaults.
class TomlReader {
  public:
    TomlReader(const toml::table& root, std::vector<std::string>& errors)
        : root_(root), errors_(errors) {}

    template <class T> void operator()(std::string_view key, T& field) {
        if (const auto* node = find(key)) {
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
                report(key, read_integer(*node, field, full_range<T>()));
            else
                report(key, read_value(*node, field));
        }
    }

    template <std::integral T> void operator()(std::string_view key, T& field, Range<T> range) {
        if (const auto* node = find(key))
            report(key, read_integer(*node, field, range));
    }

    void operator()(std::string_view key, Seconds& field, Range<Seconds> range) {
        if (const auto* node = find(key)) {
            Seconds value = field;
            auto read = read_value(*node, value);
            if (read)
                read = check_range(value, range);
            if (read)
                field = value;
            report(key, read);
        }
    }

  private:
    const toml::node* find(std::string_view key) const { return root_.at_path(key).node(); }

    void report(std::string_view key, const Result<void>& read) {
        if (!read)
            errors_.push_back(std::string(key) + ": " + read.error().detail);
    }

    const toml::table& root_;
    std::vector<std::string>& errors_;
};

// ---- known keys -------------------------------------------------------------

struct KnownKeys {
    std::set<std::string, std::less<>> keys;
    std::set<std::string, std::less<>> sections;

    template <class T, class... Bounds> void operator()(std::string_view key, const T&, Bounds...) {
        keys.emplace(key);
        for (auto dot = key.find('.'); dot != std::string_view::npos; dot = key.find('.', dot + 1))
            sections.emplace(key.substr(0, dot));
    }
};

void find_unknown_keys(const toml::table& table, const std::string& prefix, const KnownKeys& known,
                       std::vector<std::string>& errors) {
    for (auto&& [name, node] : table) {
        auto path =
            prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
        if (known.keys.contains(path))
            continue; // its type is the reader's business
        if (!known.sections.contains(path)) {
            errors.push_back(node.is_table() ? "unknown section [" + path + "]"
                                             : "unknown key " + path);
        } else if (const auto* section = node.as_table()) {
            find_unknown_keys(*section, path, known, errors);
        } else {
            errors.push_back(path + ": " + wrong_type(node, "a table").detail);
        }
    }
}

// ---- rendering --------------------------------------------------------------

class TomlWriter {
  public:
    template <class T, class... Bounds>
    void operator()(std::string_view key, const T& value, Bounds...) {
        put(key, to_toml(value));
    }

    const toml::table& table() const { return root_; }

  private:
    template <std::integral T> static toml::value<std::int64_t> to_toml(T value) {
        return toml::value<std::int64_t>(static_cast<std::int64_t>(value));
    }
    static toml::value<std::string> to_toml(const std::string& url) {
        return toml::value<std::string>(mask_password(url));
    }
    static toml::value<std::string> to_toml(const std::filesystem::path& path) {
        return toml::value<std::string>(path.string());
    }
    static toml::value<std::string> to_toml(Seconds duration) {
        return toml::value<std::string>(format_duration(duration));
    }
    static toml::value<std::string> to_toml(const ListenAddress& address) {
        return toml::value<std::string>(address.to_string());
    }
    static toml::value<bool> to_toml(bool flag) { return toml::value<bool>(flag); }
    static toml::value<std::string> to_toml(StorageType type) {
        return toml::value<std::string>(type == StorageType::s3 ? "s3" : "local");
    }
    static toml::value<std::string> to_toml(S3Addressing addressing) {
        return toml::value<std::string>(addressing == S3Addressing::virtual_host ? "virtual-host"
                                                                                 : "path");
    }
    static toml::array to_toml(const std::vector<std::string>& values) {
        toml::array array;
        for (const auto& value : values)
            array.push_back(value);
        return array;
    }

    template <class Value> void put(std::string_view key, Value&& value) {
        toml::table* table = &root_;
        std::size_t start = 0;
        for (auto dot = key.find('.'); dot != std::string_view::npos;
             start = dot + 1, dot = key.find('.', start)) {
            auto inserted =
                table->insert(std::string(key.substr(start, dot - start)), toml::table{});
            table = inserted.first->second.as_table();
        }
        table->insert_or_assign(std::string(key.substr(start)), std::forward<Value>(value));
    }

    toml::table root_;
};

// ---- checks across keys, paths and the environment --------------------------

std::filesystem::path resolve_in(const std::filesystem::path& dir,
                                 const std::filesystem::path& path) {
    return (path.is_absolute() ? path : dir / path).lexically_normal();
}

void resolve_data_dir(ServerConfig& config, std::vector<std::string>& errors) {
    std::error_code failure;
    auto absolute = std::filesystem::absolute(config.server.data_dir, failure);
    if (failure) {
        errors.push_back("server.data_dir: cannot make " + config.server.data_dir.string() +
                         " absolute: " + failure.message());
        return;
    }
    config.server.data_dir = absolute.lexically_normal();
    // The SQLite file is named by a URL under it, where '?' starts a query.
    if (config.server.data_dir.string().find('?') != std::string::npos)
        errors.push_back("server.data_dir: " + in_quotes(config.server.data_dir.string()) +
                         " contains '?', which a sqlite:// URL under it cannot hold");
}

void resolve_database(ServerConfig& config, const Environment& env,
                      std::vector<std::string>& errors) {
    std::string source = "database.url";
    if (auto from_env = env.get(database_url_variable)) {
        source = database_url_variable;
        if (from_env->empty()) {
            errors.push_back(source + " is set but empty");
            return;
        }
        config.database.url = *from_env;
    } else if (password_span(config.database.url)) {
        errors.push_back(source + ": holds a password; give this URL in " +
                         std::string(database_url_variable) + " instead");
        return;
    }
    auto& url = config.database.url;
    if (url.starts_with(sqlite_scheme)) {
        std::string_view file = url;
        file.remove_prefix(sqlite_scheme.size());
        if (file.empty())
            errors.push_back(source + ": " + in_quotes(mask_password(url)) + " names no file");
        else if (file.find('?') != std::string_view::npos)
            errors.push_back(source + ": " + in_quotes(mask_password(url)) +
                             ": query parameters are not supported; give just the file");
        else
            url = std::string(sqlite_scheme) + resolve_in(config.server.data_dir, file).string();
        return;
    }
    if (!config.database.is_postgres())
        errors.push_back(source + ": " + in_quotes(mask_password(url)) +
                         " has an unknown scheme; use sqlite://<file> or postgresql://...");
}

bool is_token_id(std::string_view text) {
    return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void check_revoked_token_ids(const ServerConfig& config, std::vector<std::string>& errors) {
    for (const auto& id : config.auth.revoked_token_ids)
        if (!is_token_id(id))
            errors.push_back("auth.revoked_token_ids: " + in_quotes(id) +
                             " is not a token id (the SHA-256 of the token, 64 lowercase hex)");
}

// S3 bucket names: 3..63 of a-z 0-9 . -, starting and ending with a letter or digit.
bool is_bucket_name(std::string_view name) {
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    return name.size() >= 3 && name.size() <= 63 && alnum(name.front()) && alnum(name.back()) &&
           std::all_of(name.begin(), name.end(),
                       [&](char c) { return alnum(c) || c == '.' || c == '-'; });
}

// Only an "s3" storage reads [storage.s3] and the credentials.
void check_s3(ServerConfig& config, const Environment& env, std::vector<std::string>& errors) {
    if (config.storage.type != StorageType::s3)
        return;
    auto& s3 = config.storage.s3;
    while (s3.endpoint.ends_with('/'))
        s3.endpoint.pop_back();
    std::string_view endpoint = s3.endpoint;
    auto scheme_end = endpoint.find("://");
    auto authority =
        scheme_end == std::string_view::npos ? endpoint : endpoint.substr(scheme_end + 3);
    if (s3.endpoint.empty())
        errors.push_back("storage.s3.endpoint: is empty; storage.type \"s3\" needs one, e.g. "
                         "\"https://s3.example.org\"");
    else if ((!endpoint.starts_with("http://") && !endpoint.starts_with("https://")) ||
             authority.empty() || authority.find_first_of("/?#@") != std::string_view::npos)
        errors.push_back("storage.s3.endpoint: " + in_quotes(mask_password(s3.endpoint)) +
                         " is not http(s)://host[:port] (no path, no user)");
    if (!is_bucket_name(s3.bucket))
        errors.push_back("storage.s3.bucket: " + in_quotes(s3.bucket) +
                         " is not an S3 bucket name (3..63 of a-z 0-9 . -)");
    if (s3.region.empty())
        errors.push_back("storage.s3.region: is empty (RGW and MinIO accept \"us-east-1\")");
    auto credentials = read_s3_credentials(env);
    if (!credentials) {
        errors.push_back(credentials.error().detail);
        return;
    }
    s3.access_key_id = std::move(credentials->access_key_id);
    s3.secret_access_key = std::move(credentials->secret_access_key);
}

// A NAR removed from the lab leaves the mirror at the sync run after, which
// may start up to one interval later and last up to max_duration; the edge
// may serve a narinfo naming it for a TTL after that. Its manifest and chunks
// must outlive all three, or the edge would serve a narinfo whose NAR is gone.
void check_orphan_grace(const ServerConfig& config, std::vector<std::string>& errors) {
    const auto& sync = config.sync;
    const auto needed = sync.interval + sync.max_duration + sync.edge_narinfo_ttl;
    if (config.gc.orphan_grace > needed)
        return;
    errors.push_back("gc.orphan_grace: " + format_duration(config.gc.orphan_grace) +
                     " must exceed sync.interval + sync.max_duration + sync.edge_narinfo_ttl (" +
                     format_duration(sync.interval) + " + " + format_duration(sync.max_duration) +
                     " + " + format_duration(sync.edge_narinfo_ttl) + " = " +
                     format_duration(needed) +
                     "), else the edge could serve a narinfo whose chunks GC deleted");
}

// Clients are told URLs under it, so it ends with '/' like Attic's api-endpoint.
void check_public_url(std::string& url, std::vector<std::string>& errors) {
    if (url.empty())
        return;
    auto scheme_end = url.find("://");
    bool http = url.starts_with("http://") || url.starts_with("https://");
    // No user:password@ either: clients are told this URL.
    if (!http || url.size() == scheme_end + 3 || url.find_first_of(" ?#@") != std::string::npos) {
        errors.push_back("server.public_url: " + in_quotes(mask_password(url)) +
                         " is not an http:// or https:// URL without query or user, e.g. "
                         "\"https://cache.example.org/\"");
        return;
    }
    if (!url.ends_with('/'))
        url += '/';
}

void check_and_resolve(ServerConfig& config, const Environment& env,
                       std::vector<std::string>& errors) {
    if (auto valid = validate_chunker_params(config.chunking.sizes); !valid)
        errors.push_back("chunking: " + valid.error().detail);
    resolve_data_dir(config, errors);
    check_public_url(config.server.public_url, errors);
    config.storage.path = resolve_in(config.server.data_dir, config.storage.path);
    resolve_database(config, env, errors);
    check_revoked_token_ids(config, errors);
    check_orphan_grace(config, errors);
    check_s3(config, env, errors);
    auto secret = read_token_secret(env);
    if (secret)
        config.auth.token_hs256_secret = std::move(secret.value());
    else
        errors.push_back(secret.error().detail);
}

Result<toml::table> parse_toml(std::string_view text) {
    try {
        return toml::parse(text);
    } catch (const toml::parse_error& failure) {
        const auto& where = failure.source().begin;
        return invalid("line " + std::to_string(where.line) + ", column " +
                       std::to_string(where.column) + ": " + std::string(failure.description()));
    }
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string joined;
    for (const auto& line : lines)
        joined += (joined.empty() ? "" : "\n") + line;
    return joined;
}

} // namespace

std::string ListenAddress::to_string() const {
    auto port_text = std::to_string(port);
    if (host.find(':') != std::string::npos)
        return "[" + host + "]:" + port_text;
    return host + ":" + port_text;
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return invalid("listen address " + in_quotes(text) + " " + std::string(why) +
                       " (write host:port, e.g. 127.0.0.1:8080 or [::1]:8080)");
    };
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos)
            return bad("has no closing ']'");
        host = text.substr(1, close - 1);
        if (text.substr(close + 1, 1) != ":")
            return bad("has no :port after ']'");
        port = text.substr(close + 2);
        if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
            return bad("has an invalid IPv6 address");
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return bad("has no port");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return bad("needs brackets around an IPv6 address");
        constexpr std::string_view host_chars =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
        if (host.empty() || host.find_first_not_of(host_chars) != std::string::npos)
            return bad("has an invalid host");
    }
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
        return bad("has an invalid port");
    auto number = std::stoul(std::string(port));
    if (number > 65535)
        return bad("has a port above 65535");
    return ListenAddress{std::string(host), static_cast<std::uint16_t>(number)};
}

bool ServerConfig::Database::is_postgres() const {
    return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

std::filesystem::path ServerConfig::Database::sqlite_file() const {
    if (!url.starts_with(sqlite_scheme))
        return {};
    return std::filesystem::path(url.substr(sqlite_scheme.size()));
}

Result<ServerConfig> parse_config(std::string_view toml_text, const Environment& env) {
    auto table = parse_toml(toml_text);
    if (!table)
        return table.error();
    ServerConfig config;
    std::vector<std::string> errors;
    KnownKeys known;
    visit_fields(config, known);
    find_unknown_keys(*table, "", known, errors);
    TomlReader reader(*table, errors);
    visit_fields(config, reader);
    check_and_resolve(config, env, errors);
    if (!errors.empty())
        return invalid(join_lines(errors));
    return config;
}

Result<ServerConfig> load_config(const std::filesystem::path& path, const Environment& env) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return invalid("cannot read config file " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    auto config = parse_config(text.str(), env);
    if (!config)
        return invalid(path.string() + ": " + config.error().detail);
    return config;
}

std::string render_config(const ServerConfig& config) {
    TomlWriter writer;
    visit_fields(config, writer);
    std::ostringstream out;
    out << writer.table() << "\n";
    return out.str();
}

} // namespace nixedge::lab
