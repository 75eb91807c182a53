// The `nixedge` client's command line, callable in-process (tests call it
// with string streams and a FixedEnvironment; nixedge_main forwards argv and
// the process environment):
//
//   nixedge <command> [arguments]
//
// Exit status: 0 on success, 1 when the operation failed (message on err),
// 2 for a wrong command line. docs/client.md describes every command.
#pragma once

#include "config/environment.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace nixedge::lab::client {

// `args` are the arguments after the program name. `interactive`: err is a
// terminal (progress bars instead of lines).
int run_client_cli(std::vector<std::string> args, std::ostream& out, std::ostream& err,
                   const Environment& env, bool interactive);

} // namespace nixedge::lab::client
