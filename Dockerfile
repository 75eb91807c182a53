# syntax=docker/dockerfile:1
# The nixedge-server image: the server, plus rclone and jq for the R2 sync
# CronJob (k8s/r2-sync-cronjob.yaml runs scripts/r2-sync.sh from this image).
#
#   docker build -t registry.example.org/nixedge/nixedge-server:0.1.0 .
#   docker push  registry.example.org/nixedge/nixedge-server:0.1.0
#
# k8s/deployment.yaml and k8s/r2-sync-cronjob.yaml name that placeholder
# image: replace registry and tag with yours (docs/operations.md, "Image").
# No Docker engine runs in CI: `make check-image` proves the runtime package
# list below is complete by running the built server in a chroot made of
# exactly those Debian packages (scripts/check-image-runtime.sh).

FROM debian:12-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
# The native build's packages (scripts/install-deps.sh has the full list,
# with the test and wasm toolchains this image does not need).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build ccache pkg-config \
      libboost1.81-dev libsodium-dev libzstd-dev libssl-dev nlohmann-json3-dev \
      libtomlplusplus-dev libsqlite3-dev liblzma-dev libbz2-dev libbrotli-dev \
      libcurl4-openssl-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make build-native JOBS="$(nproc)" NATIVE_CMAKE_FLAGS="-DNIXEDGE_TESTS=OFF -DNIXEDGE_BENCH=OFF" \
 && strip build/bin/nixedge-server

FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
# runtime-packages: begin (scripts/check-image-runtime.sh reads this list)
# The shared libraries nixedge-server links (ldd build/bin/nixedge-server),
# CA certificates for TLS to S3, rclone and jq for the sync script.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libsodium23 libzstd1 libtomlplusplus3 libsqlite3-0 liblzma5 libbrotli1 \
      libbz2-1.0 libssl3 libcurl4 libpq5 libstdc++6 libgcc-s1 ca-certificates rclone jq \
 && rm -rf /var/lib/apt/lists/*
# runtime-packages: end
RUN groupadd --system --gid 10001 nixedge \
 && useradd --system --uid 10001 --gid nixedge --home-dir /var/lib/nixedge --no-create-home nixedge \
 && install -d -o nixedge -g nixedge -m 0700 /var/lib/nixedge
COPY --from=build /src/build/bin/nixedge-server /usr/local/bin/nixedge-server
COPY scripts/ /usr/local/share/nixedge/scripts/
COPY lab-server/server.toml /usr/local/share/nixedge/server.toml.reference
USER 10001:10001
WORKDIR /var/lib/nixedge
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/nixedge-server"]
CMD ["--config", "/etc/nixedge/server.toml", "serve"]
