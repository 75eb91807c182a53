#!/usr/bin/env bash
# Bad input against the real nixedge-server binary, as one documented matrix:
#   bad_input_test.sh NIXEDGE_SERVER_BINARY
# Every row of `matrix` below is one request (curl, or a raw socket for what
# curl cannot send: cut bodies, oversized headers, a NUL byte). For each, the
# test checks the HTTP status, the JSON error body {code, error, message} (the
# `error` name and a fragment of the message), that the server still answers,
# that nothing was stored (the database's caches, paths, references, staged
# uploads, NARs and chunks, the outbox, and every object of the bucket with
# its SHA-256, compared before and after) and that `fsck` finds no
# difference. Rows whose `stored` column says `unused-chunks` may leave only
# chunk rows marked unused and their chunk objects (an upload refused after
# some of its chunks were stored): GC removes them after gc.orphan_grace,
# which the test checks. Then the real Nix pushes a valid path with `nix copy`
# and substitutes it with require-sigs: the server still works, and the bad
# inputs left nothing behind (the bucket holds exactly the set-up's objects
# and the valid path's).
set -euo pipefail
server=$(realpath "$1")
# shellcheck source=tests/lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"

# A short body read timeout (the stalled-body row), a short orphan grace for
# GC (the sync settings are the smallest the grace check allows), no periodic GC.
lab_config '[server.timeouts]
read = "2s"
[gc]
interval = "0"
orphan_grace = "3s"
[sync]
interval = "1s"
max_duration = "1s"
edge_narinfo_ttl = "0"
'
in=$tmp/in
mkdir -p "$in"
db=$tmp/data/nixedge.sqlite
bucket=$tmp/data/bucket

# ---- the matrix ---------------------------------------------------------------
# case | request | status | error | stored | message holds
#
# request: METHOD TARGET [OPTION...], sent by curl (target as is, token as
# Bearer) with OPTIONs: @FILE (the body, from the inputs made below),
# chunked (Transfer-Encoding: chunked), len=N (Content-Length: N, no body sent),
# info=FILE (X-Attic-Nar-Info: FILE's text), preamble=N
# (X-Attic-Nar-Info-Preamble-Size: N). `RAW KIND METHOD TARGET [@FILE]
# [info=FILE] [send=N]` goes over a raw socket (raw.py below): cut (a
# Content-Length of the whole body, N bytes sent, then the connection closed),
# chunkcut (chunked, a chunk announced and cut after N bytes, closed), badchunk
# (a chunk size that is not hex), stall (N bytes of a longer Content-Length,
# then silence), bigheader (a 20 KB header), manyheaders (3000 header lines),
# longline (a 17 KB request target), nul (a NUL byte in the target).
# Targets: {H} a well-formed store hash published nowhere, {X} the hash of the
# path published in cache `other` only, {LONG} 5000 characters, {SEGS} 33 path segments.
# status `-`: no answer, the connection is closed. error `-`: no error body.
# Caches: main (public, edge; no upstream references), other (private).
matrix=$(
  cat <<'MATRIX'
ni-garbage          | PUT /main/{H}.narinfo @ni-garbage                   | 400 | invalid_narinfo | nothing | does not end with a newline
ni-binary           | PUT /main/{H}.narinfo @ni-binary                    | 400 | invalid_narinfo | nothing | line 1
ni-missing-fields   | PUT /main/{H}.narinfo @ni-missing                   | 400 | invalid_narinfo | nothing | missing required field URL
ni-narhash-base64   | PUT /main/{H}.narinfo @ni-narhash-base64            | 400 | invalid_narinfo | nothing | bad SHA-256 hash
ni-narhash-nix32    | PUT /main/{H}.narinfo @ni-narhash-nix32             | 400 | invalid_narinfo | nothing | bad SHA-256 hash
ni-narhash-algo     | PUT /main/{H}.narinfo @ni-narhash-md5               | 400 | invalid_narinfo | nothing | line 4
ni-narsize-text     | PUT /main/{H}.narinfo @ni-narsize-text              | 400 | invalid_narinfo | nothing | not a canonical unsigned 64-bit number
ni-storepath-vs-url | PUT /main/{H}.narinfo @ni-other-path                | 400 | invalid_narinfo | nothing | not 0123456789abcdfghijklmnpqrsvwxyz
ni-duplicate-field  | PUT /main/{H}.narinfo @ni-duplicate                 | 400 | invalid_narinfo | nothing | appears twice
ni-unknown-field    | PUT /main/{H}.narinfo @ni-unknown                   | 400 | invalid_narinfo | nothing | unknown field 'Foo'
ni-huge-field       | PUT /main/{H}.narinfo @ni-huge                      | 413 | payload_too_large | nothing | larger than 65536 bytes
ni-huge-chunked     | PUT /main/{H}.narinfo @ni-huge chunked              | 413 | limit_exceeded | nothing | larger than 65536 bytes
ni-no-nar-uploaded  | PUT /main/{H}.narinfo @ni-no-nar                    | 400 | invalid_argument | nothing | upload the NAR first
ni-narhash-mismatch | PUT /main/{H}.narinfo @ni-narhash-mismatch          | 400 | invalid_nar | nothing | is not the hash of the uploaded NAR
ni-narsize-mismatch | PUT /main/{H}.narinfo @ni-narsize-mismatch          | 400 | invalid_nar | nothing | is not the size of the uploaded NAR
ni-ref-other-cache  | PUT /main/{H}.narinfo @ni-ref-other                 | 400 | invalid_argument | nothing | references not in cache 'main'
ni-ref-nowhere      | PUT /main/{H}.narinfo @ni-ref-nowhere               | 400 | invalid_argument | nothing | references not in cache 'main'
ni-sp-hash-chars    | PUT /main/0123456789abcdfghijklmnpqrsvwxye.narinfo @ni-sp-chars | 400 | invalid_narinfo | nothing | outside Nix's base32 alphabet
ni-sp-hash-length   | PUT /main/0123456789abcdfghijklmnpqrsvwxy.narinfo @ni-sp-length | 400 | invalid_narinfo | nothing | not a store path base name
ni-sp-name-chars    | PUT /main/{H}.narinfo @ni-sp-name                   | 400 | invalid_narinfo | nothing | name has a character Nix does not allow
ni-sp-store-dir     | PUT /main/{H}.narinfo @ni-sp-storedir               | 400 | invalid_narinfo | nothing | is not in /nix/store
ni-sp-subdir        | PUT /main/{H}.narinfo @ni-sp-subdir                 | 400 | invalid_narinfo | nothing | subdirectory
ni-ref-bad-path     | PUT /main/{H}.narinfo @ni-ref-bad                   | 400 | invalid_narinfo | nothing | not a store path base name
ni-deriver-bad      | PUT /main/{H}.narinfo @ni-deriver-bad               | 400 | invalid_narinfo | nothing | line 7
nar-garbage         | PUT /main/nar/bad.nar @garbage.nar                  | 400 | invalid_nar | nothing | expected the magic
nar-empty           | PUT /main/nar/bad.nar @empty.nar                    | 400 | invalid_nar | nothing | truncated
nar-truncated       | PUT /main/nar/bad.nar @truncated.nar                | 400 | invalid_nar | nothing | truncated
nar-bad-magic       | PUT /main/nar/bad.nar @badmagic.nar                 | 400 | invalid_nar | nothing | got 'nix-archive-2'
nar-unsorted        | PUT /main/nar/bad.nar @unsorted.nar                 | 400 | invalid_nar | nothing | out of order after 'b'
nar-duplicate-entry | PUT /main/nar/bad.nar @dupentry.nar                 | 400 | invalid_nar | nothing | duplicate
nar-entry-dotdot    | PUT /main/nar/bad.nar @dotdot.nar                   | 400 | invalid_nar | nothing | invalid entry name '..'
nar-entry-slash     | PUT /main/nar/bad.nar @slash.nar                    | 400 | invalid_nar | nothing | contains '/'
nar-entry-empty     | PUT /main/nar/bad.nar @emptyname.nar                | 400 | invalid_nar | nothing | empty
nar-size-over-data  | PUT /main/nar/bad.nar @shortfile.nar                | 400 | invalid_nar | nothing | bytes missing
nar-size-2^62       | PUT /main/nar/bad.nar @hugefile.nar                 | 400 | invalid_nar | nothing | bytes missing
nar-trailing-bytes  | PUT /main/nar/bad.nar @trailing.nar                 | 400 | invalid_nar | nothing | trailing bytes
nar-zst-garbage     | PUT /main/nar/bad.nar.zst @garbage.nar              | 400 | decompression_failed | nothing | zstd upload does not decode
nar-xz-garbage      | PUT /main/nar/bad.nar.xz @garbage.nar               | 400 | decompression_failed | nothing | xz upload does not decode
nar-bad-extension   | PUT /main/nar/bad.tar @small.nar                    | 400 | invalid_argument | nothing | is not a NAR file name
at-narhash-mismatch | PUT /_api/v1/upload-path @attic1.nar info=at-narhash-mismatch | 400 | invalid_nar | unused-chunks | does not match the expected
at-narsize-length   | PUT /_api/v1/upload-path @small.nar info=at-narsize-mismatch | 400 | invalid_argument | nothing | but nar_size is 513
at-narsize-over     | PUT /_api/v1/upload-path @attic2.nar chunked info=at-narsize-over | 400 | invalid_nar | nothing | NAR size exceeds the expected 513
at-narsize-under    | PUT /_api/v1/upload-path @attic2.nar chunked info=at-narsize-under | 400 | invalid_nar | nothing | does not match the expected 99999
at-narhash-format   | PUT /_api/v1/upload-path @small.nar info=at-narhash-format | 400 | invalid_argument | nothing | 'nar_hash'
at-sp-hash-chars    | PUT /_api/v1/upload-path @small.nar info=at-sp-chars | 400 | invalid_argument | nothing | outside Nix's base32 alphabet
at-sp-hash-length   | PUT /_api/v1/upload-path @small.nar info=at-sp-length | 400 | invalid_argument | nothing | must be 32 characters
at-sp-vs-hash       | PUT /_api/v1/upload-path @small.nar info=at-sp-mismatch | 400 | invalid_argument | nothing | does not have the hash
at-sp-name-chars    | PUT /_api/v1/upload-path @small.nar info=at-sp-name | 400 | invalid_argument | nothing | name has a character Nix does not allow
at-sp-store-dir     | PUT /_api/v1/upload-path @small.nar info=at-sp-storedir | 400 | invalid_argument | nothing | is not in /nix/store
at-ref-bad-path     | PUT /_api/v1/upload-path @small.nar info=at-ref-bad | 400 | invalid_argument | nothing | 'references'
at-info-garbage     | PUT /_api/v1/upload-path @small.nar info=at-garbage | 400 | invalid_argument | nothing | not valid JSON
at-info-missing     | PUT /_api/v1/upload-path @small.nar                 | 400 | invalid_argument | nothing | must be set
at-info-field-type  | PUT /_api/v1/upload-path @small.nar info=at-size-string | 400 | invalid_argument | nothing | 'nar_size' is not a non-negative integer
at-preamble-huge    | PUT /_api/v1/upload-path @small.nar preamble=70000  | 413 | limit_exceeded | nothing | max_narinfo_bytes
at-preamble-short   | PUT /_api/v1/upload-path @small.nar preamble=1000   | 400 | invalid_argument | nothing | ended inside the upload info preamble
at-preamble-number  | PUT /_api/v1/upload-path @small.nar preamble=12x    | 400 | invalid_argument | nothing | is not a number of bytes
at-body-over-cap    | PUT /_api/v1/upload-path len=68719542273 info=at-narsize-mismatch | 413 | payload_too_large | nothing | larger than 68719542272 bytes
gm-hash-chars       | POST /_api/v1/get-missing-paths @gm-chars           | 400 | invalid_argument | nothing | outside Nix's base32 alphabet
gm-hash-length      | POST /_api/v1/get-missing-paths @gm-length          | 400 | invalid_argument | nothing | must be 32 characters
gm-full-path        | POST /_api/v1/get-missing-paths @gm-fullpath        | 400 | invalid_argument | nothing | is not a store path hash
gm-traversal        | POST /_api/v1/get-missing-paths @gm-traversal       | 400 | invalid_argument | nothing | '../../etc' is not a store path hash
gm-cache-traversal  | POST /_api/v1/get-missing-paths @gm-cache-traversal | 404 | not_found | nothing | no cache named '../main'
gm-not-json         | POST /_api/v1/get-missing-paths @garbage.nar        | 400 | invalid_argument | nothing | not valid JSON
gm-body-over-cap    | POST /_api/v1/get-missing-paths len=8388609         | 413 | payload_too_large | nothing | larger than 8388608 bytes
cc-create-over-cap  | POST /_api/v1/cache-config/newcache len=65537       | 413 | payload_too_large | nothing | larger than 65536 bytes
cc-create-chunked   | POST /_api/v1/cache-config/newcache @big-json chunked | 413 | limit_exceeded | nothing | larger than 65536 bytes
cc-patch-chunked    | PATCH /_api/v1/cache-config/main @big-json chunked  | 413 | limit_exceeded | nothing | larger than 65536 bytes
ls-over-cap         | PUT /main/{H}.ls len=268435457                      | 413 | payload_too_large | nothing | larger than 268435456 bytes
ls-garbage-dropped  | PUT /main/{H}.ls @garbage.nar                       | 200 | - | nothing |
tr-get-dotdot       | GET /main/../main/nix-cache-info                    | 400 | bad_request | nothing | dot segment in path
tr-get-enc-dotdot   | GET /main/%2e%2e/nix-cache-info                     | 400 | bad_request | nothing | dot segment in path
tr-get-enc-dotdot-up| GET /main/%2E%2E/{H}.ls                             | 400 | bad_request | nothing | dot segment in path
tr-get-enc-slash    | GET /main/nar/..%2f..%2fnixedge.sqlite              | 400 | bad_request | nothing | invalid character in path segment
tr-get-double-slash | GET /main//nix-cache-info                           | 404 | not_found | nothing | no such resource
tr-get-lead-slashes | GET //main/{H}.narinfo                              | 404 | not_found | nothing | no such resource
tr-get-backslash    | GET /main/nar/..\..\nixedge.sqlite                  | 400 | bad_request | nothing | invalid character in path
tr-get-enc-backslash| GET /main/nar/%5c..%5cx.nar                         | 400 | bad_request | nothing | invalid character in path segment
tr-get-nul          | GET /main/{H}.narinfo%00                            | 400 | bad_request | nothing | invalid character in path segment
tr-get-dot-hash     | GET /main/..narinfo                                 | 404 | not_found | nothing | no such resource
tr-get-long         | GET /main/{LONG}.narinfo                            | 414 | uri_too_long | nothing | longer than 4096 bytes
tr-get-segments     | GET /{SEGS}                                         | 414 | uri_too_long | nothing | more than 32 path segments
tr-get-bad-escape   | GET /main/%zz.narinfo                               | 400 | bad_request | nothing | malformed percent escape
tr-get-api-dotdot   | GET /_api/v1/cache-config/%2e%2e                    | 400 | bad_request | nothing | dot segment in path
tr-get-api-slash    | GET /_api/v1/cache-config/..%2fmain                 | 400 | bad_request | nothing | invalid character in path segment
tr-put-dotdot       | PUT /main/../main/{H}.narinfo @ni-no-nar            | 400 | bad_request | nothing | dot segment in path
tr-put-enc-dotdot   | PUT /%2e%2e/nar/x.nar @small.nar                    | 400 | bad_request | nothing | dot segment in path
tr-put-enc-slash    | PUT /main/nar/..%2f..%2fx.nar @small.nar            | 400 | bad_request | nothing | invalid character in path segment
tr-put-double-slash | PUT /main//{H}.narinfo @ni-no-nar                   | 404 | not_found | nothing | no such resource
tr-put-nar-dslash   | PUT /main/nar//x.nar @small.nar                     | 404 | not_found | nothing | no such resource
tr-put-backslash    | PUT /main/nar/..\x.nar @small.nar                   | 400 | bad_request | nothing | invalid character in path
tr-put-nul          | PUT /main/nar/%00.nar @small.nar                    | 400 | bad_request | nothing | invalid character in path segment
tr-put-ls-dotdot    | PUT /main/{H}.ls/%2e%2e @garbage.nar                | 400 | bad_request | nothing | dot segment in path
tr-put-long         | PUT /main/nar/{LONG}.nar @small.nar                 | 414 | uri_too_long | nothing | longer than 4096 bytes
tr-put-api-dotdot   | PUT /_api/v1/../v1/upload-path @small.nar info=at-sp-storedir | 400 | bad_request | nothing | dot segment in path
tr-post-api-dotdot  | POST /_api/v1/get-missing-paths/%2e%2e @gm-chars    | 400 | bad_request | nothing | dot segment in path
tr-put-cache-info   | PUT /main/nix-cache-info @ni-garbage                | 405 | method_not_allowed | nothing | PUT not allowed here
raw-nul-byte        | RAW nul GET /main/nix-cache-info                    | 400 | bad_request | nothing | bad target
hdr-big-get         | RAW bigheader GET /main/nix-cache-info              | 431 | header_too_large | nothing | header limit exceeded
hdr-big-put-nar     | RAW bigheader PUT /main/nar/h.nar @small.nar        | 431 | header_too_large | nothing | header limit exceeded
hdr-many-put-info   | RAW manyheaders PUT /main/{H}.narinfo @ni-no-nar    | 431 | header_too_large | nothing | header limit exceeded
hdr-long-line       | RAW longline GET /main/nix-cache-info               | 431 | header_too_large | nothing | header limit exceeded
cut-nar             | RAW cut PUT /main/nar/cut.nar @small.nar send=100   | -   | - | nothing |
cut-narinfo         | RAW cut PUT /main/{H}.narinfo @ni-no-nar send=50    | -   | - | nothing |
cut-attic           | RAW cut PUT /_api/v1/upload-path @attic1.nar info=at-attic1 send=100 | - | - | nothing |
cut-chunked-nar     | RAW chunkcut PUT /main/nar/cut.nar @small.nar send=100 | - | - | nothing |
cut-chunked-attic   | RAW chunkcut PUT /_api/v1/upload-path @attic1.nar info=at-attic1 send=100 | - | - | nothing |
cut-big-nar         | RAW cut PUT /main/nar/big.nar @big.nar send=5000000 | -   | - | unused-chunks |
bad-chunk-size      | RAW badchunk PUT /main/nar/cut.nar @small.nar       | 400 | bad_request | nothing | bad chunk
stalled-body        | RAW stall PUT /main/nar/cut.nar @small.nar send=100 | -   | - | nothing |
MATRIX
)

# ---- helpers (Python for what curl cannot do) -----------------------------------
# The interpreter itself, asked once: a version manager's shim costs seconds a call.
py=$(python3 -c 'import sys; print(sys.executable)')
cat >"$tmp/make_inputs.py" <<'PY'
# NARs written by hand (Nix's format: 8-byte little-endian lengths, padded
# strings), valid and broken, into the directory argv[1].
import os, sys
def s(b):
    b = b.encode() if isinstance(b, str) else b
    return len(b).to_bytes(8, 'little') + b + b'\0' * (-len(b) % 8)
def reg(data, exe=False):
    return s('(') + s('type') + s('regular') + (s('executable') + s('') if exe else b'') \
        + s('contents') + s(data) + s(')')
def tree(entries):
    out = s('(') + s('type') + s('directory')
    for name, node in entries:
        out += s('entry') + s('(') + s('name') + s(name) + s('node') + node + s(')')
    return out + s(')')
def nar(node): return s('nix-archive-1') + node
def w(name, data): open(os.path.join(sys.argv[1], name), 'wb').write(data)
small = nar(tree([('a', reg(b'hello\n')), ('b', reg(b'world\n', True))]))
w('small.nar', small)
for name in ('staged', 'other', 'attic1', 'attic2'):
    w(name + '.nar', nar(tree([(name, reg(os.urandom(1000)))])))
w('empty.nar', b'')
w('garbage.nar', b'this is not a NAR\n' * 10)
w('truncated.nar', small[:-40])
w('badmagic.nar', small.replace(b'nix-archive-1', b'nix-archive-2', 1))
w('unsorted.nar', nar(tree([('b', reg(b'x')), ('a', reg(b'y'))])))
w('dupentry.nar', nar(tree([('a', reg(b'x')), ('a', reg(b'y'))])))
w('dotdot.nar', nar(tree([('..', reg(b'x'))])))
w('slash.nar', nar(tree([('a/b', reg(b'x'))])))
w('emptyname.nar', nar(tree([('', reg(b'x'))])))
head = s('nix-archive-1') + s('(') + s('type') + s('regular') + s('contents')
w('shortfile.nar', head + (1 << 20).to_bytes(8, 'little') + b'only ten b')
w('hugefile.nar', head + (1 << 62).to_bytes(8, 'little') + b'only ten b')
w('trailing.nar', small + b'trailing junk')
w('big.nar', nar(reg(os.urandom(6000000))))
w('big-json', b'{"is_public": true, "pad": "' + b'x' * 70000 + b'"}')
PY

cat >"$tmp/raw.py" <<'PY'
# raw.py PORT TOKEN KIND METHOD TARGET [BODY_FILE] [INFO_FILE] [SEND]: one
# request over a socket; prints "STATUS BODY", or "- " when the server closed
# the connection without an answer.
import socket, sys, time
port, token, kind, method, target = sys.argv[1:6]
body = open(sys.argv[6], 'rb').read() if len(sys.argv) > 6 and sys.argv[6] else b''
info = open(sys.argv[7], 'rb').read().strip() if len(sys.argv) > 7 and sys.argv[7] else b''
send = int(sys.argv[8]) if len(sys.argv) > 8 and sys.argv[8] else len(body)
target = target.encode()
if kind == 'nul':
    target = target.replace(b'nix-', b'nix\0-')
if kind == 'longline':
    target = b'/' + b'a' * 17000
head = method.encode() + b' ' + target + b' HTTP/1.1\r\nHost: 127.0.0.1\r\n'
head += b'Authorization: Bearer ' + token.encode() + b'\r\n'
if info:
    head += b'X-Attic-Nar-Info: ' + info + b'\r\n'
if kind == 'bigheader':
    head += b'X-Padding: ' + b'a' * 20000 + b'\r\n'
if kind == 'manyheaders':
    head += b''.join(b'X-Header-%d: y\r\n' % i for i in range(3000))
if kind in ('chunkcut', 'badchunk'):
    head += b'Transfer-Encoding: chunked\r\n\r\n'
    if kind == 'chunkcut':
        payload = b'%x\r\n' % len(body) + body[:send]
    else:
        payload = b'zz\r\n' + body
else:
    head += b'Content-Length: %d\r\n\r\n' % len(body)
    payload = body[:send]
conn = socket.create_connection(('127.0.0.1', int(port)))
conn.settimeout(15)
started = time.monotonic()
try:
    conn.sendall(head + payload)
    if kind not in ('stall',):
        conn.shutdown(socket.SHUT_WR)
except OSError:
    pass  # the server may answer and close before it has read everything
answer = b''
try:
    while True:
        got = conn.recv(65536)
        if not got:
            break
        answer += got
except (socket.timeout, ConnectionResetError):
    pass
conn.close()
if kind == 'stall' and not 1.5 <= time.monotonic() - started <= 10:
    sys.exit('a stalled body was not cut after the read timeout')
if not answer:
    print('- ')
else:
    status = answer.split(b' ', 2)[1].decode()
    print(status, answer.partition(b'\r\n\r\n')[2].decode(errors='replace'))
PY

# What the server holds, one fact a line, sorted: caches, keys, paths,
# references, staged uploads, NARs, chunks (used or not), the outbox, and
# every bucket object with the SHA-256 of its bytes.
state() {
  {
    sqlite3 -readonly -separator ' ' "$db" <<'SQL'
SELECT 'cache', name, is_public, edge_enabled, priority, retention_seconds,
  allow_upstream_references, upstream_key_names FROM caches;
SELECT 'key', c.name, k.key_name, k.state FROM cache_keys k JOIN caches c ON c.id = k.cache_id;
SELECT 'path', c.name, p.store_path, p.manifest_hash, p.nar_hash FROM paths p
  JOIN caches c ON c.id = p.cache_id;
SELECT 'ref', c.name, p.store_hash, r.reference FROM path_references r
  JOIN paths p ON p.id = r.path_id JOIN caches c ON c.id = p.cache_id;
SELECT 'staged', c.name, s.url, s.manifest_hash, s.held_narinfo IS NOT NULL FROM staged_uploads s
  JOIN caches c ON c.id = s.cache_id;
SELECT 'nar', manifest_hash, nar_hash, nar_size FROM nars;
SELECT 'chunk', hash, state, CASE WHEN unused_since IS NULL THEN 'used' ELSE 'unused' END FROM chunks;
SELECT 'outbox', COUNT(*) FROM outbox;
SQL
    (cd "$bucket" && find . -type f -printf '%P\0' | xargs -0 sha256sum | awk '{print "object", $2, $1}')
  } | LC_ALL=C sort
}
fsck_clean() {
  admin fsck "$@" >"$tmp/fsck.out" 2>"$tmp/fsck.err" || fail "fsck: $(cat "$tmp/fsck.out" "$tmp/fsck.err")"
  grep -qx 'no differences' "$tmp/fsck.out" || fail "fsck found differences: $(cat "$tmp/fsck.out")"
}
nar_hash() { nix-hash --type sha256 --flat --base32 "$1"; }
nar_size() { stat -c %s "$1"; }

# ---- inputs ---------------------------------------------------------------------
step "build a valid path with the real Nix; write the bad inputs"
cat >"$tmp/paths.nix" <<'NIX'
{ testlib }: let inherit (import testlib) small; in { valid = small "bad-input-valid"; }
NIX
build_paths "$tmp/paths.nix"
valid=$(built_path bad-input-valid)
valid_hash=$(basename "$valid" | cut -c1-32)
"$py" "$tmp/make_inputs.py" "$in"

H=0123456789abcdfghijklmnpqrsvwxyz # well-formed, published nowhere
X=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx # published in cache `other` only
Y=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy # in cache `up`, referring to X
N=nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn # a reference to a path that exists nowhere
staged_hash=$(nar_hash "$in/staged.nar") staged_size=$(nar_size "$in/staged.nar")
small_hash=$(nar_hash "$in/small.nar")
# narinfo STORE_PATH URL NARHASH NARSIZE REFERENCES [EXTRA LINES]
narinfo() {
  printf 'StorePath: %s\nURL: %s\nCompression: none\nNarHash: %s\nNarSize: %s\nReferences: %s\n%s' "$@"
}
ok_hash=sha256:$staged_hash
narinfo "/nix/store/$X-other" nar/other.nar "sha256:$(nar_hash "$in/other.nar")" "$(nar_size "$in/other.nar")" "" >"$in/ni-other"
narinfo "/nix/store/$Y-up" nar/other.nar "sha256:$(nar_hash "$in/other.nar")" "$(nar_size "$in/other.nar")" "$X-other" >"$in/ni-up"
printf 'garbage' >"$in/ni-garbage"
printf '\x00\xff\xfe binary\n' >"$in/ni-binary"
printf 'StorePath: /nix/store/%s-x\n' "$H" >"$in/ni-missing"
narinfo "/nix/store/$H-x" nar/staged.nar sha256:zzz "$staged_size" "" >"$in/ni-narhash-base64"
narinfo "/nix/store/$H-x" nar/staged.nar "sha256:${staged_hash%?}e" "$staged_size" "" >"$in/ni-narhash-nix32"
narinfo "/nix/store/$H-x" nar/staged.nar "md5:$staged_hash" "$staged_size" "" >"$in/ni-narhash-md5"
narinfo "/nix/store/$H-x" nar/staged.nar "$ok_hash" 12abc "" >"$in/ni-narsize-text"
narinfo "/nix/store/$X-other" nar/staged.nar "$ok_hash" "$staged_size" "" >"$in/ni-other-path"
narinfo "/nix/store/$H-x" nar/staged.nar "$ok_hash" "$staged_size" "" "StorePath: /nix/store/$H-x"$'\n' >"$in/ni-duplicate"
narinfo "/nix/store/$H-x" nar/staged.nar "$ok_hash" "$staged_size" "" $'Foo: bar\n' >"$in/ni-unknown"
narinfo "/nix/store/$H-x" nar/staged.nar "$ok_hash" "$staged_size" "" "System: $(head -c 70000 /dev/zero | tr '\0' a)"$'\n' >"$in/ni-huge"
narinfo "/nix/store/$H-x" nar/never-uploaded.nar "$ok_hash" "$staged_size" "" >"$in/ni-no-nar"
narinfo "/nix/store/$H-x" nar/staged.nar "sha256:$small_hash" "$staged_size" "" >"$in/ni-narhash-mismatch"
narinfo "/nix/store/$H-x" nar/staged.nar "$ok_hash" "$((staged_size + 8))" "" >"$in/ni-narsize-mismatch"
narinfo "/nix/store/$H-x" nar/staged.nar "$ok_hash" "$staged_size" "$X-other" >"$in/ni-ref-other"
narinfo "/nix/store/$H-x" nar/staged.nar "$ok_hash" "$staged_size" "$N-nowhere" >"$in/ni-ref-nowhere"
narinfo /nix/store/0123456789abcdfghijklmnpqrsvwxye-x nar/staged.nar "$ok_hash" "$staged_size" "" >"$in/ni-sp-chars"
narinfo /nix/store/0123456789abcdfghijklmnpqrsvwxy-x nar/staged.nar "$ok_hash" "$staged_size" "" >"$in/ni-sp-length"
narinfo "/nix/store/$H-x@y" nar/staged.nar "$ok_hash" "$staged_size" "" >"$in/ni-sp-name"
narinfo "/gnu/store/$H-x" nar/staged.nar "$ok_hash" "$staged_size" "" >"$in/ni-sp-storedir"
narinfo "/nix/store/$H-x/sub" nar/staged.nar "$ok_hash" "$staged_size" "" >"$in/ni-sp-subdir"
narinfo "/nix/store/$H-x" nar/staged.nar "$ok_hash" "$staged_size" "../../etc/passwd" >"$in/ni-ref-bad"
narinfo "/nix/store/$H-x" nar/staged.nar "$ok_hash" "$staged_size" "" $'Deriver: ../x.drv\n' >"$in/ni-deriver-bad"

# attic_info NAR [FIELD=JSON...]: Attic's UploadPathNarInfo for the path $H in
# main with NAR's hash and size, FIELDs replaced.
attic_info() {
  local nar=$1 filter=.
  shift
  for assignment; do filter+=" | .${assignment%%=*} = ${assignment#*=}"; done
  jq -cn --arg hash "sha256:$(nar_hash "$nar")" --argjson size "$(nar_size "$nar")" --arg h "$H" \
    '{cache: "main", store_path_hash: $h, store_path: ("/nix/store/" + $h + "-x"), references: [],
      system: null, deriver: null, sigs: [], ca: null, nar_hash: $hash, nar_size: $size}'" | $filter"
}
attic_info "$in/attic1.nar" >"$in/at-attic1"
attic_info "$in/attic1.nar" nar_hash="\"sha256:$staged_hash\"" >"$in/at-narhash-mismatch"
attic_info "$in/small.nar" nar_size=513 >"$in/at-narsize-mismatch"
attic_info "$in/attic2.nar" nar_size=513 >"$in/at-narsize-over"
attic_info "$in/attic2.nar" nar_size=99999 >"$in/at-narsize-under"
attic_info "$in/small.nar" nar_hash='"sha256:zzz"' >"$in/at-narhash-format"
attic_info "$in/small.nar" store_path_hash='"0123456789abcdfghijklmnpqrsvwxye"' \
  store_path='"/nix/store/0123456789abcdfghijklmnpqrsvwxye-x"' >"$in/at-sp-chars"
attic_info "$in/small.nar" store_path_hash='"0123456789abcdfghijklmnpqrsvwxy"' \
  store_path='"/nix/store/0123456789abcdfghijklmnpqrsvwxy-x"' >"$in/at-sp-length"
attic_info "$in/small.nar" store_path="\"/nix/store/$X-x\"" >"$in/at-sp-mismatch"
attic_info "$in/small.nar" store_path="\"/nix/store/$H-x@y\"" >"$in/at-sp-name"
attic_info "$in/small.nar" store_path="\"/gnu/store/$H-x\"" >"$in/at-sp-storedir"
attic_info "$in/small.nar" references='["/nix/store/zzz-y"]' >"$in/at-ref-bad"
attic_info "$in/small.nar" nar_size='"512"' >"$in/at-size-string"
printf 'garbage' >"$in/at-garbage"
gm() { printf '{"cache": "%s", "store_path_hashes": ["%s"]}' "$1" "$2"; }
gm main 0123456789abcdfghijklmnpqrsvwxye >"$in/gm-chars"
gm main zzz >"$in/gm-length"
gm main "/nix/store/$H-x" >"$in/gm-fullpath"
gm main ../../etc >"$in/gm-traversal"
gm ../main "$H" >"$in/gm-cache-traversal"
long=$(head -c 5000 /dev/zero | tr '\0' a)
segs=$(printf 'a/%.0s' $(seq 32))a

# ---- the server, its caches and what is there before the matrix ---------------------
step "start the server; set up caches, a path in 'other', a staged NAR in 'main'"
key=$(admin cache create main --public --edge)
admin cache create other >/dev/null
admin cache create up --allow-upstream-references >/dev/null
token=$(admin make-token --sub bad-input --validity 1h --pull '*' --push '*' --create-cache '*' \
  --configure-cache '*')
printf 'machine 127.0.0.1 password %s\n' "$token" >"$tmp/netrc"
start_lab "$tmp/server.toml"
port=${lab_url##*:}
put() { curl -s -o "$tmp/body" -w '%{http_code}' -H "Authorization: Bearer $token" -T "$2" "$lab_url$1"; }
[[ $(put /other/nar/other.nar "$in/other.nar") == 200 ]] || fail "setup: NAR to other: $(cat "$tmp/body")"
[[ $(put "/other/$X.narinfo" "$in/ni-other") == 200 ]] || fail "setup: narinfo to other: $(cat "$tmp/body")"
# The same reference is fine where the cache allows upstream references.
[[ $(put /up/nar/other.nar "$in/other.nar") == 200 ]] || fail "setup: NAR to up: $(cat "$tmp/body")"
[[ $(put "/up/$Y.narinfo" "$in/ni-up") == 200 ]] || fail "a cache allowing upstream references refused: $(cat "$tmp/body")"
# A valid NAR staged under nar/staged.nar, waiting for its narinfo: the
# narinfo rows above name it, and must neither publish it nor consume it.
[[ $(put /main/nar/staged.nar "$in/staged.nar") == 200 ]] || fail "setup: staged NAR: $(cat "$tmp/body")"
state >"$tmp/state.0"
grep -q "^staged main nar/staged.nar " "$tmp/state.0" || fail "setup: no staged upload: $(cat "$tmp/state.0")"
grep -q "^path other /nix/store/$X-other " "$tmp/state.0" || fail "setup: other's path not published"
fsck_clean

# ---- running a row --------------------------------------------------------------------
# send REQUEST: prints "STATUS BODY" ("- " for no answer).
send() {
  local -a words
  read -r -a words <<<"$1"
  local method=${words[0]} target
  if [[ $method == RAW ]]; then
    local kind=${words[1]} body_file='' info_file='' count=''
    method=${words[2]} target=${words[3]}
    for word in "${words[@]:4}"; do
      case $word in
        @*) body_file=$in/${word#@} ;;
        info=*) info_file=$in/${word#info=} ;;
        send=*) count=${word#send=} ;;
        *) fail "unknown raw option $word" ;;
      esac
    done
    target=${target//\{H\}/$H}
    "$py" "$tmp/raw.py" "$port" "$token" "$kind" "$method" "$target" "$body_file" "$info_file" "$count"
    return
  fi
  target=${words[1]}
  target=${target//\{H\}/$H} target=${target//\{X\}/$X}
  target=${target//\{LONG\}/$long} target=${target//\{SEGS\}/$segs}
  local -a args=(-s --path-as-is -o "$tmp/body" -w '%{http_code}' -X "$method"
    -H "Authorization: Bearer $token")
  for word in "${words[@]:2}"; do
    case $word in
      @*) args+=(--data-binary "@$in/${word#@}") ;;
      chunked) args+=(-H 'Transfer-Encoding: chunked') ;;
      len=*) args+=(-H "Content-Length: ${word#len=}") ;;
      info=*) args+=(-H "X-Attic-Nar-Info: $(cat "$in/${word#info=}")") ;;
      preamble=*) args+=(-H "X-Attic-Nar-Info-Preamble-Size: ${word#preamble=}") ;;
      *) fail "unknown option $word" ;;
    esac
  done
  local status
  status=$(curl "${args[@]}" "$lab_url$target") || true
  [[ $status == 000 ]] && status=-
  printf '%s %s\n' "$status" "$(cat "$tmp/body" 2>/dev/null)"
  rm -f "$tmp/body"
}

# check_body BODY STATUS ERROR FRAGMENT: Attic's error body, exactly.
check_body() {
  jq -e --argjson code "$2" --arg error "$3" --arg fragment "$4" \
    '(keys == ["code", "error", "message"]) and .code == $code and .error == $error
     and (.message | length > 0) and (.message | contains($fragment))' <<<"$1" >/dev/null 2>&1
}

# check_stored BEFORE AFTER WHAT: nothing changed, or only unused chunks were added.
check_stored() {
  local diff
  diff=$(diff "$1" "$2" | grep '^[<>]' || true)
  case $3 in
    nothing) [[ -z $diff ]] || { echo "$diff"; return 1; } ;;
    unused-chunks)
      [[ -n $diff ]] || { echo "nothing was stored: the row should say 'nothing'"; return 1; }
      grep -v -E '^> (chunk [0-9a-f]{64} stored unused|object chunks/[0-9a-f]{64} [0-9a-f]{64})$' <<<"$diff" &&
        return 1
      return 0
      ;;
    *) echo "unknown stored value $3"; return 1 ;;
  esac
}

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

step "the bad-input matrix"
cp "$tmp/state.0" "$tmp/before"
cases=0
unused_rows=0
while IFS='|' read -r -u 3 name request status error stored fragment; do
  name=$(trim "$name") request=$(trim "$request") status=$(trim "$status")
  error=$(trim "$error") stored=$(trim "$stored") fragment=$(trim "$fragment")
  [[ -n $name ]] || continue
  answer=$(send "$request") || fail "$name: the request could not be sent"
  got_status=${answer%% *} body=${answer#* }
  [[ $got_status == "$status" ]] || fail "$name: status $got_status, expected $status: $body"
  if [[ $error != - ]]; then
    check_body "$body" "$status" "$error" "$fragment" ||
      fail "$name: error body $body, expected $status $error '$fragment'"
  fi
  kill -0 "$server_pid" 2>/dev/null || fail "$name: the server died"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$lab_url/healthz") == 200 ]] || fail "$name: /healthz"
  state >"$tmp/after"
  why=$(check_stored "$tmp/before" "$tmp/after" "$stored") || fail "$name: stored something ($stored expected): $why"
  mv "$tmp/after" "$tmp/before"
  [[ $stored == unused-chunks ]] && unused_rows=$((unused_rows + 1))
  fsck_clean
  cases=$((cases + 1))
  printf '  %-22s %-4s %-21s %s\n' "$name" "$status" "$error" "$stored"
done 3<<<"$matrix"
echo "== $cases bad-input cases run, each answered as documented; $unused_rows left only unused chunks"

step "no request failed on the server's side"
if grep -E '"status":5[0-9][0-9]' "$tmp/server.err"; then fail "the server answered 5xx"; fi

step "GC removes the unused chunks (gc.orphan_grace 3 s): the state is the set-up's again"
sleep 4
admin gc >"$tmp/gc.out" || fail "gc: $(cat "$tmp/gc.out")"
state >"$tmp/state.1"
diff "$tmp/state.0" "$tmp/state.1" || fail "the bad inputs left something behind after GC"
fsck_clean --verify-content

step "nix copy a valid path to main, substitute it back with require-sigs"
fresh_nix_env
nix_cmd copy --store "$tmp/root" --to "$lab_url/main?compression=zstd" --option netrc-file "$tmp/netrc" \
  "$valid" || fail "nix copy"
substitute "$tmp/fresh" "$lab_url/main" "$key" "$valid" || fail "substitution"
same_path "$tmp/fresh" "$valid"

step "the bucket and database hold the set-up's objects and the valid path's, nothing else"
state >"$tmp/state.2"
manifest=$(sed -n "s|^path main $valid \([0-9a-f]*\) .*|\1|p" "$tmp/state.2")
[[ -n $manifest ]] || fail "the valid path is not published"
chunks=$(sqlite3 -readonly "$db" "SELECT chunk_hash FROM nar_chunks WHERE manifest_hash = '$manifest'" | paste -sd'|')
allowed="^> (path main $valid $manifest |nar $manifest |chunk ($chunks) stored used$|object (manifests/$manifest|chunks/($chunks)|main/$valid_hash\.narinfo|main/$valid_hash\.ls) )"
extra=$(diff <(grep -v '^object sync/plan ' "$tmp/state.0") <(grep -v '^object sync/plan ' "$tmp/state.2") |
  grep '^[<>]' | grep -v -E "$allowed" || true)
[[ -z $extra ]] || fail "unexpected differences after the valid push: $extra"
fsck_clean --verify-content

step "graceful stop"
kill -TERM "$server_pid"
wait "$server_pid" || fail "the server exited with $? on SIGTERM"
server_pid=
echo "PASS: $cases bad-input cases"
