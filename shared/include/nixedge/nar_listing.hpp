// Nix's NAR listing (the `<hash>.ls` file of a binary cache), built from the
// parser's events in one pass: memory grows with the number of entries, never
// with file sizes.
//
// The output is byte-identical to what Nix 2.8 writes with
// `write-nar-listing=true`: compact JSON, `{"version":1,"root":<node>}` where a
// node is
//   {"type":"regular","size":N[,"executable":true],"narOffset":M}
//   {"type":"directory","entries":{"<name>":<node>,...}}   (NAR order = sorted)
//   {"type":"symlink","target":"<target>"}
// Strings are escaped as Nix escapes them: `"` and `\` with a backslash, \n \r
// \t, other bytes below 0x20 as \u00xx (lowercase hex), everything else
// (DEL, non-ASCII, even invalid UTF-8) copied as is.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/nar.hpp"
#include "nixedge/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace nixedge {

class NarListingBuilder {
  public:
    NarListingBuilder();

    // Takes every event of one NAR, in order; file_data, end_file and
    // need_input add nothing.
    Result<void> add(const NarEvent& event);
    // The listing document. Fails if the events did not describe a whole tree.
    Result<std::string> finish();

  private:
    Result<void> begin_entry(std::string_view name);

    std::string json_;
    std::uint32_t depth_ = 0; // directories open
    bool first_in_directory_ = false;
    bool root_done_ = false;
    bool finished_ = false;
};

// Appends `s` as a JSON string literal, escaped exactly as Nix 2.8 does.
void append_nix_json_string(std::string& out, std::string_view s);

// Parses a whole NAR held in memory and returns its listing.
Result<std::string> nar_listing(ByteView nar, NarLimits limits = {});

} // namespace nixedge
