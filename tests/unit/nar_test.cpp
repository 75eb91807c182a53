#include "nar_test_support.hpp"

#include "nixedge/encoding.hpp"
#include "nixedge/nar.hpp"
#include "nixedge/sha256.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace nixedge;
using namespace nixedge::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::vector<Slicer> all_slicings() {
    return {whole(),
            byte_by_byte(),
            random_slices(1, 3),
            random_slices(2, 17),
            random_slices(3, 100),
            random_slices(4, 4096)};
}

// Every slicing must yield the same events and the same outcome.
ParseOutcome parse_every_way(ByteView nar, NarLimits limits = {}) {
    auto reference = parse_whole(nar, limits);
    for (auto& slicer : all_slicings()) {
        auto outcome = parse_sliced(nar, slicer, limits);
        REQUIRE(outcome.events == reference.events);
        REQUIRE(outcome.result.ok() == reference.result.ok());
        if (!reference.result.ok())
            REQUIRE(outcome.result.error().detail == reference.result.error().detail);
    }
    return reference;
}

void check_accepted(ByteView nar, NarLimits limits = {}) {
    auto outcome = parse_every_way(nar, limits);
    REQUIRE_OK(outcome.result);
}

void check_rejected(ByteView nar, ErrorCode code, const std::string& message,
                    NarLimits limits = {}) {
    auto outcome = parse_every_way(nar, limits);
    REQUIRE_FALSE(outcome.result.ok());
    CHECK(outcome.result.error().code == code);
    CHECK_THAT(outcome.result.error().detail, Contains(message));
}

Bytes rewrite(const std::vector<RecordedEvent>& events) {
    NarWriter writer;
    for (const auto& recorded : events) {
        NarEvent event;
        event.type = recorded.type;
        event.name = recorded.name;
        event.target = recorded.target;
        event.executable = recorded.executable;
        event.size = recorded.size;
        event.data = recorded.data;
        REQUIRE_OK(writer.add(event));
    }
    REQUIRE(writer.done());
    return writer.take_output();
}

// A small tree with one of everything.
Bytes sample_nar() {
    NarWriter w;
    REQUIRE_OK(w.start_directory(""));
    REQUIRE_OK(w.file("a", as_bytes("hello")));
    REQUIRE_OK(w.start_directory("b"));
    REQUIRE_OK(w.start_directory("c"));
    REQUIRE_OK(w.end_directory());
    REQUIRE_OK(w.file("empty", {}));
    REQUIRE_OK(w.file("run", as_bytes("#!/bin/sh\nexit 0\n"), true));
    REQUIRE_OK(w.end_directory());
    REQUIRE_OK(w.symlink("link", "b/run"));
    REQUIRE_OK(w.file("z\xc3\xa9\xe2\x98\x83", as_bytes("12345678")));
    REQUIRE_OK(w.end_directory());
    return w.take_output();
}

const std::string magic_only = [] {
    RawNar raw;
    raw.str("nix-archive-1");
    return std::string(as_chars(raw.bytes));
}();

// "nix-archive-1" "(" "type" "regular" "contents" <size> <data>: a file's
// contents start at this offset.
constexpr std::uint64_t root_file_contents_offset = 96;

RawNar nar_start() {
    return RawNar{}.str("nix-archive-1");
}

Bytes directory_with(std::vector<std::string> names) {
    NarWriter w;
    REQUIRE_OK(w.start_directory(""));
    for (const auto& name : names)
        REQUIRE_OK(w.file(name, as_bytes("x")));
    REQUIRE_OK(w.end_directory());
    return w.take_output();
}

Bytes nested_directories(int depth) {
    NarWriter w;
    REQUIRE_OK(w.start_directory(""));
    for (int i = 1; i < depth; ++i)
        REQUIRE_OK(w.start_directory("d"));
    for (int i = 0; i < depth; ++i)
        REQUIRE_OK(w.end_directory());
    return w.take_output();
}

Bytes root_symlink(std::string_view target) {
    NarWriter w;
    REQUIRE_OK(w.symlink("", target));
    return w.take_output();
}

// Random trees for property tests: sorted unique names, mixed sizes.
struct TreeMaker {
    std::mt19937 rng;
    NarWriter writer;

    std::string random_name() {
        static const std::string alphabet = "abcXYZ019._-~ \xc3\xa9\x7f\n\"\\";
        std::uniform_int_distribution<std::size_t> length(1, 12), pick(0, alphabet.size() - 1);
        std::string name;
        for (std::size_t n = length(rng); name.size() < n;)
            name += alphabet[pick(rng)];
        return name == "." || name == ".." ? name + "x" : name;
    }

    void directory(std::string_view name, int depth) {
        REQUIRE_OK(writer.start_directory(name));
        std::map<std::string, int> children; // std::map sorts bytewise, like Nix
        const int count = std::uniform_int_distribution<int>(0, depth > 3 ? 1 : 6)(rng);
        for (int i = 0; i < count; ++i)
            children[random_name()] = std::uniform_int_distribution<int>(0, 9)(rng);
        for (const auto& [child, kind] : children) {
            if (kind < 2)
                directory(child, depth + 1);
            else if (kind < 3)
                REQUIRE_OK(writer.symlink(child, "target/" + child));
            else
                file(child, kind == 9);
        }
        REQUIRE_OK(writer.end_directory());
    }

    void file(std::string_view name, bool executable) {
        const auto size = std::uniform_int_distribution<std::size_t>(0, 3)(rng) == 0
                              ? std::uniform_int_distribution<std::size_t>(0, 20000)(rng)
                              : std::uniform_int_distribution<std::size_t>(0, 40)(rng);
        Bytes contents(size);
        for (auto& byte : contents)
            byte = static_cast<std::uint8_t>(rng());
        REQUIRE_OK(writer.file(name, contents, executable));
    }
};

} // namespace

TEST_CASE("golden NARs from Nix are accepted in every slicing and rewritten byte for byte",
          "[nar]") {
    for (const auto& name : golden_nar_cases) {
        INFO("case " << name);
        Bytes nar = read_golden_nar(name);
        REQUIRE(nar.size() > 0);
        auto outcome = parse_every_way(nar);
        REQUIRE_OK(outcome.result);
        CHECK(rewrite(outcome.events) == nar);
    }
}

TEST_CASE("golden NARs hash as `nix-store --dump | sha256sum` and as Nix's NarHash", "[nar]") {
    for (const auto& name : golden_nar_cases) {
        INFO("case " << name);
        Bytes nar = read_golden_nar(name);
        const auto digest = Sha256::digest(nar);
        CHECK(encoding::to_hex(digest) + "\n" == read_golden(name, ".sha256"));
        CHECK("sha256:" + encoding::to_nix32(digest) + "\n" == read_golden(name, ".narhash"));
    }
}

TEST_CASE("events of Nix's golden tree", "[nar]") {
    Bytes nar = read_golden_nar("tree");
    auto outcome = parse_whole(nar);
    REQUIRE_OK(outcome.result);
    const auto& events = outcome.events;

    REQUIRE(events.front().type == NarEventType::start_directory);
    CHECK(events.front().name.empty());
    CHECK(events.back().type == NarEventType::end_directory);

    std::map<std::string, RecordedEvent> by_name;
    for (const auto& event : events)
        if (!event.name.empty())
            by_name[event.name] = event;
    CHECK(by_name.at("a.txt").type == NarEventType::file);
    CHECK(by_name.at("a.txt").size == 6);
    CHECK(by_name.at("a.txt").offset == 232); // Nix's listing says narOffset 232
    CHECK(by_name.at("empty").size == 0);
    CHECK(by_name.at("run.sh").executable);
    CHECK_FALSE(by_name.at("a.txt").executable);
    CHECK(by_name.at("emptydir").type == NarEventType::start_directory);
    CHECK(by_name.at("link").target == "../a.txt");
    CHECK(by_name.at("weird-link").target == "tar\"get\\\xc3\xa9\nx");
    CHECK(by_name.count("new\nline\ttab\rcr") == 1);
    CHECK(by_name.count("unicode-\xc3\xa9-\xe2\x98\x83-\xf0\x9f\x98\x80") == 1);
    CHECK(by_name.count("invalid-utf8-\xff\xfe") == 1);
}

TEST_CASE("file events give the NAR offset of their contents", "[nar]") {
    for (const Bytes& nar : {sample_nar(), read_golden_nar("tree"), read_golden_nar("large")}) {
        auto outcome = parse_sliced(nar, random_slices(7, 50));
        REQUIRE_OK(outcome.result);
        std::uint64_t files = 0;
        for (std::size_t i = 0; i < outcome.events.size(); ++i) {
            const auto& file = outcome.events[i];
            if (file.type != NarEventType::file)
                continue;
            ++files;
            REQUIRE(file.offset + file.size <= nar.size());
            const Bytes at_offset(nar.begin() + static_cast<std::ptrdiff_t>(file.offset),
                                  nar.begin() +
                                      static_cast<std::ptrdiff_t>(file.offset + file.size));
            if (file.size == 0) {
                CHECK(outcome.events[i + 1].type == NarEventType::end_file);
                continue;
            }
            const auto& data = outcome.events[i + 1];
            REQUIRE(data.type == NarEventType::file_data);
            CHECK(data.offset == file.offset);
            CHECK(data.data == at_offset);
            CHECK(outcome.events[i + 2].type == NarEventType::end_file);
        }
        CHECK(files > 0);
    }
}

TEST_CASE("file data is passed through as spans into the fed slice", "[nar]") {
    Bytes nar = sample_nar();
    NarParser parser;
    REQUIRE_OK(parser.feed(nar));
    int data_events = 0;
    for (;;) {
        auto event = parser.next();
        REQUIRE_OK(event);
        if (event->type == NarEventType::need_input)
            break;
        if (event->type == NarEventType::file_data) {
            ++data_events;
            CHECK(event->data.data() == nar.data() + event->offset);
        }
    }
    CHECK(data_events == 3);
    REQUIRE_OK(parser.finish());
    CHECK(parser.done());
    CHECK(parser.offset() == nar.size());
}

TEST_CASE("sample tree: events in order", "[nar]") {
    auto outcome = parse_every_way(sample_nar());
    REQUIRE_OK(outcome.result);
    std::vector<std::pair<NarEventType, std::string>> seen;
    for (const auto& event : outcome.events)
        seen.emplace_back(event.type, event.name);
    using T = NarEventType;
    const std::vector<std::pair<NarEventType, std::string>> expected = {
        {T::start_directory, ""},
        {T::file, "a"},
        {T::file_data, ""},
        {T::end_file, ""},
        {T::start_directory, "b"},
        {T::start_directory, "c"},
        {T::end_directory, ""},
        {T::file, "empty"},
        {T::end_file, ""},
        {T::file, "run"},
        {T::file_data, ""},
        {T::end_file, ""},
        {T::end_directory, ""},
        {T::symlink, "link"},
        {T::file, "z\xc3\xa9\xe2\x98\x83"},
        {T::file_data, ""},
        {T::end_file, ""},
        {T::end_directory, ""},
    };
    CHECK(seen == expected);
    CHECK(outcome.events[9].executable);
    CHECK(outcome.events[13].target == "b/run");
}

TEST_CASE("a single file, an executable, a symlink and an empty directory as the root", "[nar]") {
    {
        NarWriter w;
        REQUIRE_OK(w.file("", as_bytes("abc")));
        Bytes nar = w.take_output();
        auto outcome = parse_every_way(nar);
        REQUIRE_OK(outcome.result);
        REQUIRE(outcome.events.size() == 3);
        CHECK(outcome.events[0].offset == root_file_contents_offset);
        CHECK(outcome.events[0].size == 3);
    }
    {
        NarWriter w;
        REQUIRE_OK(w.file("", {}, true));
        auto outcome = parse_every_way(w.take_output());
        REQUIRE_OK(outcome.result);
        CHECK(outcome.events[0].executable);
    }
    check_accepted(root_symlink("/nix/store/x"));
    check_accepted(nested_directories(1));
}

TEST_CASE("random trees round-trip through writer and parser", "[nar]") {
    for (unsigned seed = 0; seed < 40; ++seed) {
        INFO("seed " << seed);
        TreeMaker maker{std::mt19937(seed), {}};
        maker.directory("", 0);
        Bytes nar = maker.writer.take_output();
        auto outcome = parse_sliced(nar, random_slices(seed, 64));
        REQUIRE_OK(outcome.result);
        CHECK(outcome.events == parse_whole(nar).events);
        CHECK(rewrite(outcome.events) == nar);
    }
}

TEST_CASE("writer output can be taken between events", "[nar]") {
    Bytes whole_nar = sample_nar();
    auto outcome = parse_whole(whole_nar);
    NarWriter writer;
    Bytes streamed;
    for (const auto& recorded : outcome.events) {
        NarEvent event;
        event.type = recorded.type;
        event.name = recorded.name;
        event.target = recorded.target;
        event.executable = recorded.executable;
        event.size = recorded.size;
        event.data = recorded.data;
        REQUIRE_OK(writer.add(event));
        Bytes part = writer.take_output();
        streamed.insert(streamed.end(), part.begin(), part.end());
    }
    CHECK(streamed == whole_nar);
}

TEST_CASE("rejects a bad magic", "[nar]") {
    check_rejected(RawNar{}.str("nix-archive-2").bytes, ErrorCode::invalid_nar,
                   "NAR offset 0: not a NAR: expected the magic 'nix-archive-1', got "
                   "'nix-archive-2'");
    check_rejected(RawNar{}.u64(std::uint64_t{1} << 40).bytes, ErrorCode::invalid_nar,
                   "NAR offset 0: not a NAR: expected the magic 'nix-archive-1', got a string "
                   "of 1099511627776 bytes");
    check_rejected(as_bytes("<html>\n<body>Not found</body></html>\n"), ErrorCode::invalid_nar,
                   "NAR offset 0: not a NAR");
    check_rejected(ByteView{}, ErrorCode::invalid_nar,
                   "NAR offset 0: truncated: the input ended while expecting the magic");
}

TEST_CASE("rejects non-zero padding", "[nar]") {
    // "(" is a length (24..32), the byte at 32, then 7 padding bytes: 33..39.
    Bytes in_string =
        nar_start().u64(1).raw("(").raw(std::string_view("\0\0\0\0\0\0\x01", 7)).bytes;
    check_rejected(in_string, ErrorCode::invalid_nar, "NAR offset 39: non-zero padding byte");

    Bytes after_contents = nar_start()
                               .strs({"(", "type", "regular", "contents"})
                               .u64(3)
                               .raw("abc")
                               .raw(std::string_view("\0\0\0\0\x80", 5))
                               .str(")")
                               .bytes;
    check_rejected(after_contents, ErrorCode::invalid_nar,
                   "NAR offset " + std::to_string(root_file_contents_offset + 3 + 4) +
                       ": non-zero padding byte");
}

TEST_CASE("rejects unknown and misplaced tokens", "[nar]") {
    check_rejected(nar_start().str("[").bytes, ErrorCode::invalid_nar,
                   "NAR offset 24: expected '(', got '['");
    check_rejected(nar_start().strs({"(", "tpye"}).bytes, ErrorCode::invalid_nar,
                   "NAR offset 40: expected 'type', got 'tpye'");
    check_rejected(nar_start().strs({"(", "type", "fifo"}).bytes, ErrorCode::invalid_nar,
                   "NAR offset 56: unknown node type 'fifo'");
    check_rejected(nar_start().strs({"(", "type", "regular", ")"}).bytes, ErrorCode::invalid_nar,
                   "expected 'executable' or 'contents', got ')'");
    check_rejected(nar_start().strs({"(", "type", "regular", "executable", "x"}).bytes,
                   ErrorCode::invalid_nar, "the executable marker has a non-empty value");
    check_rejected(nar_start().strs({"(", "type", "regular", "executable", "", "executable"}).bytes,
                   ErrorCode::invalid_nar, "expected 'contents', got 'executable'");
    // Nix writes "executable" before "contents"; after the contents only ")" may follow.
    check_rejected(nar_start()
                       .strs({"(", "type", "regular", "contents"})
                       .u64(0)
                       .strs({"executable", ""})
                       .bytes,
                   ErrorCode::invalid_nar, "expected ')', got 'executable'");
    check_rejected(nar_start().strs({"(", "type", "directory", "entri"}).bytes,
                   ErrorCode::invalid_nar, "expected 'entry' or ')', got 'entri'");
    check_rejected(nar_start().strs({"(", "type", "directory", "entry", "(", "node"}).bytes,
                   ErrorCode::invalid_nar, "expected 'name', got 'node'");
    check_rejected(nar_start().strs({"(", "type", "symlink", "targets"}).bytes,
                   ErrorCode::invalid_nar, "expected 'target', got 'targets'");
    // Too long to be any keyword: rejected from the length, before buffering it.
    check_rejected(nar_start().strs({"(", "type", "directoryyy"}).bytes, ErrorCode::invalid_nar,
                   "NAR offset 56: expected a node type ('regular', 'symlink' or 'directory'), "
                   "got a string of 11 bytes");
    check_rejected(nar_start().str("(").u64(~std::uint64_t{0}).bytes, ErrorCode::invalid_nar,
                   "expected 'type', got a string of 18446744073709551615 bytes");
}

TEST_CASE("rejects unsorted and duplicate entries", "[nar]") {
    check_accepted(directory_with({"A", "B", "a", "b", "\xc3\xa9"}));
    check_rejected(directory_with({"b", "a"}), ErrorCode::invalid_nar,
                   "invalid entry name 'a' in directory '/': out of order after 'b'");
    check_rejected(directory_with({"a", "a"}), ErrorCode::invalid_nar,
                   "invalid entry name 'a' in directory '/': duplicate");
    // Byte order, not locale order: 'B' (0x42) sorts before 'a' (0x61), and
    // non-ASCII (>= 0x80) after everything ASCII.
    check_rejected(directory_with({"a", "B"}), ErrorCode::invalid_nar, "out of order");
    check_rejected(directory_with({"\xc3\xa9", "z"}), ErrorCode::invalid_nar, "out of order");
    // A prefix sorts first.
    check_rejected(directory_with({"ab", "a"}), ErrorCode::invalid_nar, "out of order");

    NarWriter w;
    REQUIRE_OK(w.start_directory(""));
    REQUIRE_OK(w.start_directory("dir"));
    REQUIRE_OK(w.start_directory("sub"));
    REQUIRE_OK(w.file("y", {}));
    REQUIRE_OK(w.file("x", {}));
    REQUIRE_OK(w.end_directory());
    REQUIRE_OK(w.end_directory());
    REQUIRE_OK(w.end_directory());
    check_rejected(w.take_output(), ErrorCode::invalid_nar,
                   "invalid entry name 'x' in directory '/dir/sub': out of order after 'y'");
}

TEST_CASE("rejects invalid entry names", "[nar]") {
    check_rejected(directory_with({""}), ErrorCode::invalid_nar,
                   "invalid entry name '' in "
                   "directory '/': empty");
    check_rejected(directory_with({"."}), ErrorCode::invalid_nar,
                   "'.' in directory '/': not a file name");
    check_rejected(directory_with({".."}), ErrorCode::invalid_nar,
                   "'..' in directory '/': not a file name");
    check_rejected(directory_with({"a/b"}), ErrorCode::invalid_nar,
                   "'a/b' in directory '/': contains '/'");
    check_rejected(directory_with({std::string("a\0b", 3)}), ErrorCode::invalid_nar,
                   "'a\\x00b' in directory '/': contains a NUL byte");
    check_accepted(directory_with({"\n", " ", "-", "...", ".a", "a."}));
}

TEST_CASE("rejects names and symlink targets longer than the limits", "[nar]") {
    check_accepted(directory_with({std::string(255, 'n')}));
    check_rejected(directory_with({std::string(256, 'n')}), ErrorCode::limit_exceeded,
                   "an entry name of 256 bytes in directory '/' is longer than the limit of 255");
    check_accepted(root_symlink(std::string(4095, 't')));
    check_rejected(root_symlink(std::string(4096, 't')), ErrorCode::limit_exceeded,
                   "the symlink target of '/' is 4096 bytes, longer than the limit of 4095");

    NarLimits small;
    small.max_name_length = 3;
    small.max_target_length = 5;
    check_accepted(directory_with({"abc"}), small);
    check_rejected(directory_with({"abcd"}), ErrorCode::limit_exceeded, "limit of 3", small);
    check_accepted(root_symlink("12345"), small);
    check_rejected(root_symlink("123456"), ErrorCode::limit_exceeded, "limit of 5", small);
}

TEST_CASE("rejects symlink targets no file system can hold", "[nar]") {
    check_rejected(root_symlink(""), ErrorCode::invalid_nar, "NAR offset 88: empty symlink target");
    check_rejected(root_symlink(std::string("a\0b", 3)), ErrorCode::invalid_nar,
                   "symlink target 'a\\x00b' contains a NUL byte");
}

TEST_CASE("rejects nesting deeper than the limit", "[nar]") {
    check_accepted(nested_directories(256));
    check_rejected(nested_directories(257), ErrorCode::limit_exceeded,
                   "directories nested deeper than the limit of 256");
    NarLimits shallow;
    shallow.max_depth = 2;
    check_accepted(nested_directories(2), shallow);
    check_rejected(nested_directories(3), ErrorCode::limit_exceeded, "limit of 2", shallow);
}

TEST_CASE("rejects trailing bytes after the root", "[nar]") {
    Bytes nar = sample_nar();
    const std::string at = "NAR offset " + std::to_string(nar.size()) + ": trailing bytes";
    Bytes one_more = nar;
    one_more.push_back(0);
    check_rejected(one_more, ErrorCode::invalid_nar, at);
    Bytes twice = nar;
    twice.insert(twice.end(), nar.begin(), nar.end());
    check_rejected(twice, ErrorCode::invalid_nar, at);

    // Also when the extra bytes come in a later slice, after the root was done.
    NarParser parser;
    REQUIRE_OK(for_each_nar_event(parser, nar, [](const NarEvent&) { return Result<void>{}; }));
    REQUIRE(parser.done());
    auto extra =
        for_each_nar_event(parser, as_bytes("x"), [](const NarEvent&) { return Result<void>{}; });
    REQUIRE_FALSE(extra.ok());
    CHECK_THAT(extra.error().detail, Contains(at));
    CHECK_FALSE(parser.finish().ok());
}

TEST_CASE("rejects every truncation of a valid NAR, only at finish()", "[nar]") {
    for (const Bytes& nar : {sample_nar(), read_golden_nar("tree")}) {
        for (std::size_t length = 0; length < nar.size(); ++length) {
            NarParser parser;
            auto fed = for_each_nar_event(parser, ByteView(nar).first(length),
                                          [](const NarEvent&) { return Result<void>{}; });
            INFO("length " << length);
            REQUIRE_OK(fed);
            CHECK_FALSE(parser.done());
            auto finished = parser.finish();
            REQUIRE_FALSE(finished.ok());
            CHECK(finished.error().code == ErrorCode::invalid_nar);
            CHECK_THAT(finished.error().detail,
                       StartsWith("NAR offset " + std::to_string(length) + ": truncated"));
        }
    }
    Bytes huge_file =
        nar_start().strs({"(", "type", "regular", "contents"}).u64(1000).raw("abc").bytes;
    check_rejected(huge_file, ErrorCode::invalid_nar,
                   "truncated: the input ended while expecting file contents (997 of 1000 "
                   "bytes missing)");
}

TEST_CASE("parser misuse and error stickiness", "[nar]") {
    Bytes nar = sample_nar();
    NarParser parser;
    REQUIRE_OK(parser.feed(nar));
    auto refeed = parser.feed(nar);
    REQUIRE_FALSE(refeed.ok());
    CHECK(refeed.error().code == ErrorCode::invalid_argument);
    auto early = parser.finish();
    REQUIRE_FALSE(early.ok());
    CHECK(early.error().code == ErrorCode::invalid_argument);

    // Once failed, every call reports the same error.
    NarParser bad;
    const Bytes not_a_nar = RawNar{}.str("nix-archive-0").bytes;
    REQUIRE_OK(bad.feed(not_a_nar));
    auto first = bad.next();
    REQUIRE_FALSE(first.ok());
    auto again = bad.next();
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().detail == first.error().detail);
    CHECK(bad.feed(nar).error().detail == first.error().detail);
    CHECK(bad.finish().error().detail == first.error().detail);

    // reset() makes it fit for a new NAR.
    bad.reset();
    REQUIRE_OK(for_each_nar_event(bad, nar, [](const NarEvent&) { return Result<void>{}; }));
    REQUIRE_OK(bad.finish());
    CHECK(bad.offset() == nar.size());
}

TEST_CASE("for_each_nar_event stops at the consumer's error", "[nar]") {
    NarParser parser;
    int calls = 0;
    auto result = for_each_nar_event(parser, sample_nar(), [&](const NarEvent&) -> Result<void> {
        if (++calls == 2)
            return make_error(ErrorCode::limit_exceeded, "enough");
        return {};
    });
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().detail == "enough");
    CHECK(calls == 2);
}

TEST_CASE("writer refuses event streams that are not one tree", "[nar]") {
    auto misuse = [](const Result<void>& r) {
        return !r.ok() && r.error().code == ErrorCode::invalid_argument;
    };
    {
        NarWriter w;
        CHECK(misuse(w.end_directory()));
    }
    {
        NarWriter w;
        CHECK(misuse(w.file("named-root", {})));
    }
    {
        NarWriter w;
        REQUIRE_OK(w.file("", as_bytes("x")));
        CHECK(w.done());
        CHECK(misuse(w.file("", as_bytes("y"))));
    }
    {
        NarWriter w;
        NarEvent file;
        file.type = NarEventType::file;
        file.size = 2;
        REQUIRE_OK(w.add(file));
        NarEvent data;
        data.type = NarEventType::file_data;
        const Bytes three{1, 2, 3};
        data.data = three;
        CHECK(misuse(w.add(data)));
        NarEvent end;
        end.type = NarEventType::end_file;
        CHECK(misuse(w.add(end)));
        CHECK(misuse(w.symlink("x", "y")));
    }
}

TEST_CASE("event type names", "[nar]") {
    CHECK(nar_event_type_name(NarEventType::file_data) == "file_data");
    CHECK(nar_event_type_name(NarEventType::start_directory) == "start_directory");
}

TEST_CASE("NarWriter: contents the caller sends itself make the same NAR as file_data", "[nar]") {
    const std::string contents = "0123456789abc"; // 13 bytes: 3 of padding
    NarWriter whole;
    REQUIRE_OK(whole.start_directory(""));
    REQUIRE_OK(whole.file("f", as_bytes(contents), true));
    REQUIRE_OK(whole.end_directory());

    NarWriter split;
    Bytes nar;
    auto take = [&] {
        auto out = split.take_output();
        nar.insert(nar.end(), out.begin(), out.end());
    };
    REQUIRE_OK(split.start_directory(""));
    NarEvent file;
    file.type = NarEventType::file;
    file.name = "f";
    file.executable = true;
    file.size = contents.size();
    REQUIRE_OK(split.add(file));
    take();
    nar.insert(nar.end(), contents.begin(), contents.begin() + 5);
    REQUIRE_OK(split.contents_sent_by_caller(5));
    nar.insert(nar.end(), contents.begin() + 5, contents.end());
    REQUIRE_OK(split.contents_sent_by_caller(8));
    CHECK_FALSE(split.contents_sent_by_caller(1)); // beyond the size
    NarEvent end;
    end.type = NarEventType::end_file;
    REQUIRE_OK(split.add(end));
    REQUIRE_OK(split.end_directory());
    take();
    CHECK(nar == whole.take_output());

    NarWriter untaken; // framing not taken yet: the caller's bytes would land before it
    file.name = "";
    REQUIRE_OK(untaken.add(file));
    CHECK_FALSE(untaken.contents_sent_by_caller(1));
    NarWriter no_file;
    CHECK_FALSE(no_file.contents_sent_by_caller(0));
}
