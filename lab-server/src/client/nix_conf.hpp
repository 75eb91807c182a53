// Editing Nix's nix.conf and netrc text for `nixedge use`: add a substituter
// and its key, point Nix at the netrc, give the server's host its token. Each
// edit keeps every other line as it was and does nothing when the value is
// already there, so running `use` twice changes nothing the second time.
#pragma once

#include "nixedge/result.hpp"

#include <string>
#include <string_view>

namespace nixedge::lab::client {

// Adds `value` to the list of `key` ("extra-substituters = a b"): to the
// first line that sets it, or a new line at the end.
std::string add_to_nix_conf_list(std::string_view text, std::string_view key,
                                 std::string_view value);

// Sets `key` to `value`: replaces the first line that sets it, or appends one.
std::string set_nix_conf_value(std::string_view text, std::string_view key, std::string_view value);

// Gives `host` the password `token`: replaces the password of its one-line
// `machine` entry, or appends "machine <host> password <token>".
std::string set_netrc_token(std::string_view text, std::string_view host, std::string_view token);

// "https://cache.example.org:8443/main" -> "cache.example.org" (what Nix's
// netrc lookup matches); invalid_argument when there is no host.
Result<std::string> host_of_url(std::string_view url);

} // namespace nixedge::lab::client
