// Publishing a path whose references may not be in the cache yet. Nix's push
// sends references first, so its narinfo PUT publishes or fails. Attic's
// client uploads a closure in any order, several at a time: a path that
// arrives before its references is held (MetadataStore::hold_path) and
// published by release_held_paths once the last of them is, so the cache
// never serves a path whose closure it lacks and `attic push` still works.
#pragma once

#include "metadata/metadata_store.hpp"

#include <chrono>

namespace nixedge::lab {

enum class Publication { published, unchanged, held };

// `narinfo` is signed and names its NAR by manifest. A cache that allows
// upstream references publishes at once, as publish_path does.
Result<Publication> publish_or_hold(MetadataStore& metadata, const Cache& cache,
                                    const NarInfo& narinfo, std::chrono::seconds hold_for);

// Publishes the cache's held paths whose references are all there now, again
// and again while that makes more of them publishable. Returns how many. A
// hold that fails to publish is left to expire; only a failure to read the
// holds is an error.
Result<std::size_t> release_held_paths(MetadataStore& metadata, const Cache& cache);

} // namespace nixedge::lab
