// `serve` (the HTTP server) and `config show` (the configuration it would use).
#include "app/serve.hpp"
#include "cli/command.hpp"

namespace nixedge::lab::cli {
namespace {

int serve_command(const Invocation& inv) {
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    ServeOptions options;
    // Tests and scripts read this line to learn the port of "127.0.0.1:0";
    // flushed at once because stdout is a pipe for them.
    options.on_listening = [&out = inv.out](const std::string& base_url) {
        out << "listening on " << base_url << std::endl;
    };
    if (auto served = serve(*lab, options); !served)
        return report_failure(inv.err, served.error());
    return exit_ok;
}

int config_show(const Invocation& inv) {
    inv.out << render_config(inv.config);
    inv.out.flush();
    return exit_ok;
}

} // namespace

std::vector<Command> serve_commands() {
    return {
        {"serve",
         "",
         "run the HTTP server until SIGINT or SIGTERM; prints 'listening on <url>' once ready",
         {},
         0,
         serve_command},
        {"config show",
         "",
         "print the configuration in effect (defaults filled in, paths absolute, no secrets)",
         {},
         0,
         config_show},
    };
}

} // namespace nixedge::lab::cli
