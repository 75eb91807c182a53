# zstd and libsodium for wasm32 builds (wasi clang and Emscripten), compiled
# from the C sources that the npm packages pinned in package-lock.json carry:
#   zstd-napi 0.0.13 -> zstd 1.5.7       node_modules/zstd-napi/deps/zstd/lib
#   sodium 3.0.2     -> libsodium 1.0.16 node_modules/sodium/deps/libsodium
# Nothing third-party is copied into the repository; `npm ci` fetches it.
# Only the parts the core uses are built (see docs/build.md for the lists).

set(NIXEDGE_ZSTD_DIR ${CMAKE_SOURCE_DIR}/node_modules/zstd-napi/deps/zstd/lib)
set(NIXEDGE_SODIUM_DIR ${CMAKE_SOURCE_DIR}/node_modules/sodium/deps/libsodium/src/libsodium)

foreach(probe ${NIXEDGE_ZSTD_DIR}/zstd.h ${NIXEDGE_SODIUM_DIR}/include/sodium.h)
  if(NOT EXISTS ${probe})
    message(FATAL_ERROR
      "wasm build: ${probe} is missing.\n"
      "zstd and libsodium sources for wasm come from npm packages: run `npm ci` "
      "in ${CMAKE_SOURCE_DIR} (or `make deps`) and configure again.")
  endif()
endforeach()

# Third-party code gets its own flags: optimized even in Debug builds (the
# edge module is size- and CPU-bound), and none of our -Werror warnings.
set(NIXEDGE_THIRD_PARTY_C_FLAGS -O2 -w)

# --- zstd: decompressor and single-threaded compressor (no zstdmt, no dictBuilder,
# no legacy formats, no x86 assembly).
set(zstd_common common/debug.c common/entropy_common.c common/error_private.c
  common/fse_decompress.c common/xxhash.c common/zstd_common.c)
set(zstd_decompress decompress/huf_decompress.c decompress/zstd_ddict.c
  decompress/zstd_decompress.c decompress/zstd_decompress_block.c)
set(zstd_compress compress/fse_compress.c compress/hist.c compress/huf_compress.c
  compress/zstd_compress.c compress/zstd_compress_literals.c
  compress/zstd_compress_sequences.c compress/zstd_compress_superblock.c
  compress/zstd_double_fast.c compress/zstd_fast.c compress/zstd_lazy.c
  compress/zstd_ldm.c compress/zstd_opt.c compress/zstd_preSplit.c)
list(TRANSFORM zstd_common PREPEND ${NIXEDGE_ZSTD_DIR}/)
list(TRANSFORM zstd_decompress PREPEND ${NIXEDGE_ZSTD_DIR}/)
list(TRANSFORM zstd_compress PREPEND ${NIXEDGE_ZSTD_DIR}/)

add_library(nixedge_zstd_wasm STATIC ${zstd_common} ${zstd_decompress} ${zstd_compress})
target_include_directories(nixedge_zstd_wasm SYSTEM PUBLIC ${NIXEDGE_ZSTD_DIR})
target_compile_definitions(nixedge_zstd_wasm PRIVATE
  ZSTD_DISABLE_ASM ZSTD_NO_TRACE ZSTD_LEGACY_SUPPORT=0 NDEBUG)
target_compile_options(nixedge_zstd_wasm PRIVATE ${NIXEDGE_THIRD_PARTY_C_FLAGS})

# --- libsodium: Ed25519 (seed keypair, sign, verify), SHA-256, SHA-512, and the
# constant-time compare they need. Not built: randombytes (the core derives keys
# from caller-supplied seeds; crypto_sign_ed25519_keypair() would fail to link,
# which is the intended guard), sodium_init and the CPU-dispatch runtime (the
# portable ref10/cp code needs no initialisation).
set(sodium_sources
  crypto_core/ed25519/ref10/ed25519_ref10.c
  crypto_hash/sha256/cp/hash_sha256_cp.c
  crypto_hash/sha512/cp/hash_sha512_cp.c
  crypto_sign/ed25519/sign_ed25519.c
  crypto_sign/ed25519/ref10/keypair.c
  crypto_sign/ed25519/ref10/open.c
  crypto_sign/ed25519/ref10/sign.c
  crypto_verify/sodium/verify.c)
list(TRANSFORM sodium_sources PREPEND ${NIXEDGE_SODIUM_DIR}/)

# sodium.h includes sodium/version.h, which libsodium's configure generates
# from version.h.in; do the same here, into the build tree.
set(VERSION 1.0.16)
set(SODIUM_LIBRARY_VERSION_MAJOR 10)
set(SODIUM_LIBRARY_VERSION_MINOR 1)
set(SODIUM_LIBRARY_MINIMAL_DEF "")
set(NIXEDGE_SODIUM_GENERATED ${CMAKE_BINARY_DIR}/generated/libsodium-include)
configure_file(${NIXEDGE_SODIUM_DIR}/include/sodium/version.h.in
  ${NIXEDGE_SODIUM_GENERATED}/sodium/version.h @ONLY)

add_library(nixedge_sodium_wasm STATIC ${sodium_sources}
  ${CMAKE_SOURCE_DIR}/wasm-edge/sodium_shim.c)
# Public: <sodium.h> and <sodium/...> exactly as Debian's libsodium-dev lays them out.
target_include_directories(nixedge_sodium_wasm SYSTEM PUBLIC
  ${NIXEDGE_SODIUM_DIR}/include ${NIXEDGE_SODIUM_GENERATED})
# Private: libsodium's own sources include "crypto_hash_sha512.h", "private/common.h".
target_include_directories(nixedge_sodium_wasm PRIVATE
  ${NIXEDGE_SODIUM_DIR}/include/sodium ${NIXEDGE_SODIUM_GENERATED}/sodium)
# wasm32 is little-endian; without HAVE_TI_MODE the 32-bit field arithmetic
# (fe_25_5) is used, which is what a 32-bit target wants. HAVE_TI_MODE is tested
# with #ifdef, so it must stay undefined (not =0).
target_compile_definitions(nixedge_sodium_wasm PRIVATE NATIVE_LITTLE_ENDIAN=1)
# -msimd128: clang's SLP vectorizer then pairs some of the field arithmetic's
# 32x32->64-bit products into i64x2.extmul (pmuldq on x86), which made narinfo
# parse + Ed25519 verify ~5% faster under Node (docs/build.md has the figures;
# -O3, -mbulk-memory, -fno-strict-aliasing and more inlining did not help, the
# last made it 30% slower). Workers and Node have had wasm SIMD for years.
target_compile_options(nixedge_sodium_wasm PRIVATE ${NIXEDGE_THIRD_PARTY_C_FLAGS} -msimd128)
