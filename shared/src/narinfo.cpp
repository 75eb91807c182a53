#include "nixedge/narinfo.hpp"

#include <algorithm>
#include <charconv>

namespace nixedge {

namespace {

// Fields that may appear at most once; Sig may repeat.
enum class Field {
    store_path,
    url,
    compression,
    file_hash,
    file_size,
    nar_hash,
    nar_size,
    references,
    deriver,
    system,
    ca,
    count
};

struct FieldName {
    std::string_view text;
    Field field;
};

constexpr FieldName field_names[] = {
    {"StorePath", Field::store_path},
    {"URL", Field::url},
    {"Compression", Field::compression},
    {"FileHash", Field::file_hash},
    {"FileSize", Field::file_size},
    {"NarHash", Field::nar_hash},
    {"NarSize", Field::nar_size},
    {"References", Field::references},
    {"Deriver", Field::deriver},
    {"System", Field::system},
    {"CA", Field::ca},
};

class NarInfoParser {
  public:
    Result<NarInfo> parse(std::string_view text) {
        if (text.size() > narinfo_max_bytes)
            return make_error(ErrorCode::invalid_narinfo, "narinfo is larger than 1 MiB");
        while (!text.empty()) {
            ++line_;
            auto eol = text.find('\n');
            if (eol == std::string_view::npos)
                return fail("line does not end with a newline");
            if (auto ok = parse_line(text.substr(0, eol)); !ok)
                return ok.error();
            text.remove_prefix(eol + 1);
        }
        return finish();
    }

  private:
    Error fail(std::string detail) const {
        return make_error(ErrorCode::invalid_narinfo,
                          "line " + std::to_string(line_) + ": " + std::move(detail));
    }

    Result<void> parse_line(std::string_view line) {
        auto colon = line.find(": ");
        if (colon == std::string_view::npos)
            return fail("expected 'Name: value'");
        auto name = line.substr(0, colon);
        auto value = line.substr(colon + 2);
        if (name == "Sig")
            return add_signature(value);
        auto known = std::find_if(std::begin(field_names), std::end(field_names),
                                  [&](const FieldName& f) { return f.text == name; });
        if (known == std::end(field_names))
            return fail("unknown field '" + std::string(name) + "'");
        auto index = static_cast<std::size_t>(known->field);
        if (seen_[index])
            return fail("field '" + std::string(name) + "' appears twice");
        seen_[index] = true;
        return parse_field(known->field, value);
    }

    Result<void> parse_field(Field field, std::string_view value) {
        switch (field) {
        case Field::store_path:
            return parse_into(info_.store_path, parse_store_path(value));
        case Field::url:
            return parse_url(value);
        case Field::compression:
            return parse_compression(value);
        case Field::file_hash:
            return parse_optional_hash(value);
        case Field::file_size:
            return parse_file_size(value);
        case Field::nar_hash:
            return parse_into(info_.nar_hash, parse_nix_hash(value));
        case Field::nar_size:
            return parse_number(value, info_.nar_size);
        case Field::references:
            return parse_references(value);
        case Field::deriver:
            return parse_deriver(value);
        case Field::system:
            return parse_plain(value, info_.system);
        case Field::ca:
            return parse_plain(value, info_.ca);
        case Field::count:
            break;
        }
        return fail("internal: unhandled field");
    }

    template <class T> Result<void> parse_into(T& target, Result<T> parsed) {
        if (!parsed)
            return fail(parsed.error().detail);
        target = std::move(parsed).value();
        return {};
    }

    Result<void> parse_plain(std::string_view value, std::string& target) {
        if (value.empty())
            return fail("empty value");
        target = value;
        return {};
    }

    Result<void> parse_url(std::string_view value) {
        if (value.empty() || value.find_first_of(" \t\r") != std::string_view::npos)
            return fail("URL is empty or contains whitespace");
        info_.url = value;
        return {};
    }

    Result<void> parse_compression(std::string_view value) {
        if (value.empty() || value.find_first_of(" \t\r") != std::string_view::npos)
            return fail("Compression is empty or contains whitespace");
        info_.compression = value;
        return {};
    }

    Result<void> parse_optional_hash(std::string_view value) {
        NixHash hash;
        if (auto ok = parse_into(hash, parse_nix_hash(value)); !ok)
            return ok;
        info_.file_hash = hash;
        return {};
    }

    Result<void> parse_file_size(std::string_view value) {
        std::uint64_t size = 0;
        if (auto ok = parse_number(value, size); !ok)
            return ok;
        info_.file_size = size;
        return {};
    }

    // Decimal digits only, no sign, no leading zeros, fits in 64 bits.
    Result<void> parse_number(std::string_view value, std::uint64_t& target) {
        bool canonical = !value.empty() && (value == "0" || value[0] != '0') &&
                         value.find_first_not_of("0123456789") == std::string_view::npos;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), target);
        if (!canonical || ec != std::errc() || end != value.data() + value.size())
            return fail("'" + std::string(value) + "' is not a canonical unsigned 64-bit number");
        return {};
    }

    Result<void> parse_references(std::string_view value) {
        while (!value.empty()) {
            auto space = value.find(' ');
            auto token = value.substr(0, space);
            auto path = parse_store_base_name(token);
            if (!path)
                return fail(path.error().detail);
            info_.references.push_back(std::move(path).value());
            if (space == std::string_view::npos)
                break;
            value.remove_prefix(space + 1);
            if (value.empty())
                return fail("References ends with a space");
        }
        return {};
    }

    Result<void> parse_deriver(std::string_view value) {
        if (value == "unknown-deriver")
            return {};
        auto path = parse_store_base_name(value);
        if (!path)
            return fail(path.error().detail);
        info_.deriver = std::move(path).value();
        return {};
    }

    Result<void> add_signature(std::string_view value) {
        if (auto sig = parse_signature(value); !sig)
            return fail(sig.error().detail);
        info_.signatures.emplace_back(value);
        return {};
    }

    Result<NarInfo> finish() {
        line_ = 0;
        for (auto required : {Field::store_path, Field::url, Field::nar_hash, Field::nar_size})
            if (!seen_[static_cast<std::size_t>(required)])
                return make_error(
                    ErrorCode::invalid_narinfo,
                    "missing required field " +
                        std::string(field_names[static_cast<std::size_t>(required)].text));
        if (info_.nar_size == 0)
            return make_error(ErrorCode::invalid_narinfo, "NarSize is zero");
        normalize_sets(info_);
        return std::move(info_);
    }

    static void normalize_sets(NarInfo& info) {
        std::sort(info.references.begin(), info.references.end());
        info.references.erase(std::unique(info.references.begin(), info.references.end()),
                              info.references.end());
        std::sort(info.signatures.begin(), info.signatures.end());
        info.signatures.erase(std::unique(info.signatures.begin(), info.signatures.end()),
                              info.signatures.end());
    }

    NarInfo info_;
    bool seen_[static_cast<std::size_t>(Field::count)] = {};
    std::size_t line_ = 0;
};

std::string join_base_names(const std::vector<StorePath>& paths) {
    std::string out;
    for (const auto& path : paths) {
        if (!out.empty())
            out += ' ';
        out += path.base_name();
    }
    return out;
}

} // namespace

Result<NarInfo> parse_narinfo(std::string_view text) {
    return NarInfoParser().parse(text);
}

std::string serialize_narinfo(const NarInfo& info) {
    std::string out;
    out += "StorePath: " + info.store_path.full() + "\n";
    out += "URL: " + info.url + "\n";
    out += "Compression: " + info.compression + "\n";
    if (info.file_hash)
        out += "FileHash: " + info.file_hash->to_string() + "\n";
    if (info.file_size)
        out += "FileSize: " + std::to_string(*info.file_size) + "\n";
    out += "NarHash: " + info.nar_hash.to_string() + "\n";
    out += "NarSize: " + std::to_string(info.nar_size) + "\n";
    out += "References: " + join_base_names(info.references) + "\n";
    if (info.deriver)
        out += "Deriver: " + info.deriver->base_name() + "\n";
    if (!info.system.empty())
        out += "System: " + info.system + "\n";
    for (const auto& sig : info.signatures)
        out += "Sig: " + sig + "\n";
    if (!info.ca.empty())
        out += "CA: " + info.ca + "\n";
    return out;
}

std::string narinfo_fingerprint(const NarInfo& info) {
    std::string refs;
    for (const auto& path : info.references) {
        if (!refs.empty())
            refs += ',';
        refs += path.full();
    }
    return "1;" + info.store_path.full() + ";" + info.nar_hash.to_string() + ";" +
           std::to_string(info.nar_size) + ";" + refs;
}

void sign_narinfo(NarInfo& info, const SecretKey& key) {
    auto prefix = key.name + ":";
    std::erase_if(info.signatures, [&](const std::string& s) { return s.starts_with(prefix); });
    info.signatures.push_back(sign(key, narinfo_fingerprint(info)).to_string());
    std::sort(info.signatures.begin(), info.signatures.end());
}

std::optional<std::string> verify_narinfo(const NarInfo& info, const TrustedKeys& trusted) {
    return trusted.verify_any(narinfo_fingerprint(info), info.signatures);
}

} // namespace nixedge
