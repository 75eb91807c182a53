#include "nixedge/nar.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace nixedge {
namespace {

// The longest string that can be a keyword ("executable"): anything longer is
// rejected from its length alone, before its bytes are buffered.
constexpr std::uint64_t longest_keyword = 10;

std::uint64_t padding_for(std::uint64_t length) {
    return (8 - length % 8) % 8;
}

// Little-endian whatever the host; one load on the little-endian ones (x86, wasm).
std::uint64_t load_u64_le(const std::uint8_t* bytes) {
    std::uint64_t value = 0;
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&value, bytes, sizeof value);
    } else {
        for (int i = 0; i < 8; ++i)
            value |= std::uint64_t{bytes[i]} << (8 * i);
    }
    return value;
}

// Untrusted bytes for an error message: printable ASCII as is, the rest as
// \xNN, cut short so a hostile NAR cannot blow up the log.
std::string quote(std::string_view s) {
    constexpr std::size_t shown = 64;
    constexpr char hex[] = "0123456789abcdef";
    std::string out = "'";
    for (std::size_t i = 0; i < s.size() && i < shown; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (s.size() > shown)
        out += "...";
    out += "'";
    return out;
}

NarEvent event_of(NarEventType type) {
    NarEvent event;
    event.type = type;
    return event;
}

} // namespace

std::string_view nar_event_type_name(NarEventType type) {
    switch (type) {
    case NarEventType::need_input:
        return "need_input";
    case NarEventType::start_directory:
        return "start_directory";
    case NarEventType::end_directory:
        return "end_directory";
    case NarEventType::file:
        return "file";
    case NarEventType::file_data:
        return "file_data";
    case NarEventType::end_file:
        return "end_file";
    case NarEventType::symlink:
        return "symlink";
    }
    return "unknown";
}

// ---------------------------------------------------------------------------
// NarParser

NarParser::NarParser(NarLimits limits) : limits_(limits) {}

void NarParser::reset() {
    *this = NarParser(limits_);
}

Result<void> NarParser::feed(ByteView input) {
    if (failed_)
        return error_;
    if (pos_ < input_.size())
        return make_error(ErrorCode::invalid_argument,
                          "NarParser::feed: the previous slice is not used up (call next() "
                          "until it returns need_input)");
    input_ = input;
    pos_ = 0;
    return {};
}

Result<NarEvent> NarParser::next() {
    if (failed_)
        return error_;
    for (;;) {
        // The hot path for large files: one span per fed slice, no per-byte work.
        if (state_ == State::contents_data && file_left_ > 0)
            return next_contents_data();
        if (state_ == State::done) {
            if (pos_ < input_.size())
                return fail(offset_, ErrorCode::invalid_nar, "trailing bytes after the NAR");
            return NarEvent{};
        }
        auto step = advance();
        if (!step)
            return step.error();
        if (*step == Step::event)
            return event_;
        if (*step == Step::need_input)
            return NarEvent{};
    }
}

Result<void> NarParser::finish() {
    if (failed_)
        return error_;
    if (pos_ < input_.size()) {
        if (state_ == State::done)
            return fail(offset_, ErrorCode::invalid_nar, "trailing bytes after the NAR");
        return make_error(ErrorCode::invalid_argument,
                          "NarParser::finish: the fed slice is not used up (call next() until "
                          "it returns need_input)");
    }
    if (state_ == State::done)
        return {};
    std::string what = "truncated: the input ended while expecting " + std::string(expectation());
    if (state_ == State::contents_data)
        what += " (" + std::to_string(file_left_) + " of " + std::to_string(file_size_) +
                " bytes missing)";
    return fail(offset_, ErrorCode::invalid_nar, std::move(what));
}

// One step of the grammar: a whole token, or as much of one as the slice holds.
Result<NarParser::Step> NarParser::advance() {
    switch (state_) {
    case State::contents_data: // all data passed through
        padding_left_ = padding_for(file_size_);
        state_ = State::contents_padding;
        return Step::progressed;
    case State::contents_padding: {
        auto padded = read_padding();
        if (!padded)
            return padded.error();
        if (!*padded)
            return Step::need_input;
        state_ = State::regular_close;
        return Step::progressed;
    }
    case State::contents_size:
        return read_contents_size();
    default: {
        auto complete = read_string();
        if (!complete)
            return complete.error();
        if (!*complete)
            return Step::need_input;
        return on_string();
    }
    }
}

ByteView NarParser::take(std::uint64_t max_count) {
    const std::size_t available = input_.size() - pos_;
    const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(max_count, available));
    ByteView taken = input_.subspan(pos_, count);
    pos_ += count;
    offset_ += count;
    return taken;
}

// Accumulates a little-endian u64 across slices; true once all 8 bytes are in.
bool NarParser::read_u64(std::uint64_t& value) {
    if (u64_have_ == 0 && input_.size() - pos_ >= 8) {
        value = load_u64_le(take(8).data());
        return true;
    }
    ByteView bytes = take(8u - u64_have_);
    if (!bytes.empty())
        std::memcpy(u64_bytes_ + u64_have_, bytes.data(), bytes.size());
    u64_have_ = static_cast<std::uint8_t>(u64_have_ + bytes.size());
    if (u64_have_ < 8)
        return false;
    value = load_u64_le(u64_bytes_);
    u64_have_ = 0;
    return true;
}

Result<bool> NarParser::read_padding() {
    for (; padding_left_ > 0; --padding_left_) {
        if (pos_ == input_.size())
            return false;
        if (input_[pos_] != 0)
            return fail(offset_, ErrorCode::invalid_nar, "non-zero padding byte");
        ++pos_;
        ++offset_;
    }
    return true;
}

// Reads one length-prefixed, zero-padded string into token_; true once complete.
Result<bool> NarParser::read_string() {
    if (string_phase_ == StringPhase::length && u64_have_ == 0 && read_string_in_place())
        return true;
    if (string_phase_ == StringPhase::length) {
        if (u64_have_ == 0)
            token_start_ = offset_;
        if (!read_u64(string_length_))
            return false;
        if (string_length_ > string_limit())
            return string_too_long(string_length_);
        token_buffer_.clear();
        string_phase_ = StringPhase::body;
    }
    if (string_phase_ == StringPhase::body) {
        token_buffer_.append(as_chars(take(string_length_ - token_buffer_.size())));
        if (token_buffer_.size() < string_length_)
            return false;
        token_ = token_buffer_;
        padding_left_ = padding_for(string_length_);
        string_phase_ = StringPhase::padding;
    }
    auto padded = read_padding();
    if (!padded || !*padded)
        return padded;
    string_phase_ = StringPhase::length;
    return true;
}

// The common case, a string wholly inside the slice, without copying it.
// Anything unusual (split, too long, bad padding) is left to the slow path,
// which reports it.
bool NarParser::read_string_in_place() {
    const std::size_t available = input_.size() - pos_;
    if (available < 8)
        return false;
    const std::uint8_t* start = input_.data() + pos_;
    const std::uint64_t length = load_u64_le(start);
    if (length > string_limit() || length > available - 8)
        return false;
    const std::uint64_t padded = length + padding_for(length);
    if (padded > available - 8)
        return false;
    // The padding is the top bytes of the string's last 8-byte word.
    if (const auto padding = padded - length; padding > 0) {
        const std::uint64_t last_word = load_u64_le(start + padded);
        if (last_word >> (8 * (8 - padding)) != 0)
            return false;
    }
    token_start_ = offset_;
    token_ = std::string_view(reinterpret_cast<const char*>(start + 8),
                              static_cast<std::size_t>(length));
    take(8 + padded);
    return true;
}

std::uint64_t NarParser::string_limit() const {
    switch (state_) {
    case State::magic:
        return nar_magic.size();
    case State::executable_marker:
        return 0;
    case State::entry_name:
        return limits_.max_name_length;
    case State::symlink_target:
        return limits_.max_target_length;
    default:
        return longest_keyword;
    }
}

Error NarParser::string_too_long(std::uint64_t length) {
    const std::string size = std::to_string(length) + " bytes";
    switch (state_) {
    case State::magic:
        return fail(token_start_, ErrorCode::invalid_nar,
                    "not a NAR: expected the magic 'nix-archive-1', got a string of " + size);
    case State::executable_marker:
        return fail(token_start_, ErrorCode::invalid_nar,
                    "the executable marker has a non-empty value");
    case State::entry_name:
        return fail(token_start_, ErrorCode::limit_exceeded,
                    "an entry name of " + size + " in directory '" + current_path() +
                        "' is longer than the limit of " + std::to_string(limits_.max_name_length));
    case State::symlink_target:
        return fail(token_start_, ErrorCode::limit_exceeded,
                    "the symlink target of '" + current_path() + "' is " + size +
                        ", longer than the limit of " + std::to_string(limits_.max_target_length));
    default:
        return fail(token_start_, ErrorCode::invalid_nar,
                    "expected " + std::string(expectation()) + ", got a string of " + size);
    }
}

Result<NarParser::Step> NarParser::read_contents_size() {
    if (u64_have_ == 0)
        token_start_ = offset_;
    if (!read_u64(file_size_))
        return Step::need_input;
    file_left_ = file_size_;
    state_ = State::contents_data;
    NarEvent file = event_of(NarEventType::file);
    file.name = entry_name_;
    file.executable = executable_;
    file.size = file_size_;
    file.offset = offset_;
    return emit(file);
}

NarEvent NarParser::next_contents_data() {
    if (pos_ == input_.size())
        return NarEvent{};
    NarEvent data = event_of(NarEventType::file_data);
    data.offset = offset_;
    data.data = take(file_left_);
    file_left_ -= data.data.size();
    return data;
}

Result<NarParser::Step> NarParser::on_string() {
    switch (state_) {
    case State::magic:
        if (token_ != nar_magic)
            return fail(token_start_, ErrorCode::invalid_nar,
                        "not a NAR: expected the magic 'nix-archive-1', got " + quote(token_));
        state_ = State::node_open;
        return Step::progressed;
    case State::node_open:
        return expect("(", State::node_type_tag);
    case State::node_type_tag:
        return expect("type", State::node_type);
    case State::node_type:
        return on_node_type();
    case State::regular_tag:
        return on_regular_tag();
    case State::executable_marker: // string_limit() made sure it is empty
        executable_ = true;
        state_ = State::contents_tag;
        return Step::progressed;
    case State::contents_tag:
        return expect("contents", State::contents_size);
    case State::regular_close:
        return on_node_close(NarEventType::end_file);
    case State::symlink_target_tag:
        return expect("target", State::symlink_target);
    case State::symlink_target:
        return on_symlink_target();
    case State::symlink_close:
        return on_node_close(NarEventType::need_input);
    case State::directory_tag:
        return on_directory_tag();
    case State::entry_open:
        return expect("(", State::entry_name_tag);
    case State::entry_name_tag:
        return expect("name", State::entry_name);
    case State::entry_name:
        return on_entry_name();
    case State::entry_node_tag:
        return expect("node", State::node_open);
    case State::entry_close:
        return expect(")", State::directory_tag);
    default:
        return fail(offset_, ErrorCode::internal, "NarParser: no string expected here");
    }
}

Result<NarParser::Step> NarParser::expect(std::string_view keyword, State then) {
    if (token_ != keyword)
        return unexpected();
    state_ = then;
    return Step::progressed;
}

Result<NarParser::Step> NarParser::on_node_type() {
    if (token_ == "regular") {
        executable_ = false;
        state_ = State::regular_tag;
        return Step::progressed;
    }
    if (token_ == "symlink") {
        state_ = State::symlink_target_tag;
        return Step::progressed;
    }
    if (token_ == "directory") {
        if (directories_.size() >= limits_.max_depth)
            return fail(token_start_, ErrorCode::limit_exceeded,
                        "directories nested deeper than the limit of " +
                            std::to_string(limits_.max_depth));
        directories_.emplace_back();
        state_ = State::directory_tag;
        NarEvent start = event_of(NarEventType::start_directory);
        start.name = entry_name_;
        return emit(start);
    }
    return fail(token_start_, ErrorCode::invalid_nar, "unknown node type " + quote(token_));
}

Result<NarParser::Step> NarParser::on_regular_tag() {
    if (token_ == "executable") {
        state_ = State::executable_marker;
        return Step::progressed;
    }
    return expect("contents", State::contents_size);
}

// ")" ends a file or a symlink; need_input as `event` means there is none to emit.
Result<NarParser::Step> NarParser::on_node_close(NarEventType event) {
    if (token_ != ")")
        return unexpected();
    finish_node();
    if (event == NarEventType::need_input)
        return Step::progressed;
    return emit(event_of(event));
}

Result<NarParser::Step> NarParser::on_symlink_target() {
    // Nix accepts these, but no file system can hold them, so Nix could never
    // have dumped them and could never restore them.
    if (token_.empty())
        return fail(token_start_, ErrorCode::invalid_nar, "empty symlink target");
    if (token_.find('\0') != std::string_view::npos)
        return fail(token_start_, ErrorCode::invalid_nar,
                    "symlink target " + quote(token_) + " contains a NUL byte");
    state_ = State::symlink_close;
    NarEvent link = event_of(NarEventType::symlink);
    link.name = entry_name_;
    link.target = token_;
    return emit(link);
}

Result<NarParser::Step> NarParser::on_directory_tag() {
    if (token_ == "entry") {
        state_ = State::entry_open;
        return Step::progressed;
    }
    if (token_ != ")")
        return unexpected();
    directories_.pop_back();
    finish_node();
    return emit(event_of(NarEventType::end_directory));
}

Result<NarParser::Step> NarParser::on_entry_name() {
    const std::string_view name = token_;
    auto invalid = [&](std::string why) {
        return fail(token_start_, ErrorCode::invalid_nar,
                    "invalid entry name " + quote(name) + " in directory '" + current_path() +
                        "': " + std::move(why));
    };
    if (name.empty())
        return invalid("empty");
    if (name == "." || name == "..")
        return invalid("not a file name");
    if (name.find('/') != std::string_view::npos)
        return invalid("contains '/'");
    if (name.find('\0') != std::string_view::npos)
        return invalid("contains a NUL byte");
    // Nix writes entries sorted by byte comparison (std::string order, which
    // compares as unsigned char), so anything else is not a canonical NAR.
    std::string& last = directories_.back().last_name;
    if (name == last)
        return invalid("duplicate");
    if (name < last)
        return invalid("out of order after " + quote(last) + " (entries must be sorted bytewise)");
    last.assign(name);
    entry_name_.assign(name);
    state_ = State::entry_node_tag;
    return Step::progressed;
}

NarParser::Step NarParser::emit(NarEvent event) {
    event_ = event;
    return Step::event;
}

void NarParser::finish_node() {
    state_ = directories_.empty() ? State::done : State::entry_close;
}

Error NarParser::fail(std::uint64_t at, ErrorCode code, std::string what) {
    failed_ = true;
    error_ = make_error(code, "NAR offset " + std::to_string(at) + ": " + std::move(what));
    return error_;
}

Error NarParser::unexpected() {
    return fail(token_start_, ErrorCode::invalid_nar,
                "expected " + std::string(expectation()) + ", got " + quote(token_));
}

// The innermost open directory, from the root ("/"): each outer directory's
// latest entry is the one still open.
std::string NarParser::current_path() const {
    std::string path;
    for (std::size_t i = 0; i + 1 < directories_.size(); ++i)
        path += "/" + directories_[i].last_name;
    return path.empty() ? "/" : path;
}

std::string_view NarParser::expectation() const {
    switch (state_) {
    case State::magic:
        return "the magic 'nix-archive-1'";
    case State::node_open:
        return "'('";
    case State::node_type_tag:
        return "'type'";
    case State::node_type:
        return "a node type ('regular', 'symlink' or 'directory')";
    case State::regular_tag:
        return "'executable' or 'contents'";
    case State::executable_marker:
        return "the executable marker";
    case State::contents_tag:
        return "'contents'";
    case State::contents_size:
        return "the file size";
    case State::contents_data:
        return "file contents";
    case State::contents_padding:
        return "padding after file contents";
    case State::regular_close:
        return "')'";
    case State::symlink_target_tag:
        return "'target'";
    case State::symlink_target:
        return "a symlink target";
    case State::symlink_close:
        return "')'";
    case State::directory_tag:
        return "'entry' or ')'";
    case State::entry_open:
        return "'('";
    case State::entry_name_tag:
        return "'name'";
    case State::entry_name:
        return "an entry name";
    case State::entry_node_tag:
        return "'node'";
    case State::entry_close:
        return "')'";
    case State::done:
        return "nothing";
    }
    return "something else";
}

// ---------------------------------------------------------------------------
// NarWriter

namespace {
Error misuse(std::string what) {
    return make_error(ErrorCode::invalid_argument, "NarWriter: " + std::move(what));
}
} // namespace

void NarWriter::append_u64(Bytes& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void NarWriter::append_string(Bytes& out, std::string_view s) {
    append_u64(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
    out.insert(out.end(), padding_for(s.size()), 0);
}

Result<void> NarWriter::add(const NarEvent& event) {
    switch (event.type) {
    case NarEventType::need_input:
        return {};
    case NarEventType::start_directory: {
        if (auto begun = begin_entry(event.name); !begun)
            return begun;
        for (auto s : {"(", "type", "directory"})
            append_string(out_, s);
        ++depth_;
        return {};
    }
    case NarEventType::end_directory:
        if (depth_ == 0 || in_file_)
            return misuse("end_directory without an open directory");
        --depth_;
        append_string(out_, ")");
        end_entry();
        return {};
    case NarEventType::file: {
        if (auto begun = begin_entry(event.name); !begun)
            return begun;
        for (auto s : {"(", "type", "regular"})
            append_string(out_, s);
        if (event.executable) {
            append_string(out_, "executable");
            append_string(out_, "");
        }
        append_string(out_, "contents");
        append_u64(out_, event.size);
        in_file_ = true;
        file_size_ = event.size;
        file_written_ = 0;
        return {};
    }
    case NarEventType::file_data:
        if (!in_file_ || event.data.size() > file_size_ - file_written_)
            return misuse("file_data beyond the announced file size");
        out_.insert(out_.end(), event.data.begin(), event.data.end());
        file_written_ += event.data.size();
        return {};
    case NarEventType::end_file:
        if (!in_file_ || file_written_ != file_size_)
            return misuse("end_file before all announced file data");
        out_.insert(out_.end(), padding_for(file_size_), 0);
        append_string(out_, ")");
        in_file_ = false;
        end_entry();
        return {};
    case NarEventType::symlink: {
        if (auto begun = begin_entry(event.name); !begun)
            return begun;
        for (auto s : {"(", "type", "symlink", "target"})
            append_string(out_, s);
        append_string(out_, event.target);
        append_string(out_, ")");
        end_entry();
        return {};
    }
    }
    return misuse("unknown event type");
}

Result<void> NarWriter::begin_entry(std::string_view name) {
    if (root_done_)
        return misuse("an entry after the root is complete");
    if (in_file_)
        return misuse("an entry inside a file");
    if (!started_) {
        append_string(out_, nar_magic);
        started_ = true;
    }
    if (depth_ == 0) {
        if (!name.empty())
            return misuse("the root entry has a name");
        return {};
    }
    for (auto s : {"entry", "(", "name"})
        append_string(out_, s);
    append_string(out_, name);
    append_string(out_, "node");
    return {};
}

// Called after a node's closing ")": closes the directory entry around it.
void NarWriter::end_entry() {
    if (depth_ > 0)
        append_string(out_, ")");
    else
        root_done_ = true;
}

Result<void> NarWriter::start_directory(std::string_view name) {
    NarEvent event;
    event.type = NarEventType::start_directory;
    event.name = name;
    return add(event);
}

Result<void> NarWriter::end_directory() {
    NarEvent event;
    event.type = NarEventType::end_directory;
    return add(event);
}

Result<void> NarWriter::file(std::string_view name, ByteView contents, bool executable) {
    NarEvent event;
    event.type = NarEventType::file;
    event.name = name;
    event.executable = executable;
    event.size = contents.size();
    if (auto added = add(event); !added)
        return added;
    if (!contents.empty()) {
        NarEvent data;
        data.type = NarEventType::file_data;
        data.data = contents;
        if (auto added = add(data); !added)
            return added;
    }
    NarEvent end;
    end.type = NarEventType::end_file;
    return add(end);
}

Result<void> NarWriter::symlink(std::string_view name, std::string_view target) {
    NarEvent event;
    event.type = NarEventType::symlink;
    event.name = name;
    event.target = target;
    return add(event);
}

Result<void> NarWriter::contents_sent_by_caller(std::uint64_t size) {
    if (!in_file_ || size > file_size_ - file_written_)
        return misuse("contents beyond the announced file size");
    if (!out_.empty())
        return misuse("contents sent by the caller before the framing was taken");
    file_written_ += size;
    return {};
}

Bytes NarWriter::take_output() {
    Bytes taken;
    taken.swap(out_);
    return taken;
}

} // namespace nixedge
