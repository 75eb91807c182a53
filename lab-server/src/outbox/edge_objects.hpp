// The bucket objects the edge reads, rendered from the database as it is now.
// The outbox's `regenerate` entries and fsck both come here, so an object is
// always rebuilt the same way.
#pragma once

#include "metadata/metadata_store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace nixedge::lab {

// The bytes `key` should hold now, or nullopt when it should not exist (its
// path or cache is gone, or the cache is not on the edge). Chunks and
// manifests are not edge objects (ingest writes them): invalid_argument.
Result<std::optional<std::string>> render_edge_object(MetadataStore& metadata,
                                                      std::string_view key);

} // namespace nixedge::lab
