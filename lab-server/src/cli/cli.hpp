// The `nixedge-server` command line, callable in-process (tests call it with
// string streams and a FixedEnvironment; main forwards argv and the process
// environment):
//
//   nixedge-server [--config FILE] <command> [arguments]
//
// The configuration comes from --config, else the file named by
// NIXEDGE_CONFIG, else the built-in defaults. Exit status: 0 on success,
// 1 when the operation failed (message on err), 2 for a wrong command line.
// docs/lab-server.md ("Administration") describes every command.
#pragma once

#include "config/environment.hpp"

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab {

// Names the configuration file when --config is not given.
inline constexpr std::string_view config_file_variable = "NIXEDGE_CONFIG";

// `args` are the arguments after the program name.
int run_cli(std::vector<std::string> args, std::ostream& out, std::ostream& err,
            const Environment& env);

} // namespace nixedge::lab
