// Listing a bucket, kept apart from the four calls of Storage: only
// maintenance (fsck, later GC) enumerates objects, and everything that serves
// or ingests must never depend on a listing (the sync job copies from the
// plan for the same reason). LocalStorage implements it; S3 will with
// ListObjectsV2.
#pragma once

#include "nixedge/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace nixedge::lab {

struct ObjectInfo {
    std::string_view key; // valid during the visit only
    std::uint64_t size = 0;
    // When the object was last written, if the backend tells: it is what
    // keeps a maintenance task off objects an upload has only just written.
    std::optional<std::chrono::system_clock::time_point> last_modified;
};

// An error stops the listing and is what list() returns.
using ObjectVisitor = std::function<Result<void>(const ObjectInfo&)>;

class ObjectLister {
  public:
    virtual ~ObjectLister() = default;
    // Visits every object whose key starts with `prefix` ("" for the whole
    // bucket) in ascending byte order of keys, the order ListObjectsV2
    // returns: a caller can merge a listing with rows sorted the same way
    // instead of holding either side in memory. Objects written or removed
    // while a listing runs may or may not be visited; temporary files of a
    // backend never are.
    virtual Result<void> list(std::string_view prefix, const ObjectVisitor& visit) = 0;
};

} // namespace nixedge::lab
