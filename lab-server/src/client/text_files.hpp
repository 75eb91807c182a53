// The small text files the client keeps or edits for the user (its own
// config.toml, Nix's nix.conf and netrc): read whole, replaced atomically so a
// crash leaves the old file or the new one, never half of either.
#pragma once

#include "nixedge/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>

namespace nixedge::lab::client {

// nullopt when the file does not exist; invalid_argument when it cannot be read.
Result<std::optional<std::string>> read_text_file(const std::filesystem::path& file);

// Writes `text` to a temporary file beside `file` with `mode`, fsyncs it and
// renames it over `file`; creates the parent directory (0700) when missing.
Result<void> replace_text_file(const std::filesystem::path& file, const std::string& text,
                               mode_t mode);

} // namespace nixedge::lab::client
