#include "push/held_paths.hpp"

#include <algorithm>

namespace nixedge::lab {
namespace {

Result<bool> references_present(MetadataStore& metadata, const Cache& cache,
                                const NarInfo& narinfo) {
    if (cache.settings.allow_upstream_references)
        return true;
    std::vector<std::string> hashes;
    for (const auto& reference : narinfo.references)
        if (reference.hash != narinfo.store_path.hash)
            hashes.push_back(reference.hash);
    if (hashes.empty())
        return true;
    auto missing = metadata.missing_paths(cache.name, hashes);
    if (!missing)
        return missing.error();
    return missing->empty();
}

Publication publication_of(PublishOutcome outcome) {
    return outcome == PublishOutcome::published ? Publication::published : Publication::unchanged;
}

} // namespace

Result<Publication> publish_or_hold(MetadataStore& metadata, const Cache& cache,
                                    const NarInfo& narinfo, std::chrono::seconds hold_for) {
    auto present = references_present(metadata, cache, narinfo);
    if (!present)
        return present.error();
    if (*present) {
        auto outcome = metadata.publish_path(cache.name, narinfo, std::nullopt);
        if (!outcome)
            return outcome.error();
        return publication_of(*outcome);
    }
    if (auto held = metadata.hold_path(cache.name, narinfo, hold_for); !held)
        return held.error();
    // The last reference may have been published between the check and the
    // hold, by a push whose release_held_paths ran before the hold was
    // committed: look once more, now that any later release would see it.
    present = references_present(metadata, cache, narinfo);
    if (!present)
        return present.error();
    if (!*present)
        return Publication::held;
    auto outcome =
        metadata.publish_path(cache.name, narinfo, held_path_url(narinfo.store_path.hash));
    if (!outcome)
        return outcome.error();
    return publication_of(*outcome);
}

Result<std::size_t> release_held_paths(MetadataStore& metadata, const Cache& cache) {
    std::size_t released = 0;
    for (bool progress = true; progress;) {
        progress = false;
        auto held = metadata.held_paths(cache.name);
        if (!held)
            return held.error();
        for (const auto& path : *held) {
            // A hold that cannot be published (its text unreadable, the
            // path published meanwhile with another NarHash) stays until it
            // expires; it must not stop the others.
            auto narinfo = parse_narinfo(path.narinfo);
            if (!narinfo)
                continue;
            auto present = references_present(metadata, cache, *narinfo);
            if (!present)
                return present.error();
            if (!*present)
                continue;
            // Another replica may have released it first: that publish
            // consumed the hold, and this one finds the path unchanged.
            if (!metadata.publish_path(cache.name, *narinfo, path.url))
                continue;
            ++released;
            progress = true;
        }
    }
    return released;
}

} // namespace nixedge::lab
