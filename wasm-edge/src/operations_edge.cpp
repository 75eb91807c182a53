#include "operations.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/cache_path.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/keys.hpp"
#include "nixedge/manifest.hpp"
#include "nixedge/narinfo.hpp"
#include "nixedge/range.hpp"
#include "nixedge/sha256.hpp"
#include "nixedge/store_path.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

namespace nixedge::edge {

namespace {

// Just enough JSON writing for objects of strings, numbers, string arrays and
// nested values written by another JsonObject. Always valid UTF-8: bytes that are not UTF-8 become
// U+FFFD (the narinfo parser accepts any bytes in free-text fields such as System).
class JsonObject {
  public:
    JsonObject& field(std::string_view key, std::string_view value) {
        name(key);
        quote(value);
        return *this;
    }
    JsonObject& field(std::string_view key, std::uint64_t value) {
        name(key);
        out_ += std::to_string(value);
        return *this;
    }
    JsonObject& null_field(std::string_view key) { return json_field(key, "null"); }
    // `json` is written as it is: a finished JsonObject, or an array of them.
    JsonObject& json_field(std::string_view key, std::string_view json) {
        name(key);
        out_ += json;
        return *this;
    }
    template <class Range, class Project>
    JsonObject& array(std::string_view key, const Range& items, Project project) {
        name(key);
        out_ += '[';
        bool first = true;
        for (const auto& item : items) {
            if (!first)
                out_ += ',';
            first = false;
            quote(project(item));
        }
        out_ += ']';
        return *this;
    }
    std::string finish() { return std::move(out_) + "}"; }

  private:
    void name(std::string_view key) {
        if (out_.size() > 1)
            out_ += ',';
        quote(key);
        out_ += ':';
    }
    void quote(std::string_view text) {
        out_ += '"';
        for (std::size_t i = 0; i < text.size();) {
            char c = text[i];
            if (static_cast<unsigned char>(c) >= 0x80) {
                // JSON must be UTF-8: copy valid sequences, replace each byte
                // that does not start one with U+FFFD (as TextDecoder would).
                std::size_t n = utf8_sequence_length(text.substr(i));
                if (n == 0) {
                    out_ += "\xef\xbf\xbd";
                    ++i;
                } else {
                    out_ += text.substr(i, n);
                    i += n;
                }
                continue;
            }
            if (c == '"' || c == '\\') {
                out_ += '\\';
                out_ += c;
            } else if (c < 0x20) {
                // Not snprintf: printf would add ~90 KB of libc to the module.
                out_ += "\\u00";
                out_ += "0123456789abcdef"[c >> 4];
                out_ += "0123456789abcdef"[c & 0xf];
            } else {
                out_ += c;
            }
            ++i;
        }
        out_ += '"';
    }

    // Length of the well-formed UTF-8 sequence at the start of `s` (which
    // starts with a byte >= 0x80), or 0 if it is not one (RFC 3629: no
    // overlong forms, no surrogates, nothing above U+10FFFF).
    static std::size_t utf8_sequence_length(std::string_view s) {
        auto byte = [&](std::size_t k) {
            return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u;
        };
        unsigned b0 = byte(0);
        std::size_t n = b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc2 ? 2 : 0;
        if (n == 0 || b0 > 0xf4)
            return 0;
        // The allowed range of the second byte depends on the first.
        unsigned lo = 0x80, hi = 0xbf;
        if (b0 == 0xe0)
            lo = 0xa0;
        else if (b0 == 0xed)
            hi = 0x9f;
        else if (b0 == 0xf0)
            lo = 0x90;
        else if (b0 == 0xf4)
            hi = 0x8f;
        if (byte(1) < lo || byte(1) > hi)
            return 0;
        for (std::size_t k = 2; k < n; ++k)
            if (byte(k) < 0x80 || byte(k) > 0xbf)
                return 0;
        return n;
    }

    std::string out_ = "{";
};

Result<TrustedKeys> parse_trusted_keys(std::string_view text) {
    TrustedKeys keys;
    constexpr std::string_view space = " \t\r\n";
    while (true) {
        auto start = text.find_first_not_of(space);
        if (start == std::string_view::npos)
            break;
        text.remove_prefix(start);
        auto key = parse_public_key(text.substr(0, text.find_first_of(space)));
        if (!key)
            return key.error();
        if (auto added = keys.add(std::move(key).value()); !added)
            return added.error();
        text.remove_prefix(std::min(text.size(), text.find_first_of(space)));
    }
    if (keys.empty())
        return make_error(ErrorCode::invalid_key, "no trusted keys given");
    return keys;
}

} // namespace

std::string hex_encode(ByteView data) {
    return encoding::to_hex(data);
}
Result<Bytes> hex_decode(ByteView text) {
    return encoding::from_hex(as_chars(text));
}

std::string nix32_encode(ByteView data) {
    return encoding::to_nix32(data);
}
Result<Bytes> nix32_decode(ByteView text, std::uint32_t byte_count) {
    return encoding::from_nix32(as_chars(text), byte_count);
}

std::string base64_encode(ByteView data) {
    return encoding::to_base64(data);
}
Result<Bytes> base64_decode(ByteView text) {
    return encoding::from_base64(as_chars(text));
}

Bytes sha256(ByteView data) {
    auto digest = Sha256::digest(data);
    return Bytes(digest.begin(), digest.end());
}

Result<std::string> narinfo_parse(ByteView text) {
    auto info = parse_narinfo(as_chars(text));
    if (!info)
        return info.error();
    JsonObject json;
    json.field("storePath", info->store_path.full()).field("storeHash", info->store_path.hash);
    json.field("url", info->url).field("compression", info->compression);
    if (info->file_hash)
        json.field("fileHash", info->file_hash->to_string());
    else
        json.null_field("fileHash");
    if (info->file_size)
        json.field("fileSize", *info->file_size);
    else
        json.null_field("fileSize");
    json.field("narHash", info->nar_hash.to_string()).field("narSize", info->nar_size);
    json.array("references", info->references, [](const StorePath& p) { return p.base_name(); });
    if (info->deriver)
        json.field("deriver", info->deriver->base_name());
    else
        json.null_field("deriver");
    json.field("system", info->system);
    json.array("signatures", info->signatures,
               [](const std::string& s) { return std::string_view(s); });
    json.field("ca", info->ca);
    return json.finish();
}

Result<std::string> narinfo_canonical(ByteView text) {
    auto info = parse_narinfo(as_chars(text));
    if (!info)
        return info.error();
    return serialize_narinfo(*info);
}

Result<std::string> narinfo_fingerprint(ByteView text) {
    auto info = parse_narinfo(as_chars(text));
    if (!info)
        return info.error();
    return nixedge::narinfo_fingerprint(*info);
}

namespace {

// The name of the trusted key (of `trusted_keys`, as narinfo_verify takes
// them) whose signature of `info` verifies; bad_signature if none does.
Result<std::string> trusted_signer(const NarInfo& info, ByteView trusted_keys) {
    auto keys = parse_trusted_keys(as_chars(trusted_keys));
    if (!keys)
        return keys.error();
    auto signer = verify_narinfo(info, *keys);
    if (!signer)
        return make_error(ErrorCode::bad_signature, "no signature by a trusted key verifies");
    return *signer;
}

} // namespace

Result<std::string> narinfo_verify(ByteView text, ByteView trusted_keys) {
    auto info = parse_narinfo(as_chars(text));
    if (!info)
        return info.error();
    return trusted_signer(*info, trusted_keys);
}

Result<std::string> public_key_parse(ByteView text) {
    auto key = parse_public_key(as_chars(text));
    if (!key)
        return key.error();
    return key->to_string();
}

Result<std::string> signature_verify(ByteView public_key, ByteView message, ByteView signature) {
    auto key = parse_public_key(as_chars(public_key));
    if (!key)
        return key.error();
    auto sig = parse_signature(as_chars(signature));
    if (!sig)
        return sig.error();
    if (!verify(*key, as_chars(message), *sig))
        return make_error(ErrorCode::bad_signature, "Ed25519 signature does not verify");
    return std::string();
}

// --- manifests and Range ----------------------------------------------------------

namespace {

std::string span_json(const ChunkSpan& span) {
    return JsonObject()
        .field("firstChunk", span.first_chunk)
        .field("firstOffset", span.first_offset)
        .field("lastChunk", span.last_chunk)
        .field("lastEnd", span.last_end)
        .finish();
}

std::optional<Sha256Digest> lowercase_hex_digest(std::string_view text) {
    if (text.size() != 64 || text.find_first_not_of("0123456789abcdef") != std::string_view::npos)
        return std::nullopt;
    Sha256Digest digest{};
    auto bytes = encoding::from_hex(text);
    std::copy(bytes->begin(), bytes->end(), digest.begin());
    return digest;
}

} // namespace

Result<std::string> manifest_decode(ByteView bytes) {
    auto manifest = decode_manifest(bytes);
    if (!manifest)
        return manifest.error();
    std::string chunks = "[";
    for (const auto& chunk : manifest->chunks) {
        if (chunks.size() > 1)
            chunks += ',';
        chunks += JsonObject()
                      .field("hash", encoding::to_hex(chunk.hash))
                      .field("rawSize", chunk.raw_size)
                      .field("storedSize", chunk.stored_size)
                      .finish();
    }
    chunks += ']';
    return JsonObject()
        .field("name", nixedge::manifest_name(bytes))
        .field("narHash", "sha256:" + encoding::to_nix32(manifest->nar_hash))
        .field("narSize", manifest->nar_size)
        .field("storedSize", manifest->stored_size())
        .json_field("chunks", chunks)
        .finish();
}

std::string manifest_name(ByteView bytes) {
    return nixedge::manifest_name(bytes);
}

namespace {

// The chunks a span covers, as [{"key", "storedSize"}, ...].
std::string span_chunks_json(const ChunkManifest& manifest, const ChunkSpan& span) {
    std::string chunks = "[";
    for (auto i = span.first_chunk; i <= span.last_chunk; ++i) {
        if (chunks.size() > 1)
            chunks += ',';
        const auto& chunk = manifest.chunks[i];
        chunks += JsonObject()
                      .field("key", bucket_key::chunk(chunk.hash))
                      .field("storedSize", chunk.stored_size)
                      .finish();
    }
    return chunks + "]";
}

// The range_plan answer; with_chunks adds the nar_plan "chunks" field.
Result<std::string> plan_answer(const ChunkManifest& manifest, ByteView range_header,
                                bool with_chunks) {
    const std::uint64_t total = manifest.stored_size();
    JsonObject answer;
    auto range = parse_range_header(as_chars(range_header), total);
    if (!range) { // range_not_satisfiable: the only error parse_range_header returns
        answer.field("status", std::uint64_t{416})
            .null_field("first")
            .null_field("last")
            .null_field("contentLength")
            .field("contentRange", content_range_unsatisfied(total))
            .field("storedSize", total)
            .null_field("span");
        if (with_chunks)
            answer.json_field("chunks", "[]");
        return answer.finish();
    }
    std::optional<ByteRange> bytes = *range;
    if (bytes) {
        answer.field("status", std::uint64_t{206})
            .field("first", bytes->first)
            .field("last", bytes->last)
            .field("contentLength", bytes->length())
            .field("contentRange", content_range(*bytes, total));
    } else {
        answer.field("status", std::uint64_t{200})
            .null_field("first")
            .null_field("last")
            .field("contentLength", total)
            .null_field("contentRange");
        if (total > 0)
            bytes = ByteRange{0, total - 1};
    }
    answer.field("storedSize", total);
    if (!bytes) { // an empty NAR body: nothing to fetch
        answer.null_field("span");
        if (with_chunks)
            answer.json_field("chunks", "[]");
        return answer.finish();
    }
    auto span = plan_chunk_span(manifest, *bytes);
    if (!span)
        return span.error();
    answer.json_field("span", span_json(*span));
    if (with_chunks)
        answer.json_field("chunks", span_chunks_json(manifest, *span));
    return answer.finish();
}

} // namespace

Result<std::string> range_plan(ByteView manifest_bytes, ByteView range_header) {
    auto manifest = decode_manifest(manifest_bytes);
    if (!manifest)
        return manifest.error();
    return plan_answer(*manifest, range_header, false);
}

// --- serving a cache ----------------------------------------------------------------

Result<std::string> route(ByteView path, ByteView default_cache) {
    auto parsed = parse_cache_path(as_chars(path), as_chars(default_cache));
    if (!parsed)
        return parsed.error();
    JsonObject json;
    switch (parsed->object) {
    case CacheObject::nix_cache_info:
        json.field("object", "nix_cache_info").field("cache", parsed->cache).field("hash", "");
        json.field("key", bucket_key::nix_cache_info(parsed->cache)).field("narinfoKey", "");
        break;
    case CacheObject::narinfo:
        json.field("object", "narinfo").field("cache", parsed->cache);
        json.field("hash", parsed->store_hash);
        json.field("key", bucket_key::narinfo(parsed->cache, parsed->store_hash));
        json.field("narinfoKey", "");
        break;
    case CacheObject::listing:
        json.field("object", "listing").field("cache", parsed->cache);
        json.field("hash", parsed->store_hash);
        json.field("key", bucket_key::listing(parsed->cache, parsed->store_hash));
        json.field("narinfoKey", bucket_key::narinfo(parsed->cache, parsed->store_hash));
        break;
    case CacheObject::nar:
        json.field("object", "nar").field("cache", parsed->cache);
        json.field("hash", encoding::to_hex(parsed->manifest));
        json.field("key", bucket_key::manifest(parsed->manifest)).field("narinfoKey", "");
        break;
    }
    return json.finish();
}

Result<std::string> narinfo_check(ByteView text, ByteView trusted_keys, ByteView store_hash) {
    auto info = parse_narinfo(as_chars(text));
    if (!info)
        return info.error();
    if (info->store_path.hash != as_chars(store_hash))
        return make_error(ErrorCode::invalid_narinfo, "narinfo of " + info->store_path.full() +
                                                          " stored under hash " +
                                                          std::string(as_chars(store_hash)));
    auto manifest = parse_nar_url(info->url);
    if (!manifest || info->compression != "zstd")
        return make_error(ErrorCode::invalid_narinfo, "narinfo URL '" + info->url +
                                                          "' (Compression: " + info->compression +
                                                          ") names no manifest of this bucket");
    auto signer = trusted_signer(*info, trusted_keys);
    if (!signer)
        return signer.error();
    JsonObject json;
    json.field("signer", *signer).field("manifest", encoding::to_hex(*manifest));
    json.field("manifestKey", bucket_key::manifest(*manifest)).field("narSize", info->nar_size);
    if (info->file_size)
        json.field("fileSize", *info->file_size);
    else
        json.null_field("fileSize");
    return json.finish();
}

Result<std::string> nar_plan(ByteView manifest_bytes, ByteView name, ByteView range_header) {
    if (nixedge::manifest_name(manifest_bytes) != as_chars(name))
        return make_error(ErrorCode::invalid_manifest, "the object read as manifest " +
                                                           std::string(as_chars(name)) +
                                                           " does not hash to that name");
    auto manifest = decode_manifest(manifest_bytes);
    if (!manifest)
        return manifest.error();
    return plan_answer(*manifest, range_header, true);
}

// --- names -------------------------------------------------------------------------

Result<std::string> store_path_parse(ByteView text) {
    auto path = parse_store_path(as_chars(text));
    if (!path)
        return path.error();
    return JsonObject()
        .field("storePath", path->full())
        .field("hash", path->hash)
        .field("name", path->name)
        .finish();
}

Result<std::string> cache_name_validate(ByteView name) {
    if (auto valid = validate_cache_name(as_chars(name)); !valid)
        return valid.error();
    return std::string();
}

Result<std::string> nar_url_parse(ByteView url) {
    auto hash = parse_nar_url(as_chars(url));
    if (!hash)
        return hash.error();
    return encoding::to_hex(*hash);
}

Result<std::string> bucket_key(ByteView kind_bytes, ByteView cache_bytes, ByteView hash_bytes) {
    const auto kind = as_chars(kind_bytes), cache = as_chars(cache_bytes),
               hash = as_chars(hash_bytes);
    enum Takes { nothing, digest, cache_only, cache_and_store_hash };
    auto takes = [&]() -> std::optional<Takes> {
        if (kind == "layout_marker" || kind == "sync_plan" || kind == "sync_status")
            return nothing;
        if (kind == "chunk" || kind == "manifest")
            return digest;
        if (kind == "nix_cache_info")
            return cache_only;
        if (kind == "narinfo" || kind == "listing")
            return cache_and_store_hash;
        return std::nullopt;
    }();
    if (!takes)
        return make_error(ErrorCode::invalid_argument,
                          "unknown bucket key kind '" + std::string(kind) + "'");
    const bool wants_cache = *takes == cache_only || *takes == cache_and_store_hash;
    const bool wants_hash = *takes == digest || *takes == cache_and_store_hash;
    if (!wants_cache && !cache.empty())
        return make_error(ErrorCode::invalid_argument,
                          "bucket key kind '" + std::string(kind) + "' takes no cache name");
    if (!wants_hash && !hash.empty())
        return make_error(ErrorCode::invalid_argument,
                          "bucket key kind '" + std::string(kind) + "' takes no hash");
    if (wants_cache)
        if (auto valid = validate_cache_name(cache); !valid)
            return valid.error();
    switch (*takes) {
    case nothing:
        return kind == "layout_marker" ? bucket_key::layout_marker()
               : kind == "sync_plan"   ? bucket_key::sync_plan()
                                       : bucket_key::sync_status();
    case digest: {
        auto parsed = lowercase_hex_digest(hash);
        if (!parsed)
            return make_error(ErrorCode::invalid_argument,
                              std::string(kind) + " hash must be 64 lowercase hex digits");
        return kind == "chunk" ? bucket_key::chunk(*parsed) : bucket_key::manifest(*parsed);
    }
    case cache_only:
        return bucket_key::nix_cache_info(cache);
    case cache_and_store_hash:
        if (auto valid = validate_store_hash(hash); !valid)
            return valid.error();
        return kind == "narinfo" ? bucket_key::narinfo(cache, hash)
                                 : bucket_key::listing(cache, hash);
    }
    return make_error(ErrorCode::internal, "unreachable");
}

} // namespace nixedge::edge
