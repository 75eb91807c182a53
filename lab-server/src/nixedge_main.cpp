// nixedge: the client. Forwards the command line and the process environment
// to run_client_cli (client/client_cli.hpp), where every command lives.
#include "client/client_cli.hpp"

#include <csignal>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    // A server that hangs up mid-upload is an error to report, not a reason to die.
    std::signal(SIGPIPE, SIG_IGN);
    nixedge::lab::ProcessEnvironment env;
    bool interactive = ::isatty(STDERR_FILENO) == 1;
    return nixedge::lab::client::run_client_cli(std::move(args), std::cout, std::cerr, env,
                                                interactive);
}
