// libFuzzer target for the NAR parser, writer and listing builder.
//
// Input: one byte that picks how the rest is sliced, then the NAR. Errors are
// fine, crashes are not, and neither is any of these:
//   - the sliced parse and the whole parse disagree (events or outcome);
//   - an accepted NAR does not come back byte for byte from NarWriter (the
//     parser accepts only the canonical form, so there is exactly one);
//   - an accepted NAR has no listing.
#include "nixedge/nar.hpp"
#include "nixedge/nar_listing.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace nixedge;

namespace {

struct Outcome {
    std::string events; // a flat record of every event, file data merged
    Bytes rewritten;
    std::string listing;
    bool ok = false;
    std::string error;
};

void record(std::string& log, const NarEvent& event) {
    if (event.type == NarEventType::file_data) {
        log.append(as_chars(event.data));
        return;
    }
    log += '|';
    log += std::string(nar_event_type_name(event.type));
    log += ':';
    log += std::string(event.name);
    log += ':';
    log += std::string(event.target);
    log += ':' + std::to_string(event.size) + ':' + std::to_string(event.offset) + ':' +
           (event.executable ? "x" : "-");
}

std::size_t slice_size(std::uint8_t mode, std::size_t index) {
    switch (mode % 6) {
    case 0:
        return SIZE_MAX; // whole
    case 1:
        return 1;
    case 2:
        return 8;
    case 3:
        return 1 + (mode >> 3);
    case 4:
        return 1 + ((index * 7 + mode) % 23); // irregular
    default:
        return 4096;
    }
}

Outcome run(ByteView nar, std::uint8_t mode) {
    NarLimits limits;
    limits.max_depth = 64; // reachable by the fuzzer
    NarParser parser(limits);
    NarWriter writer;
    NarListingBuilder listing;
    Outcome outcome;
    auto consume = [&](const NarEvent& event) -> Result<void> {
        record(outcome.events, event);
        if (auto listed = listing.add(event); !listed)
            return listed;
        return writer.add(event);
    };
    std::size_t pos = 0;
    for (std::size_t index = 0; pos < nar.size() || index == 0; ++index) {
        const std::size_t n = std::min(slice_size(mode, index), nar.size() - pos);
        if (auto fed = for_each_nar_event(parser, nar.subspan(pos, n), consume); !fed) {
            // The writer and the listing refuse only malformed event streams,
            // which the parser must never produce.
            if (fed.error().code == ErrorCode::invalid_argument)
                abort();
            outcome.error = fed.error().detail;
            return outcome;
        }
        pos += n;
    }
    if (auto finished = parser.finish(); !finished) {
        outcome.error = finished.error().detail;
        return outcome;
    }
    auto document = listing.finish();
    if (!document)
        abort(); // a complete NAR always has a listing
    outcome.listing = std::move(*document);
    outcome.rewritten = writer.take_output();
    outcome.ok = true;
    return outcome;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const ByteView nar(data + 1, size - 1);
    const Outcome sliced = run(nar, data[0]);
    const Outcome whole = run(nar, 0);
    if (sliced.ok != whole.ok || sliced.events != whole.events || sliced.error != whole.error ||
        sliced.listing != whole.listing)
        abort();
    if (whole.ok &&
        !std::equal(nar.begin(), nar.end(), whole.rewritten.begin(), whole.rewritten.end()))
        abort();
    return 0;
}
