// `nixedge-server serve`: the HTTP server over an opened Lab, until SIGINT or
// SIGTERM. Start-up drains the outbox before accepting pushes, so edge objects
// owed from before a crash are written first.
#pragma once

#include "app/lab.hpp"

#include <functional>
#include <string>

namespace nixedge::lab {

struct ServeOptions {
    // Called once the socket listens, with the base URL ("http://127.0.0.1:8080").
    std::function<void(const std::string& base_url)> on_listening;
};

Result<void> serve(Lab& lab, const ServeOptions& options);

} // namespace nixedge::lab
