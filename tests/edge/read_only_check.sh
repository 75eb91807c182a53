#!/usr/bin/env bash
# The edge is read-only by construction: no code under wasm-edge/src calls an
# R2 method that writes (put, delete, multipart), and the R2 binding is only
# ever used through RequestContext.readObject (a get).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=wasm-edge/src
writes=$(grep -rnE '\.(put|delete|createMultipartUpload|resumeMultipartUpload)\(' "$src" --include='*.mjs' |
  grep -vE 'this\.cache\.put\(' || true)
if [[ -n $writes ]]; then
  echo "write calls in the edge Worker:"; echo "$writes"; exit 1
fi
uses=$(grep -rnE '(bucket|BUCKET)\.[A-Za-z]+\(' "$src" --include='*.mjs' | grep -vE 'return this\.bucket\.get\(key\);' || true)
if [[ -n $uses ]]; then
  echo "the R2 binding is used outside RequestContext.openObject:"; echo "$uses"; exit 1
fi
echo "edge Worker: no R2 write call; the bucket is only read through openObject"
