# Entry points. `make run` and `make test` install what is missing first.
# Build trees live in build*/; ccache keeps its cache outside the clone.

SHELL := /bin/bash
JOBS ?= $(shell nproc)
export CCACHE_DIR ?= $(HOME)/.cache/nixedge-ccache
# Node >= 20 from the npm registry, where the system has none (scripts/install-deps.sh).
export PATH := $(CURDIR)/.tools/node/bin:$(PATH)
CMAKE_COMMON := -G Ninja -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache

.PHONY: check-image deps build build-native build-asan build-wasm build-wasm-tests run edge-dev test test-long test-native test-asan bench fuzz format clean

deps:
	@scripts/install-deps.sh

build: deps build-native build-wasm

# NATIVE_CMAKE_FLAGS: extra cmake options (the Dockerfile builds without tests).
build-native:
	cmake -S . -B build $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release $(NATIVE_CMAKE_FLAGS)
	cmake --build build -j $(JOBS)

# clang: the sanitizer build also carries the libFuzzer targets.
build-asan:
	cmake -S . -B build-asan $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DNIXEDGE_SANITIZE=ON -DNIXEDGE_FUZZ=ON -DNIXEDGE_BENCH=OFF
	cmake --build build-asan -j $(JOBS)

build-wasm:
	cmake -S . -B build-wasm $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=MinSizeRel \
	  -DCMAKE_TOOLCHAIN_FILE=cmake/wasi-toolchain.cmake
	cmake --build build-wasm -j $(JOBS)

# The core's unit tests compiled by Emscripten, run under Node by a native
# ctest (tests/wasm): the whole suite on wasm32. emcc needs NODE_PATH for acorn.
build-wasm-tests:
	NODE_PATH=/usr/share/nodejs emcmake cmake -S . -B build-emscripten $(CMAKE_COMMON) \
	  -DCMAKE_BUILD_TYPE=Release -DNIXEDGE_BENCH=OFF
	NODE_PATH=/usr/share/nodejs cmake --build build-emscripten -j $(JOBS)

run: deps build-native
	@scripts/run-lab.sh

# The edge Worker under wrangler dev on 127.0.0.1:8787 (EDGE_PORT), serving the
# edge caches of the lab that `make run` keeps in ./nixedge-data
# (NIXEDGE_DATA_DIR): loads its bucket into local R2 first (docs/edge-dev.md).
# wrangler's build command builds the wasm.
edge-dev: deps build-native
	@scripts/edge-dev.sh

# Every test: native Release, then the same suite under ASan+UBSan (which also
# runs each fuzz target briefly). The wasm vectors run in both.
test: deps build-native build-wasm build-wasm-tests build-asan
	cd build && ctest --output-on-failure -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# The long runs of the reliability tests (docs/reliability.md), outside `make
# test`'s budget: 50 SIGKILLs per backend instead of 10, 10 torn-sync rounds
# instead of 3 (about 10 s per kill, 40-120 s per round here). `make fuzz`
# and `bench/run.sh load` are the other long runs.
test-long: deps build-native build-wasm
	cd build && NIXEDGE_CRASH_KILLS=50 NIXEDGE_SYNC_ROUNDS=10 \
	  ctest --output-on-failure -j $(JOBS) -R '^(crash|sync): '

# The Dockerfile's runtime packages, unpacked into a chroot, run the built
# server (no Docker engine needed; root and the Debian mirror are).
check-image: deps build-native
	scripts/check-image-runtime.sh build/bin/nixedge-server

bench: deps build-native build-wasm
	bench/run.sh

fuzz: deps build-asan
	tests/fuzz/run.sh 600

format:
	git ls-files '*.cpp' '*.hpp' '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build build-asan build-wasm build-emscripten
