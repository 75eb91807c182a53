// Lab reads of narinfos, for GC's retention: a path read in the lab counts
// as recently used (the edge's reads never reach the lab). Only caches with
// a retention count reads (routes/narinfo_routes.cpp): a retention set later
// counts from the last push or counted read. Reads are counted
// in memory, so a narinfo GET writes nothing to the database, and written in
// batches by flush() (the server's maintenance thread calls it every minute,
// before every GC run and at shutdown). A read not yet flushed when the
// process dies is lost: it only made a path live a little longer.
#pragma once

#include "metadata/metadata_store.hpp"

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace nixedge::lab {

class AccessRecorder {
  public:
    void record(std::string_view cache, std::string_view store_hash);
    // Writes the reads recorded so far as read at `now`; on failure they are
    // kept for the next flush.
    Result<void> flush(MetadataStore& metadata, UnixTime now);

  private:
    using Reads = std::map<std::string, std::set<std::string>, std::less<>>;
    std::mutex mutex_;
    Reads reads_;
};

} // namespace nixedge::lab
