#include "client/client_config.hpp"

#include "client/text_files.hpp"
#include "nixedge/bucket_layout.hpp"

#include <sstream>
#include <toml++/toml.h>

namespace nixedge::lab::client {
namespace {

Error invalid(std::string detail) {
    return make_error(ErrorCode::invalid_argument, std::move(detail));
}

Result<toml::table> parse_toml(std::string_view text, std::string_view origin) {
    try {
        return toml::parse(text);
    } catch (const toml::parse_error& failure) {
        const auto& where = failure.source().begin;
        return invalid(std::string(origin) + ": line " + std::to_string(where.line) + ": " +
                       std::string(failure.description()));
    }
}

Result<std::string> string_at(const toml::table& table, std::string_view key,
                              std::string_view where) {
    const auto* node = table.get(key);
    if (node == nullptr)
        return std::string{};
    if (const auto* text = node->as_string())
        return text->get();
    return invalid(std::string(where) + ": '" + std::string(key) + "' must be a string");
}

Result<ServerEntry> read_server(const std::string& name, const toml::node& node,
                                std::string_view origin) {
    std::string where = std::string(origin) + ": [servers." + name + "]";
    const auto* table = node.as_table();
    if (table == nullptr)
        return invalid(where + " must be a table");
    auto endpoint = string_at(*table, "endpoint", where);
    if (!endpoint)
        return endpoint.error();
    auto normalized = normalize_endpoint(*endpoint);
    if (!normalized)
        return invalid(where + ": " + normalized.error().detail);
    auto token = string_at(*table, "token", where);
    if (!token)
        return token.error();
    return ServerEntry{*normalized, *token};
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

} // namespace

Result<std::filesystem::path> client_config_path(const Environment& env) {
    if (auto xdg = env.get("XDG_CONFIG_HOME"); xdg && !xdg->empty())
        return std::filesystem::path(*xdg) / "nixedge" / "config.toml";
    if (auto home = env.get("HOME"); home && !home->empty())
        return std::filesystem::path(*home) / ".config" / "nixedge" / "config.toml";
    return invalid("neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the configuration");
}

Result<ClientConfig> parse_client_config(std::string_view text, std::string_view origin) {
    auto table = parse_toml(text, origin);
    if (!table)
        return table.error();
    ClientConfig config;
    auto default_server = string_at(*table, "default-server", origin);
    if (!default_server)
        return default_server.error();
    if (!default_server->empty())
        config.default_server = *default_server;
    if (const auto* servers = table->get("servers")) {
        if (!servers->is_table())
            return invalid(std::string(origin) + ": 'servers' must be a table");
        for (const auto& [name, node] : *servers->as_table()) {
            auto entry = read_server(std::string(name.str()), node, origin);
            if (!entry)
                return entry.error();
            config.servers.emplace(std::string(name.str()), std::move(*entry));
        }
    }
    return config;
}

Result<ClientConfig> load_client_config(const std::filesystem::path& file) {
    auto text = read_text_file(file);
    if (!text)
        return text.error();
    if (!*text)
        return ClientConfig{};
    return parse_client_config(**text, file.string());
}

std::string serialize(const ClientConfig& config) {
    toml::table root;
    if (config.default_server)
        root.insert("default-server", *config.default_server);
    toml::table servers;
    for (const auto& [name, entry] : config.servers) {
        toml::table server{{"endpoint", entry.endpoint}};
        if (!entry.token.empty())
            server.insert("token", entry.token);
        servers.insert(name, std::move(server));
    }
    root.insert("servers", std::move(servers));
    std::ostringstream text;
    text << "# Written by `nixedge login`: the servers this client pushes to.\n" << root << "\n";
    return text.str();
}

Result<void> save_client_config(const std::filesystem::path& file, const ClientConfig& config) {
    return replace_text_file(file, serialize(config), 0600);
}

Result<std::string> normalize_endpoint(std::string_view url) {
    std::string_view rest;
    if (url.starts_with("http://"))
        rest = url.substr(7);
    else if (url.starts_with("https://"))
        rest = url.substr(8);
    else
        return invalid("'" + std::string(url) + "' is not an http:// or https:// URL");
    if (rest.empty() || rest.front() == '/' || rest.front() == ':')
        return invalid("'" + std::string(url) + "' names no host");
    if (rest.find_first_of(" \t\r\n?#") != std::string_view::npos)
        return invalid("'" + std::string(url) + "' has a space, a query or a fragment");
    std::string normalized(url);
    if (!normalized.ends_with('/'))
        normalized += '/';
    return normalized;
}

Result<void> validate_server_name(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return invalid("a server name has 1 to 64 characters");
    for (char c : name)
        if (!is_name_char(c))
            return invalid("server name '" + std::string(name) +
                           "' may hold only letters, digits, '-', '_' and '.'");
    return {};
}

Result<CacheRef> resolve_cache_ref(const ClientConfig& config, std::string_view text) {
    CacheRef ref;
    if (auto colon = text.find(':'); colon != std::string_view::npos) {
        ref.server = std::string(text.substr(0, colon));
        ref.cache = std::string(text.substr(colon + 1));
        if (!config.servers.contains(ref.server))
            return invalid("no server named '" + ref.server + "': log in first (nixedge login " +
                           ref.server + " URL TOKEN)");
    } else {
        if (!config.default_server)
            return invalid(config.servers.empty()
                               ? "no server configured: log in first (nixedge login NAME URL "
                                 "TOKEN)"
                               : "no default server: write SERVER:" + std::string(text) +
                                     " or log in again with --set-default");
        ref.server = *config.default_server;
        ref.cache = std::string(text);
        if (!config.servers.contains(ref.server))
            return invalid("the default server '" + ref.server +
                           "' is not configured: log in again");
    }
    if (auto valid = validate_cache_name(ref.cache); !valid)
        return invalid("'" + ref.cache + "' is not a cache name: " + valid.error().detail);
    return ref;
}

} // namespace nixedge::lab::client
