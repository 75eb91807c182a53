// nixedge-server: forwards the command line and the process environment to
// run_cli (cli/cli.hpp), where every command lives.
#include "cli/cli.hpp"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    nixedge::lab::ProcessEnvironment env;
    return nixedge::lab::run_cli(std::move(args), std::cout, std::cerr, env);
}
