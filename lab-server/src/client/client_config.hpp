// The `nixedge` client's configuration: the servers it has logged in to, as
// `attic login` keeps them (the same TOML shape, so a user can copy Attic's
// file over), in $XDG_CONFIG_HOME/nixedge/config.toml (default
// ~/.config/nixedge/config.toml):
//
//   default-server = "lab"
//   [servers.lab]
//   endpoint = "https://nix-cache.lab.example.org/"
//   token = "eyJhbGciOiJIUzI1NiJ9..."
//
// The file holds tokens: it is written with mode 0600, atomically.
#pragma once

#include "config/environment.hpp"
#include "nixedge/result.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace nixedge::lab::client {

struct ServerEntry {
    std::string endpoint; // "http(s)://host[:port][/prefix]/", always with the trailing '/'
    std::string token;    // empty: anonymous (public caches only)
};

struct ClientConfig {
    std::optional<std::string> default_server;
    std::map<std::string, ServerEntry> servers;
};

// Where the file lives for this environment: $XDG_CONFIG_HOME, else $HOME/.config.
// invalid_argument when neither is set.
Result<std::filesystem::path> client_config_path(const Environment& env);

// A missing file is an empty configuration; a malformed one is invalid_argument
// naming the file and the line.
Result<ClientConfig> load_client_config(const std::filesystem::path& file);
Result<ClientConfig> parse_client_config(std::string_view text, std::string_view origin);
std::string serialize(const ClientConfig& config);
// Writes the file (and its directory) readable by its owner only.
Result<void> save_client_config(const std::filesystem::path& file, const ClientConfig& config);

// "http://host:8080" -> "http://host:8080/"; invalid_argument for anything
// that is not an http(s) URL with a host.
Result<std::string> normalize_endpoint(std::string_view url);

// A server name as `login` takes it: letters, digits, '-', '_', '.'.
Result<void> validate_server_name(std::string_view name);

// "CACHE" (on the default server) or "SERVER:CACHE", as Attic's client reads them.
struct CacheRef {
    std::string server; // resolved: never empty
    std::string cache;
};

// invalid_argument with what to do (log in, name a server) when it names no
// known server or no cache.
Result<CacheRef> resolve_cache_ref(const ClientConfig& config, std::string_view text);

} // namespace nixedge::lab::client
