// The one ingest path (DESIGN.md invariant 6): an upload body in, a NAR
// recorded in the database out, whatever the protocol (Nix's NAR PUT, Attic's
// upload-path, `nixedge push`). The body is pulled piece by piece and every
// piece goes through NarUpload on the worker pool before the next is read,
// so a fast client is slowed to the pace of hashing and compression and no
// more than one chunk is held. When the result is returned, the chunks and
// the manifest are durable in the bucket and the NAR row is committed;
// whether it gets published is up to the caller, who holds the narinfo.
#pragma once

#include "http/message.hpp"
#include "ingest/nar_upload.hpp"
#include "metadata/metadata_store.hpp"
#include "storage/storage.hpp"

#include <boost/asio/awaitable.hpp>

namespace nixedge::lab {

struct IngestedUpload {
    StagedNar staged;
    NarRecord nar;
};

struct IngestTarget {
    MetadataStore& metadata;
    Storage& storage;
};

boost::asio::awaitable<Result<IngestedUpload>>
ingest_upload(http::RequestBody& body, http::Workers& workers, UploadCompression compression,
              const NarUploadOptions& options, IngestTarget target);

} // namespace nixedge::lab
