// Object storage behind four calls (exists, put, get, remove), plus remove_many
// for deleting in bulk, so everything above it (ingest, the outbox, reads, GC,
// fsck) is written once for the local directory and for S3. Keys are bucket
// keys made by nixedge::bucket_key.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace nixedge::lab {

// Longest key accepted; S3 allows 1024 bytes and our keys are far shorter.
inline constexpr std::size_t max_object_key_length = 1024;

// A bucket key: '/'-separated segments, none empty and none starting with '.'
// (which also rules out "." and ".."), no leading '/', no backslash, no control
// characters. Dot-names are reserved so a backend's temporary files can never
// be mistaken for an object.
Result<void> validate_object_key(std::string_view key);

// Streams one object. Objects are immutable, so a reader sees the whole object
// it opened even if the key is removed or rewritten meanwhile.
class ObjectReader {
  public:
    virtual ~ObjectReader() = default;
    // The object's length in bytes.
    virtual std::uint64_t size() const = 0;
    // Fills up to out.size() bytes; 0 only at the end of the object.
    virtual Result<std::size_t> read(std::span<std::uint8_t> out) = 0;
};

// Every call is safe from any thread at the same time. Errors: invalid_argument
// (bad key), not_found (get of a missing object), storage_unavailable (the
// backend failed: disk full, permission, I/O, network).
class Storage {
  public:
    virtual ~Storage() = default;
    virtual Result<bool> exists(std::string_view key) = 0;
    // Atomic: readers see the old state or the whole new object, never a part.
    // Objects are small (chunks of at most 4 MiB, manifests, narinfos), so the
    // bytes come whole rather than as a stream.
    virtual Result<void> put(std::string_view key, ByteView bytes) = 0;
    virtual Result<std::unique_ptr<ObjectReader>> get(std::string_view key) = 0;
    // Idempotent: removing a missing object succeeds.
    virtual Result<void> remove(std::string_view key) = 0;
    // Removes every key, idempotent like remove (missing keys are fine). Every
    // key is checked before anything is removed (invalid_argument). On a
    // failure nothing is promised about which keys were removed: the caller
    // retries them all. This one removes them one at a time; S3 sends up to
    // 1000 in one request (DeleteObjects).
    virtual Result<void> remove_many(std::span<const std::string> keys);
};

// Reads a whole object; limit_exceeded if it is longer than max_size.
Result<Bytes> read_object(Storage& storage, std::string_view key, std::uint64_t max_size);

} // namespace nixedge::lab
