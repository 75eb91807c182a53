// Decoding of NARs that Nix uploads compressed. Nix names the file after the
// compression it chose (`nix copy --to 'http://...?compression=xz'` PUTs
// nar/<filehash>.nar.xz) and sends no Content-Encoding, so the file name
// decides. Push-style like the core: feed compressed bytes, the sink gets the
// NAR bytes; nothing is buffered beyond one output block.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <functional>
#include <memory>
#include <string_view>

namespace nixedge::lab {

enum class UploadCompression { none, xz, bzip2, zstd, brotli };

std::string_view compression_name(UploadCompression compression);

// "<hash>.nar" -> none, ".nar.xz", ".nar.bz2", ".nar.zst", ".nar.br"; else an error.
Result<UploadCompression> compression_from_nar_file_name(std::string_view file_name);

using ByteSink = std::function<Result<void>(ByteView)>;

class UploadDecoder {
  public:
    virtual ~UploadDecoder() = default;
    // Decodes `input`, passing every decoded piece to `sink` (which may fail
    // and so stop the upload).
    virtual Result<void> feed(ByteView input, const ByteSink& sink) = 0;
    // Ends the upload; fails on a truncated stream.
    virtual Result<void> finish(const ByteSink& sink) = 0;
};

Result<std::unique_ptr<UploadDecoder>> make_upload_decoder(UploadCompression compression);

} // namespace nixedge::lab
