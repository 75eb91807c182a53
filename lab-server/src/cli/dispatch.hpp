// The command-line machinery both programs share, nixedge-server's
// administration commands and the `nixedge` client: a table of commands, each
// selected by its words ("cache create"), `--help` at every level, and the
// command's options and operands checked against its declaration before it
// runs. Each program keeps its own table, global options and invocation.
#pragma once

#include "cli/arguments.hpp"
#include "nixedge/result.hpp"

#include <cstddef>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nixedge::lab::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1; // the operation failed
inline constexpr int exit_usage = 2;   // the command line is wrong

// A row of a program's command table. `Invocation` is what the program hands
// a command once its arguments are checked.
template <class Invocation> struct BasicCommand {
    std::string_view name;     // the words that select it: "cache create"
    std::string_view operands; // after the name in the synopsis: "NAME [options]"
    std::string_view summary;  // one line for the command list
    std::vector<OptionSpec> options;
    std::size_t positionals = 0; // exactly this many (at least, with more_positionals)
    int (*run)(const Invocation&) = nullptr;
    bool more_positionals = false; // PATH...: any number beyond `positionals`
};

struct Program {
    std::string_view name;           // "nixedge-server"
    std::string_view global_usage;   // between the name and <command>: "[--config FILE]"
    std::string_view global_options; // the "Global options:" lines, each ending in '\n'
};

// What the dispatcher needs of a row, whatever its program.
struct CommandSpec {
    std::string_view name;
    std::string_view operands;
    std::string_view summary;
    std::span<const OptionSpec> options;
    std::size_t positionals = 0;
    bool more_positionals = false;
};

template <class Command> std::vector<CommandSpec> specs_of(const std::vector<Command>& commands) {
    std::vector<CommandSpec> specs;
    specs.reserve(commands.size());
    for (const auto& command : commands)
        specs.push_back({command.name, command.operands, command.summary, command.options,
                         command.positionals, command.more_positionals});
    return specs;
}

// The command to run, with its checked arguments (`--help` added to every
// command's options and handled here).
struct SelectedCommand {
    std::size_t index = 0; // into the table
    ParsedArguments args;
};

// `rest` is the command line after the global options. Either the command to
// run, or the exit status when there is nothing to run: help printed on
// `out`, or a usage error reported on `err`.
std::variant<SelectedCommand, int> select_command(const Program& program,
                                                  std::span<const CommandSpec> commands,
                                                  std::span<const std::string> rest,
                                                  std::ostream& out, std::ostream& err);

// `help`, `help cache`, `help cache create`: what a global --help prints.
int run_help(const Program& program, std::span<const CommandSpec> commands,
             std::span<const std::string> topic, std::ostream& out, std::ostream& err);

bool is_help_flag(std::string_view arg);

// "<program>: <detail> (<code>)" on err; returns exit_failure.
int report_failure(const Program& program, std::ostream& err, const Error& error);
// "<program> <command>: <message>" and where to find help; returns exit_usage.
int report_usage_error(const Program& program, std::ostream& err, std::string_view command,
                       std::string_view message);

} // namespace nixedge::lab::cli
