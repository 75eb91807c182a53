// What every subcommand of nixedge-server is: a row in the dispatcher's table
// (its words, synopsis, options and a function), written by the file of its
// family (cache_commands.cpp, token_commands.cpp, serve_command.cpp,
// fsck_command.cpp). The dispatcher (cli.cpp, on dispatch.hpp) parses the options and loads
// the configuration before a command runs, so a command only does its own
// work.
#pragma once

#include "cli/dispatch.hpp"
#include "config/server_config.hpp"

#include <cstdint>
#include <ostream>
#include <string_view>
#include <vector>

namespace nixedge::lab::cli {

inline constexpr std::string_view program_name = "nixedge-server";

struct Invocation {
    const ParsedArguments& args;
    std::ostream& out; // results only, so scripts can capture them
    std::ostream& err; // errors
    const ServerConfig& config;
};

using Command = BasicCommand<Invocation>;

// The tables, one per family, in the order `--help` lists them.
std::vector<Command> cache_commands();
std::vector<Command> token_commands();
std::vector<Command> serve_commands();
std::vector<Command> fsck_commands();
std::vector<Command> gc_commands();

// "2024-05-01T12:00:00Z": times in command output.
std::string format_utc(std::int64_t unix_time);

// "nixedge-server: <detail> (<code>)" on err; returns exit_failure.
int report_failure(std::ostream& err, const Error& error);
// "nixedge-server <command>: <message>" and where to find help; returns exit_usage.
int report_usage_error(std::ostream& err, std::string_view command, std::string_view message);

} // namespace nixedge::lab::cli
