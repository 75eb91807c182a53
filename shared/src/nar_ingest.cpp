#include "nixedge/nar_ingest.hpp"

namespace nixedge {

Result<NarIngestor> NarIngestor::create(const IngestOptions& options) {
    auto chunker = Chunker::create(options.chunking);
    if (!chunker)
        return chunker.error();
    return NarIngestor(std::move(chunker).value(), options);
}

NarIngestor::NarIngestor(Chunker chunker, const IngestOptions& options)
    : chunker_(std::move(chunker)), parser_(options.nar), options_(options) {}

Error NarIngestor::fail(Error error) {
    failed_ = true;
    return error;
}

// Parses the slice for validation and the listing, and hashes it; file
// contents pass through the parser as spans, so this adds no copy.
Result<void> NarIngestor::validate(ByteView input) {
    if (failed_)
        return make_error(ErrorCode::invalid_argument, "ingest already failed");
    if (input.size() > options_.max_nar_size - result_.nar_size)
        return make_error(ErrorCode::limit_exceeded, "NAR is larger than the limit of " +
                                                         std::to_string(options_.max_nar_size) +
                                                         " bytes");
    result_.nar_size += input.size();
    nar_hash_.update(input);
    return for_each_nar_event(parser_, input,
                              [&](const NarEvent& event) { return listing_.add(event); });
}

Result<void> NarIngestor::finish_validation() {
    if (failed_)
        return make_error(ErrorCode::invalid_argument, "ingest already failed");
    return parser_.finish();
}

Result<IngestedNar> NarIngestor::take_result() {
    auto listing = listing_.finish();
    if (!listing)
        return fail(listing.error());
    result_.listing = std::move(listing).value();
    result_.nar_hash = nar_hash_.finish();
    return std::move(result_);
}

} // namespace nixedge
