// Helpers shared by the NAR parser and listing tests.
#pragma once

#include "nixedge/nar.hpp"
#include "test_files.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

// Catch's REQUIRE with the error's detail shown when a Result is not ok.
#define REQUIRE_OK(expr)                                                                           \
    do {                                                                                           \
        const auto& result_ = (expr);                                                              \
        INFO((result_.ok() ? std::string("ok") : result_.error().detail));                         \
        REQUIRE(result_.ok());                                                                     \
    } while (false)

namespace nixedge::test {

// The golden cases in tests/data/nar, made by regenerate.sh with the real Nix.
inline const std::vector<std::string> golden_nar_cases = {"tree",      "sorting", "deep", "large",
                                                          "empty-dir", "file",    "exec", "link"};

inline std::string read_golden(const std::string& name, const std::string& extension) {
    return read_file(data_dir() / "nar" / (name + extension));
}

inline Bytes read_golden_nar(const std::string& name) {
    return to_bytes(read_golden(name, ".nar"));
}

// An event with its views copied, so it outlives the parser's next call.
struct RecordedEvent {
    NarEventType type = NarEventType::need_input;
    std::string name;
    std::string target;
    bool executable = false;
    std::uint64_t size = 0;
    std::uint64_t offset = 0;
    Bytes data;

    bool operator==(const RecordedEvent&) const = default;
};

// Consecutive file_data events merge into one: how contents are split depends
// only on the slicing, everything else must not.
inline void record(std::vector<RecordedEvent>& events, const NarEvent& event) {
    if (event.type == NarEventType::file_data && !events.empty() &&
        events.back().type == NarEventType::file_data) {
        events.back().data.insert(events.back().data.end(), event.data.begin(), event.data.end());
        return;
    }
    RecordedEvent copy;
    copy.type = event.type;
    copy.name = std::string(event.name);
    copy.target = std::string(event.target);
    copy.executable = event.executable;
    copy.size = event.size;
    copy.offset = event.offset;
    copy.data.assign(event.data.begin(), event.data.end());
    events.push_back(std::move(copy));
}

// Slice sizes: given how many bytes are left, how many to feed next.
using Slicer = std::function<std::size_t(std::size_t left)>;

inline Slicer whole() {
    return [](std::size_t left) { return left; };
}
inline Slicer byte_by_byte() {
    return [](std::size_t left) { return std::min<std::size_t>(left, 1); };
}
inline Slicer random_slices(unsigned seed, std::size_t max_slice) {
    auto rng = std::make_shared<std::mt19937>(seed);
    return [rng, max_slice](std::size_t left) {
        std::uniform_int_distribution<std::size_t> size(0, max_slice); // 0: an empty feed
        return std::min(left, size(*rng));
    };
}

struct ParseOutcome {
    std::vector<RecordedEvent> events;
    Result<void> result;
};

inline ParseOutcome parse_sliced(ByteView nar, const Slicer& next_slice, NarLimits limits = {}) {
    NarParser parser(limits);
    ParseOutcome outcome;
    std::size_t pos = 0;
    do {
        const std::size_t n = next_slice(nar.size() - pos);
        auto fed = for_each_nar_event(parser, nar.subspan(pos, n), [&](const NarEvent& event) {
            record(outcome.events, event);
            return Result<void>{};
        });
        if (!fed) {
            outcome.result = fed;
            return outcome;
        }
        pos += n;
    } while (pos < nar.size());
    outcome.result = parser.finish();
    return outcome;
}

inline ParseOutcome parse_whole(ByteView nar, NarLimits limits = {}) {
    return parse_sliced(nar, whole(), limits);
}

// Hand-made NAR tokens, for input the writer would never produce.
struct RawNar {
    Bytes bytes;
    RawNar& str(std::string_view s) {
        NarWriter::append_string(bytes, s);
        return *this;
    }
    RawNar& strs(std::initializer_list<std::string_view> list) {
        for (auto s : list)
            str(s);
        return *this;
    }
    RawNar& u64(std::uint64_t value) {
        NarWriter::append_u64(bytes, value);
        return *this;
    }
    RawNar& raw(std::string_view s) {
        bytes.insert(bytes.end(), s.begin(), s.end());
        return *this;
    }
};

} // namespace nixedge::test
