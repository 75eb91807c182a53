# Emscripten (`emcmake cmake`, `make build-wasm-tests`): builds the core with
# its wasm backends and zstd/libsodium from npm sources (cmake/wasm-deps.cmake),
# plus the core's Catch2 unit tests, as bin/nixedge-unit-tests.js. A native
# ctest (tests/wasm) runs that file under Node, so the whole unit suite also
# runs on wasm32 (32-bit size_t, libsodium 1.0.16, wasm libc++).
#
# Debian's emscripten 3.1.6 has a frozen, prebuilt cache: no ports, nothing
# that would be downloaded or built into the cache.

# Catch2 reports failures by throwing; wasm exceptions run natively in Node.
# Everything is compiled with them so exceptions cross our frames cleanly
# (the core never throws, and stays built -fno-exceptions in the Worker module).
add_compile_options(-fwasm-exceptions)
add_link_options(
  -fwasm-exceptions
  # Tests read tests/data through Node's real file system, by absolute path.
  -sNODERAWFS=1
  -sALLOW_MEMORY_GROWTH=1
  # The .wasm embedded in the .js: the glue otherwise fetch()es a file path,
  # which Node 20's fetch refuses.
  -sSINGLE_FILE=1
  # Flush stdout and return main's exit code as the process's.
  -sEXIT_RUNTIME=1)

# Catch2 v2 is header-only; use the host's header without putting the host's
# /usr/include (glibc) on Emscripten's include path: expose just catch2/.
find_path(NIXEDGE_CATCH2_HEADER_DIR catch2/catch.hpp PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
set(nixedge_catch2_include ${CMAKE_BINARY_DIR}/generated/catch2-include)
file(MAKE_DIRECTORY ${nixedge_catch2_include})
file(CREATE_LINK ${NIXEDGE_CATCH2_HEADER_DIR}/catch2 ${nixedge_catch2_include}/catch2 SYMBOLIC)
add_library(Catch2::Catch2 INTERFACE IMPORTED)
target_include_directories(Catch2::Catch2 SYSTEM INTERFACE ${nixedge_catch2_include})
# No POSIX signal handlers (sigaltstack) in a Node-hosted wasm process.
target_compile_definitions(Catch2::Catch2 INTERFACE CATCH_CONFIG_NO_POSIX_SIGNALS)
