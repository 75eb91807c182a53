#include "nixedge/nar_listing.hpp"

namespace nixedge {
namespace {

Error misuse(std::string what) {
    return make_error(ErrorCode::invalid_argument, "NarListingBuilder: " + std::move(what));
}

bool needs_escape(unsigned char c) {
    return c < 0x20 || c == '"' || c == '\\';
}

} // namespace

void append_nix_json_string(std::string& out, std::string_view s) {
    constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t plain_from = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (!needs_escape(c))
            continue;
        out.append(s, plain_from, i - plain_from);
        plain_from = i + 1;
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default: // Nix writes \b and \f this way too
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    out.append(s, plain_from, s.size() - plain_from);
    out += '"';
}

NarListingBuilder::NarListingBuilder() : json_(R"({"version":1,"root":)") {}

Result<void> NarListingBuilder::add(const NarEvent& event) {
    if (finished_)
        return misuse("an event after finish()");
    switch (event.type) {
    case NarEventType::need_input:
    case NarEventType::file_data:
    case NarEventType::end_file:
        return {};
    case NarEventType::start_directory:
        if (auto begun = begin_entry(event.name); !begun)
            return begun;
        json_ += R"({"type":"directory","entries":{)";
        ++depth_;
        first_in_directory_ = true;
        return {};
    case NarEventType::end_directory:
        if (depth_ == 0)
            return misuse("end_directory without an open directory");
        json_ += "}}";
        --depth_;
        first_in_directory_ = false; // the directory just closed is an entry of its parent
        root_done_ = depth_ == 0;
        return {};
    case NarEventType::file:
        if (auto begun = begin_entry(event.name); !begun)
            return begun;
        json_ += R"({"type":"regular","size":)";
        json_ += std::to_string(event.size);
        if (event.executable)
            json_ += R"(,"executable":true)";
        json_ += R"(,"narOffset":)";
        json_ += std::to_string(event.offset);
        json_ += '}';
        root_done_ = depth_ == 0;
        return {};
    case NarEventType::symlink:
        if (auto begun = begin_entry(event.name); !begun)
            return begun;
        json_ += R"({"type":"symlink","target":)";
        append_nix_json_string(json_, event.target);
        json_ += '}';
        root_done_ = depth_ == 0;
        return {};
    }
    return misuse("unknown event type");
}

// Writes the key of a directory entry (nothing for the root).
Result<void> NarListingBuilder::begin_entry(std::string_view name) {
    if (root_done_)
        return misuse("an entry after the root is complete");
    if (depth_ == 0)
        return {};
    if (!first_in_directory_)
        json_ += ',';
    first_in_directory_ = false;
    append_nix_json_string(json_, name);
    json_ += ':';
    return {};
}

Result<std::string> NarListingBuilder::finish() {
    if (finished_)
        return misuse("finish() called twice");
    if (!root_done_)
        return misuse("the tree is incomplete");
    finished_ = true;
    json_ += '}';
    return std::move(json_);
}

Result<std::string> nar_listing(ByteView nar, NarLimits limits) {
    NarParser parser(limits);
    NarListingBuilder listing;
    auto parsed =
        for_each_nar_event(parser, nar, [&](const NarEvent& event) { return listing.add(event); });
    if (!parsed)
        return parsed.error();
    if (auto finished = parser.finish(); !finished)
        return finished.error();
    return listing.finish();
}

} // namespace nixedge
