// server.toml parsing and validation (parse_config, the function load_config
// and every command of nixedge-server go through). Hermetic: the environment
// is a FixedEnvironment filled from the input's own comment lines
//   #env NAME=VALUE
// (still valid TOML, so a plain server.toml is a seed as it is), never the
// process environment; parse_config reads no file and writes nothing (it
// only makes server.data_dir absolute against the working directory).
// Errors are fine; crashes and exceptions are not, and neither is any of:
//   - a loaded config that renders to text loading back to a different config
//     (render_config's promise), or that renders differently the second time;
//   - a loaded config breaking what load promises: absolute data_dir and
//     storage path, a sqlite file under an absolute path, orphan_grace above
//     sync.interval + sync.max_duration + sync.edge_narinfo_ttl, a token
//     secret of at least 32 bytes, S3 credentials exactly when storage is s3;
//   - an error message or a rendered config that shows a secret from the
//     environment (token secret, S3 secret key, the password in
//     NIXEDGE_DATABASE_URL) that the TOML text itself does not contain.
#include "config/secrets.hpp"
#include "config/server_config.hpp"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace nixedge;
using namespace nixedge::lab;

namespace {

void require(bool condition) {
    if (!condition)
        std::abort();
}

constexpr std::string_view secret_variables[] = {
    token_secret_hex_variable, token_secret_base64_variable, s3_secret_access_key_variable,
    database_url_variable};

struct Input {
    FixedEnvironment env;
    std::string body; // the text without its #env lines
};

Input read_input(std::string_view text) {
    Input input;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find('\n', start);
        auto line = text.substr(start, end == std::string_view::npos ? end : end - start);
        constexpr std::string_view prefix = "#env ";
        auto equals = line.find('=');
        if (line.starts_with(prefix) && equals != std::string_view::npos) {
            input.env.set(std::string(line.substr(prefix.size(), equals - prefix.size())),
                          std::string(line.substr(equals + 1)));
        } else {
            input.body.append(line);
            input.body += '\n';
        }
        if (end == std::string_view::npos)
            break;
        start = end + 1;
    }
    return input;
}

// Every letter and digit to another of its kind (hex stays hex, base64 stays
// base64), everything else as it is.
char rotate(char c) {
    auto in = [c](char first, char last) { return c >= first && c <= last; };
    if (in('0', '9'))
        return c == '9' ? '0' : static_cast<char>(c + 1);
    if (in('a', 'f') || in('A', 'F'))
        return (c == 'f' || c == 'F') ? static_cast<char>(c - 5) : static_cast<char>(c + 1);
    if (in('g', 'z') || in('G', 'Z'))
        return (c == 'z' || c == 'Z') ? static_cast<char>(c - 19) : static_cast<char>(c + 1);
    return c;
}

// What parse_config lets anyone see: the error, or the rendered config.
std::string shown(std::string_view text, const Environment& env) {
    auto config = parse_config(text, env);
    return config ? render_config(*config) : config.error().detail;
}

// Where the secret of an environment variable lies in its value: all of it
// (blanks trimmed) for the token secret and the S3 key; the password of
// NIXEDGE_DATABASE_URL (scheme://user:password@host/...).
std::optional<std::pair<std::size_t, std::size_t>> secret_span(std::string_view variable,
                                                               std::string_view value) {
    if (variable == database_url_variable) {
        // A sqlite:// URL names a file: "user:password@" in it is part of the
        // file name (shown as such), not a secret.
        if (value.starts_with("sqlite://"))
            return std::nullopt;
        auto scheme_end = value.find("://");
        if (scheme_end == std::string_view::npos)
            return std::nullopt;
        auto start = scheme_end + 3;
        auto authority = value.substr(start, value.find('/', start) - start);
        auto at = authority.rfind('@');
        auto colon = at == std::string_view::npos ? at : authority.substr(0, at).find(':');
        if (colon == std::string_view::npos)
            return std::nullopt;
        return std::pair{start + colon + 1, at - colon - 1};
    }
    auto first = value.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return std::nullopt;
    return std::pair{first, value.find_last_not_of(" \t\r\n") - first + 1};
}

// A secret from the environment never appears in what is shown. Checked by
// a second parse with every secret's letters and digits rotated: a value that
// is shown in both runs, each time as that run's value, came from the
// environment, not from the input's TOML or a fixed message text.
void check_secrets_not_shown(const Input& input, std::string_view text,
                             const std::string& first_shown) {
    FixedEnvironment rotated_env = input.env;
    std::vector<std::pair<std::string, std::string>> values; // (secret, rotated)
    for (auto variable : secret_variables) {
        auto value = input.env.get(variable);
        if (!value)
            continue;
        auto span = secret_span(variable, *value);
        if (!span || span->second < 8)
            continue;
        auto secret = value->substr(span->first, span->second);
        auto rotated = secret;
        for (auto& c : rotated)
            c = rotate(c);
        if (secret == rotated || input.body.find(secret) != std::string::npos ||
            input.body.find(rotated) != std::string::npos)
            continue;
        rotated_env.set(std::string(variable),
                        std::string(*value).replace(span->first, span->second, rotated));
        values.emplace_back(std::move(secret), std::move(rotated));
    }
    if (values.empty())
        return;
    auto second_shown = shown(text, rotated_env);
    for (const auto& [secret, rotated] : values)
        require(first_shown.find(secret) == std::string::npos ||
                second_shown.find(rotated) == std::string::npos);
}

bool is_absolute_under(const std::filesystem::path& path) {
    return path.is_absolute() && path == path.lexically_normal();
}

void check_loaded(const Input& input, const ServerConfig& config) {
    require(is_absolute_under(config.server.data_dir));
    require(is_absolute_under(config.storage.path));
    if (!config.database.is_postgres())
        require(config.database.sqlite_file().is_absolute());
    require(config.gc.orphan_grace >
            config.sync.interval + config.sync.max_duration + config.sync.edge_narinfo_ttl);
    if (config.auth.token_hs256_secret)
        require(config.auth.token_hs256_secret->size() >= min_token_secret_bytes);
    bool s3 = config.storage.type == StorageType::s3;
    require(s3 == !config.storage.s3.access_key_id.empty());
    require(s3 == !config.storage.s3.secret_access_key.empty());
    require(config.server.public_url.empty() || config.server.public_url.ends_with('/'));
    require(config.database.max_connections >= 3);

    auto rendered = render_config(config);
    auto again = parse_config(rendered, input.env);
    require(again.ok());
    require(*again == config);
    require(render_config(*again) == rendered);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto input = read_input(text);
    auto config = parse_config(text, input.env);
    if (!config) {
        require(config.error().code == ErrorCode::invalid_argument);
        require(!config.error().detail.empty());
        check_secrets_not_shown(input, text, config.error().detail);
        return 0;
    }
    check_loaded(input, *config);
    check_secrets_not_shown(input, text, render_config(*config));
    auto listen = parse_listen_address(config->server.listen.to_string());
    require(listen.ok() && *listen == config->server.listen);
    return 0;
}
