// Nix archives (NAR): a streaming parser/validator and a writer.
//
// A NAR is a sequence of strings, each a u64 little-endian length, the bytes,
// and zero padding to a multiple of 8:
//
//   nar   = "nix-archive-1" node
//   node  = "(" "type" ( "regular" ["executable" ""] "contents" <u64 size> <data> <padding>
//                      | "symlink" "target" <target>
//                      | "directory" entry* ) ")"
//   entry = "entry" "(" "name" <name> "node" node ")"
//
// The parser accepts only the canonical form that Nix writes (`nix-store --dump`),
// so one tree has exactly one NAR and a NarHash names it unambiguously. That is
// stricter than Nix 2.8's `nix-store --restore`, which was found to accept
// unsorted entries, "executable" after the contents and trailing bytes (and to
// fail on duplicates only when the file system refuses them); current Nix
// rejects unsorted and duplicate names as well.
//
// Usage, in the manner of zstd's streaming API: feed() a slice of any size,
// then pull events with next() until it says need_input; repeat; then
// finish(), which fails if the NAR is incomplete. File contents are never
// copied: file_data events point into the slice that was fed.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge {

inline constexpr std::string_view nar_magic = "nix-archive-1";

struct NarLimits {
    // Directories open at once, the root included. Nix itself has no limit;
    // this one keeps hostile input from making consumers recurse without end.
    std::uint32_t max_depth = 256;
    // Nix has no limit either, but Linux does: NAME_MAX is 255 and symlink(2)
    // refuses targets of PATH_MAX (4096) bytes or more, so a NAR beyond these
    // could never be restored.
    std::uint64_t max_name_length = 255;
    std::uint64_t max_target_length = 4095;
};

enum class NarEventType : std::uint8_t {
    need_input,      // the fed slice is used up: feed() the next one, or finish()
    start_directory, // name
    end_directory,   //
    file,            // name, executable, size, offset = NAR offset of the first content byte
    file_data,       // data, offset = NAR offset of data[0]; zero or more, `size` bytes in all
    end_file,        //
    symlink,         // name, target
};

std::string_view nar_event_type_name(NarEventType type);

// The root entry has an empty name. Views (name, target, data) are valid until
// the next call to NarParser::next(), feed() or reset(); data points into the
// slice that was fed.
struct NarEvent {
    NarEventType type = NarEventType::need_input;
    bool executable = false;
    std::uint64_t size = 0;
    std::uint64_t offset = 0;
    std::string_view name;
    std::string_view target;
    ByteView data;
};

class NarParser {
  public:
    explicit NarParser(NarLimits limits = {});

    // Hands the parser the next slice of the NAR; it must stay alive until
    // next() returns need_input. Fails if the previous slice is not used up.
    Result<void> feed(ByteView input);
    // The next event from the fed slice. After an error every call returns it again.
    Result<NarEvent> next();
    // Succeeds only if exactly one complete NAR was fed and every event pulled.
    Result<void> finish();
    // Forgets everything, ready for a new NAR (keeps the limits).
    void reset();

    // The root entry is complete.
    bool done() const { return state_ == State::done; }
    // NAR bytes consumed so far.
    std::uint64_t offset() const { return offset_; }

  private:
    // What comes next in the grammar; one state per token position.
    enum class State : std::uint8_t {
        magic,
        node_open,
        node_type_tag,
        node_type,
        regular_tag,
        executable_marker,
        contents_tag,
        contents_size,
        contents_data,
        contents_padding,
        regular_close,
        symlink_target_tag,
        symlink_target,
        symlink_close,
        directory_tag,
        entry_open,
        entry_name_tag,
        entry_name,
        entry_node_tag,
        entry_close,
        done,
    };
    enum class StringPhase : std::uint8_t { length, body, padding };

    struct Directory {
        // Of the latest entry: for the sort check, and (while that entry is
        // open) the path in error messages. Names are never empty, so "" means
        // no entry yet.
        std::string last_name;
    };

    // What one step of the grammar produced.
    enum class Step : std::uint8_t { need_input, progressed, event };

    ByteView take(std::uint64_t max_count);
    bool read_u64(std::uint64_t& value);
    Result<bool> read_padding();
    Result<bool> read_string();
    bool read_string_in_place();
    std::uint64_t string_limit() const;
    Error string_too_long(std::uint64_t length);

    Result<Step> advance();
    Result<Step> read_contents_size();
    NarEvent next_contents_data();
    Result<Step> on_string();
    Result<Step> expect(std::string_view keyword, State then);
    Result<Step> on_node_type();
    Result<Step> on_regular_tag();
    Result<Step> on_node_close(NarEventType event);
    Result<Step> on_symlink_target();
    Result<Step> on_directory_tag();
    Result<Step> on_entry_name();
    Step emit(NarEvent event);
    void finish_node();

    Error fail(std::uint64_t at, ErrorCode code, std::string what);
    Error unexpected();
    std::string current_path() const;
    std::string_view expectation() const;

    NarLimits limits_;
    State state_ = State::magic;
    StringPhase string_phase_ = StringPhase::length;
    bool failed_ = false;
    bool executable_ = false;

    ByteView input_;
    std::size_t pos_ = 0;      // into input_
    std::uint64_t offset_ = 0; // into the NAR

    std::uint8_t u64_bytes_[8] = {};
    std::uint8_t u64_have_ = 0;
    std::uint64_t token_start_ = 0; // NAR offset of the string being read, for errors
    std::uint64_t string_length_ = 0;
    std::uint64_t padding_left_ = 0;
    std::string token_buffer_; // a string that arrived split across slices
    std::string_view token_;   // the string just read: in the slice, or token_buffer_

    std::uint64_t file_size_ = 0;
    std::uint64_t file_left_ = 0;
    std::string entry_name_; // name of the node being parsed; empty for the root
    std::vector<Directory> directories_;
    NarEvent event_;
    Error error_{ErrorCode::internal, {}};
};

// Feeds one slice and passes every event it yields to on_event, a callable
// taking const NarEvent& and returning Result<void>; stops at the first error.
template <class OnEvent>
Result<void> for_each_nar_event(NarParser& parser, ByteView input, OnEvent&& on_event) {
    if (auto fed = parser.feed(input); !fed)
        return fed;
    for (;;) {
        auto event = parser.next();
        if (!event)
            return event.error();
        if (event->type == NarEventType::need_input)
            return {};
        if (auto handled = on_event(*event); !handled)
            return handled;
    }
}

// Serializes a tree given as events (the parser's, or built by hand) into a
// NAR. The output accumulates until take_output(), so a caller may stream it
// out between events. Checks that the events describe one well-formed tree;
// it does not check names (tests use it to make NARs the parser must reject).
class NarWriter {
  public:
    // need_input events are ignored, so a parser's stream can be passed as is.
    Result<void> add(const NarEvent& event);

    Result<void> start_directory(std::string_view name);
    Result<void> end_directory();
    Result<void> file(std::string_view name, ByteView contents, bool executable = false);
    Result<void> symlink(std::string_view name, std::string_view target);

    // For a caller that sends a file's contents straight from their source
    // (the client reads them from disk into its upload buffer): after the
    // file event and take_output(), the caller sends `size` bytes itself and
    // reports them here instead of as file_data; nothing is copied.
    Result<void> contents_sent_by_caller(std::uint64_t size);

    // The root entry is complete.
    bool done() const { return root_done_; }
    // Moves out what was written since the last call.
    Bytes take_output();

    // NAR string encoding: u64 LE length, bytes, zero padding to 8.
    static void append_string(Bytes& out, std::string_view s);
    static void append_u64(Bytes& out, std::uint64_t value);

  private:
    Result<void> begin_entry(std::string_view name);
    void end_entry();

    Bytes out_;
    std::uint32_t depth_ = 0; // directories open
    bool started_ = false;
    bool root_done_ = false;
    bool in_file_ = false;
    std::uint64_t file_size_ = 0;
    std::uint64_t file_written_ = 0;
};

} // namespace nixedge
