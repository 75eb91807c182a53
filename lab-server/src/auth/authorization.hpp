// The token in an Authorization header, as Attic reads it:
//   Bearer <token>
//   Basic base64(<user>:<token>)   what Nix sends from a netrc on every request;
//                                  the user name is ignored
// The scheme is case-insensitive. Anything else, and an empty token, is no
// token: the request is anonymous (it may still read public caches).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nixedge::lab {

std::optional<std::string> token_from_authorization(std::string_view header_value);

} // namespace nixedge::lab
