// What every `nixedge` command is: a row in the client's command table
// (cli/dispatch.hpp), written by the file of its family (login_command.cpp,
// cache_commands.cpp, push_command.cpp, use_command.cpp). The dispatcher
// (client_cli.cpp) checks the arguments and finds the configuration file
// before a command runs.
#pragma once

#include "attic/api_types.hpp"
#include "cli/dispatch.hpp"
#include "client/client_config.hpp"
#include "config/environment.hpp"

#include <filesystem>
#include <ostream>
#include <string_view>
#include <utility>
#include <vector>

namespace nixedge::lab::client {

inline constexpr std::string_view client_program_name = "nixedge";

struct ClientInvocation {
    const cli::ParsedArguments& args;
    std::ostream& out; // results only, so scripts can capture them
    std::ostream& err; // progress and errors
    const Environment& env;
    std::filesystem::path config_file;
    bool interactive = false; // err is a terminal
};

using ClientCommand = cli::BasicCommand<ClientInvocation>;

// The tables, one per family, in the order `--help` lists them.
std::vector<ClientCommand> login_commands();
std::vector<ClientCommand> cache_commands();
std::vector<ClientCommand> push_commands();
std::vector<ClientCommand> use_commands();

// "nixedge: <detail> (<code>)" on err; returns exit_failure.
int report_failure(std::ostream& err, const Error& error);
// "nixedge <command>: <message>"; returns exit_usage.
int report_usage_error(std::ostream& err, std::string_view command, std::string_view message);

// The configuration and the server and cache that `text` (CACHE or
// SERVER:CACHE) names.
struct ResolvedCache {
    ClientConfig config;
    CacheRef ref;
    const ServerEntry& server() const { return config.servers.at(ref.server); }
};
Result<ResolvedCache> resolve_cache(const ClientInvocation& inv, std::string_view text);

// The same, with the cache's settings as its server answers them.
struct CacheWithConfig {
    ResolvedCache cache;
    attic::CacheConfig config;
};
Result<CacheWithConfig> fetch_cache_config(const ClientInvocation& inv, std::string_view text);

} // namespace nixedge::lab::client
