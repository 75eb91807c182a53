#include "nixedge/manifest.hpp"

#include "nixedge/encoding.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace nixedge {

namespace {

constexpr std::string_view magic = "nixedge-manifest";
constexpr std::string_view nar_hash_prefix = "sha256:";

// The longest line any valid manifest has: "chunk " + 64 hex + two 10-digit sizes.
constexpr std::uint64_t max_chunk_line = 6 + 64 + 1 + 10 + 1 + 10 + 1;
static_assert(128 + max_manifest_chunks * max_chunk_line <= max_manifest_bytes,
              "every manifest within the chunk limit must also fit the byte limit");

Error invalid(std::string detail) {
    return make_error(ErrorCode::invalid_manifest, std::move(detail));
}

Error invalid_at(std::uint64_t line, std::string_view detail) {
    return invalid("manifest line " + std::to_string(line) + ": " + std::string(detail));
}

// ---- canonical tokens ----

// Decimal with no sign, no leading zero (but "0" itself) and no overflow.
std::optional<std::uint64_t> parse_canonical_u64(std::string_view text) {
    if (text.empty() || (text.size() > 1 && text[0] == '0'))
        return std::nullopt;
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

// Lowercase hex only: to_hex's output and nothing else.
std::optional<Sha256Digest> parse_canonical_hex_digest(std::string_view text) {
    bool lowercase_hex = std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
    if (text.size() != 64 || !lowercase_hex)
        return std::nullopt;
    auto bytes = encoding::from_hex(text);
    Sha256Digest digest{};
    std::copy(bytes->begin(), bytes->end(), digest.begin());
    return digest;
}

std::optional<Sha256Digest> parse_nix32_digest(std::string_view text) {
    auto bytes = encoding::from_nix32(text, 32);
    if (!bytes)
        return std::nullopt;
    Sha256Digest digest{};
    std::copy(bytes->begin(), bytes->end(), digest.begin());
    return digest;
}

// Splits "key rest" at the first space; an empty key or rest is not canonical.
std::optional<std::pair<std::string_view, std::string_view>>
split_first_space(std::string_view line) {
    auto space = line.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 == line.size())
        return std::nullopt;
    return std::pair{line.substr(0, space), line.substr(space + 1)};
}

// Yields '\n'-terminated lines, numbered from 1; a missing final newline is an error.
class LineReader {
  public:
    explicit LineReader(std::string_view text) : text_(text) {}

    bool at_end() const { return offset_ == text_.size(); }
    std::uint64_t number() const { return number_; }

    Result<std::string_view> next() {
        ++number_;
        if (at_end())
            return invalid_at(number_, "unexpected end of manifest");
        auto newline = text_.find('\n', offset_);
        if (newline == std::string_view::npos)
            return invalid_at(number_, "missing final newline");
        auto line = text_.substr(offset_, newline - offset_);
        offset_ = newline + 1;
        return line;
    }

  private:
    std::string_view text_;
    std::size_t offset_ = 0;
    std::uint64_t number_ = 0;
};

// ---- the three header lines and the chunk lines ----

Result<void> parse_version_line(LineReader& lines) {
    if (lines.at_end())
        return invalid("not a nixedge manifest: it is empty");
    auto line = lines.next();
    if (!line)
        return line.error();
    auto fields = split_first_space(*line);
    if (!fields || fields->first != magic)
        return invalid_at(1, "not a nixedge manifest (expected \"nixedge-manifest 1\")");
    auto version = parse_canonical_u64(fields->second);
    if (!version)
        return invalid_at(1, "malformed manifest version");
    if (*version != manifest_version)
        return invalid_at(1, "unsupported manifest version " + std::to_string(*version) +
                                 " (this build reads version " + std::to_string(manifest_version) +
                                 ")");
    return {};
}

// Reads "key value" with the given key and returns the value.
Result<std::string_view> parse_keyed_line(LineReader& lines, std::string_view key) {
    auto line = lines.next();
    if (!line)
        return line.error();
    auto fields = split_first_space(*line);
    if (!fields || fields->first != key)
        return invalid_at(lines.number(), "expected \"" + std::string(key) + " <value>\"");
    return fields->second;
}

Result<ChunkRef> parse_chunk_line(std::string_view line, std::uint64_t number) {
    constexpr std::string_view prefix = "chunk ";
    if (!line.starts_with(prefix))
        return invalid_at(number, "expected \"chunk <sha256 hex> <raw size> <stored size>\"");
    auto rest = line.substr(prefix.size());
    auto hash_and_sizes = split_first_space(rest);
    if (!hash_and_sizes)
        return invalid_at(number, "malformed chunk line");
    auto sizes = split_first_space(hash_and_sizes->second);
    if (!sizes)
        return invalid_at(number, "malformed chunk line");
    auto hash = parse_canonical_hex_digest(hash_and_sizes->first);
    if (!hash)
        return invalid_at(number, "chunk hash must be 64 lowercase hex digits");
    auto raw = parse_canonical_u64(sizes->first);
    auto stored = parse_canonical_u64(sizes->second);
    if (!raw || !stored)
        return invalid_at(number, "chunk sizes must be canonical decimal numbers");
    if (*raw == 0 || *stored == 0)
        return invalid_at(number, "empty chunk");
    if (*raw > max_manifest_chunk_size || *stored > max_manifest_chunk_size)
        return make_error(ErrorCode::limit_exceeded,
                          "manifest line " + std::to_string(number) + ": chunk larger than " +
                              std::to_string(max_manifest_chunk_size) + " bytes");
    return ChunkRef{*hash, *raw, *stored};
}

Error too_many_chunks() {
    return make_error(ErrorCode::limit_exceeded,
                      "manifest has more than " + std::to_string(max_manifest_chunks) + " chunks");
}

} // namespace

std::uint64_t ChunkManifest::stored_size() const {
    std::uint64_t total = 0;
    for (const auto& chunk : chunks)
        total += chunk.stored_size;
    return total;
}

std::uint64_t ChunkManifest::raw_size() const {
    std::uint64_t total = 0;
    for (const auto& chunk : chunks)
        total += chunk.raw_size;
    return total;
}

// Sums cannot overflow: at most 2^17 chunks of at most 2^30 bytes each.
Result<void> validate_manifest(const ChunkManifest& manifest) {
    if (manifest.chunks.size() > max_manifest_chunks)
        return too_many_chunks();
    for (std::size_t i = 0; i < manifest.chunks.size(); ++i) {
        const auto& chunk = manifest.chunks[i];
        if (chunk.raw_size == 0 || chunk.stored_size == 0)
            return invalid("chunk " + std::to_string(i) + " is empty");
        if (chunk.raw_size > max_manifest_chunk_size || chunk.stored_size > max_manifest_chunk_size)
            return make_error(ErrorCode::limit_exceeded,
                              "chunk " + std::to_string(i) + " is larger than " +
                                  std::to_string(max_manifest_chunk_size) + " bytes");
    }
    if (manifest.raw_size() != manifest.nar_size)
        return invalid("chunk sizes add up to " + std::to_string(manifest.raw_size()) +
                       " bytes, but nar-size is " + std::to_string(manifest.nar_size));
    return {};
}

Result<std::string> encode_manifest(const ChunkManifest& manifest) {
    if (auto valid = validate_manifest(manifest); !valid)
        return valid.error();
    std::string out;
    out.reserve(128 + manifest.chunks.size() * max_chunk_line);
    out.append(magic).append(" ").append(std::to_string(manifest_version)).append("\n");
    out.append("nar-hash ")
        .append(nar_hash_prefix)
        .append(encoding::to_nix32(manifest.nar_hash))
        .append("\n");
    out.append("nar-size ").append(std::to_string(manifest.nar_size)).append("\n");
    for (const auto& chunk : manifest.chunks) {
        out.append("chunk ").append(encoding::to_hex(chunk.hash));
        out.append(" ").append(std::to_string(chunk.raw_size));
        out.append(" ").append(std::to_string(chunk.stored_size)).append("\n");
    }
    return out;
}

Result<ChunkManifest> decode_manifest(std::string_view text) {
    if (text.size() > max_manifest_bytes)
        return make_error(ErrorCode::limit_exceeded, "manifest is larger than " +
                                                         std::to_string(max_manifest_bytes) +
                                                         " bytes");
    LineReader lines(text);
    if (auto version = parse_version_line(lines); !version)
        return version.error();

    ChunkManifest manifest;
    auto nar_hash_text = parse_keyed_line(lines, "nar-hash");
    if (!nar_hash_text)
        return nar_hash_text.error();
    auto nar_hash = nar_hash_text->starts_with(nar_hash_prefix)
                        ? parse_nix32_digest(nar_hash_text->substr(nar_hash_prefix.size()))
                        : std::nullopt;
    if (!nar_hash)
        return invalid_at(lines.number(), "nar-hash must be sha256:<52 nix32 characters>");
    manifest.nar_hash = *nar_hash;

    auto nar_size_text = parse_keyed_line(lines, "nar-size");
    if (!nar_size_text)
        return nar_size_text.error();
    auto nar_size = parse_canonical_u64(*nar_size_text);
    if (!nar_size)
        return invalid_at(lines.number(), "nar-size must be a canonical decimal number");
    manifest.nar_size = *nar_size;

    std::uint64_t raw_total = 0;
    while (!lines.at_end()) {
        auto line = lines.next();
        if (!line)
            return line.error();
        if (manifest.chunks.size() == max_manifest_chunks)
            return too_many_chunks();
        auto chunk = parse_chunk_line(*line, lines.number());
        if (!chunk)
            return chunk.error();
        raw_total += chunk->raw_size;
        if (raw_total > manifest.nar_size)
            return invalid_at(lines.number(), "chunks hold more than nar-size bytes");
        manifest.chunks.push_back(*chunk);
    }
    if (raw_total != manifest.nar_size)
        return invalid("chunk sizes add up to " + std::to_string(raw_total) +
                       " bytes, but nar-size is " + std::to_string(manifest.nar_size));
    return manifest;
}

std::string manifest_name(ByteView encoded) {
    return encoding::to_hex(Sha256::digest(encoded));
}

} // namespace nixedge
