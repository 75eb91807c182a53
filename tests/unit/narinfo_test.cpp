#include "nixedge/narinfo.hpp"

#include "test_files.hpp"
#include <cstring>

#include <catch2/catch.hpp>

using namespace nixedge;

namespace {

const char* minimal_narinfo =
    "StorePath: /nix/store/z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep\n"
    "URL: nar/abc.nar.zst\n"
    "NarHash: sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv\n"
    "NarSize: 120\n";

std::string error_of(std::string_view text) {
    auto parsed = parse_narinfo(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code == ErrorCode::invalid_narinfo);
    return parsed.error().detail;
}

} // namespace

TEST_CASE("narinfos written by Nix round-trip byte for byte and verify", "[narinfo]") {
    auto dir = test::data_dir() / "nixcache";
    auto secret = parse_secret_key(test::trim_newline(test::read_file(dir / "sk")));
    REQUIRE(secret.ok());
    TrustedKeys trusted;
    REQUIRE(trusted.add(secret->public_key()).ok());

    auto files = test::files_with_suffix(dir / "cache", ".narinfo");
    REQUIRE(files.size() == 6);
    for (const auto& file : files) {
        INFO(file.filename().string());
        auto text = test::read_file(file);
        auto info = parse_narinfo(text);
        REQUIRE(info.ok());
        CHECK(serialize_narinfo(*info) == text);
        CHECK(verify_narinfo(*info, trusted) == std::optional<std::string>("nixedge-test-1"));

        // Ed25519 is deterministic: re-signing reproduces Nix's Sig line exactly.
        auto resigned = *info;
        resigned.signatures.clear();
        sign_narinfo(resigned, *secret);
        CHECK(resigned.signatures == info->signatures);
    }
}

TEST_CASE("narinfo fields: references, deriver, CA and optional fields", "[narinfo]") {
    auto dir = test::data_dir() / "nixcache" / "cache";
    for (const auto& file : test::files_with_suffix(dir, ".narinfo")) {
        auto info = parse_narinfo(test::read_file(file));
        REQUIRE(info.ok());
        if (info->store_path.name == "nixedge-top") {
            REQUIRE(info->references.size() == 2);
            CHECK(info->deriver.has_value());
            CHECK(info->ca.empty());
            CHECK(narinfo_fingerprint(*info).find(",/nix/store/") != std::string::npos);
        }
        if (info->store_path.name == "tree")
            CHECK(info->ca.starts_with("fixed:r:sha256:"));
        if (info->store_path.name == "nixedge-text")
            CHECK(info->ca.starts_with("text:sha256:"));
    }

    auto minimal = parse_narinfo(minimal_narinfo);
    REQUIRE(minimal.ok());
    CHECK(minimal->compression == "bzip2");
    CHECK_FALSE(minimal->file_hash.has_value());
    CHECK_FALSE(minimal->file_size.has_value());
    CHECK(minimal->references.empty());
    CHECK(serialize_narinfo(*minimal) ==
          "StorePath: /nix/store/z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep\n"
          "URL: nar/abc.nar.zst\n"
          "Compression: bzip2\n"
          "NarHash: sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv\n"
          "NarSize: 120\n"
          "References: \n");
    CHECK(narinfo_fingerprint(*minimal) ==
          "1;/nix/store/z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep;"
          "sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv;120;");

    auto with_unknown_deriver =
        parse_narinfo(std::string(minimal_narinfo) + "Deriver: unknown-deriver\n");
    REQUIRE(with_unknown_deriver.ok());
    CHECK_FALSE(with_unknown_deriver->deriver.has_value());
}

TEST_CASE("references and signatures are kept sorted like Nix's sets", "[narinfo]") {
    auto key_a = secret_key_from_seed("a-1", Bytes(32, 1));
    auto key_b = secret_key_from_seed("b-1", Bytes(32, 2));
    auto info = parse_narinfo(std::string(minimal_narinfo) +
                              "References: z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep "
                              "5za2hn50p23x3plg2f352s6q0kp4qh1j-nixedge-text\n");
    REQUIRE(info.ok());
    CHECK(info->references.front().name == "nixedge-text");
    sign_narinfo(*info, *key_b);
    sign_narinfo(*info, *key_a);
    sign_narinfo(*info, *key_a); // re-signing replaces, never duplicates
    REQUIRE(info->signatures.size() == 2);
    CHECK(info->signatures[0].starts_with("a-1:"));

    TrustedKeys rotated;
    REQUIRE(rotated.add(key_b->public_key()).ok());
    CHECK(verify_narinfo(*info, rotated) == std::optional<std::string>("b-1"));

    auto reparsed = parse_narinfo(serialize_narinfo(*info));
    REQUIRE(reparsed.ok());
    CHECK(*reparsed == *info);
}

TEST_CASE("narinfo errors name the line", "[narinfo]") {
    CHECK(error_of("StorePath: /nix/store/bad\n").starts_with("line 1: "));
    CHECK(error_of(std::string(minimal_narinfo) + "NarSize: 5\n")
              .find("line 5: field 'NarSize' appears twice") != std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo) + "Bogus: x\n")
              .find("line 5: unknown field 'Bogus'") != std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo) + "NoColon\n").find("line 5") != std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo) + "Sig: nope\n").find("line 5") !=
          std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo) + "References: a b\n").find("line 5") !=
          std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo) + "FileSize: 012\n").find("line 5") !=
          std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo) + "FileSize: 99999999999999999999\n")
              .find("line 5") != std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo) + "FileSize: -1\n").find("line 5") !=
          std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo).substr(0, std::strlen(minimal_narinfo) - 1))
              .find("newline") != std::string::npos);
    CHECK(error_of("URL: x\nNarSize: 1\n").find("missing required field StorePath") !=
          std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo).replace(std::strlen(minimal_narinfo) - 4, 3, "0"))
              .find("NarSize is zero") != std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo) +
                   "References: z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep \n")
              .find("line 5") != std::string::npos);
    CHECK(error_of(std::string(minimal_narinfo) + "Deriver: /nix/store/x\n").find("line 5") !=
          std::string::npos);
}
