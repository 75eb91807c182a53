#pragma once

#include "nixedge/keys.hpp"

#include <string>

namespace nixedge::bench {

double sha256_mb_per_s();
double narinfo_parse_verify_us();
// A signed narinfo of realistic shape; adds its key to `trusted`.
std::string sample_signed_narinfo(TrustedKeys& trusted);

} // namespace nixedge::bench
