#!/usr/bin/env python3
"""A lab bucket of about OBJECTS small synthetic objects, laid out as the lab
server writes it (docs/bucket-layout.md), for the sync listing benchmark
(bench/prod_bench.sh):

    synthetic_bucket.py DIR OBJECTS [CACHE]

writes under DIR: nixedge-layout, CACHE/nix-cache-info, and per store path
one narinfo (Nix's field order, URL nar/<manifest>.nar.zst, a well-formed
but meaningless Sig), one manifest in the real format (docs/manifest-format.md,
named by the SHA-256 of its bytes) and two chunks on average (random bytes
of 200-800, named by their SHA-256; not zstd frames: the sync never looks
inside), plus sync/plan in the real format (shared/include/nixedge/
sync_plan.hpp): the chunks and manifests sorted as immutable keys, then the
layout marker, the nix-cache-info and the narinfos as mutable ones. A
quarter of the objects are narinfos, a quarter manifests, half chunks.
Prints "objects immutable mutable bytes" on stdout.
"""
import base64
import hashlib
import os
import random
import sys

NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"


def nix32(digest: bytes) -> str:
    """Nix's base32 of a digest (as in nix-hash --to-base32)."""
    n = len(digest) * 8
    length = (n - 1) // 5 + 1
    out = []
    for k in range(length - 1, -1, -1):
        b = k * 5
        i, j = divmod(b, 8)
        c = digest[i] >> j
        if i + 1 < len(digest):
            c |= digest[i + 1] << (8 - j)
        out.append(NIX32[c & 0x1F])
    return "".join(out)


def write(root: str, key: str, data: bytes) -> None:
    path = os.path.join(root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main() -> None:
    root, objects = sys.argv[1], int(sys.argv[2])
    cache = sys.argv[3] if len(sys.argv) > 3 else "bench"
    rng = random.Random(objects)  # the same bucket for the same size
    paths = max(1, (objects - 2) // 4)
    chunks = max(paths, objects - 2 - 2 * paths)
    total = 0

    chunk_rows = []  # (hex, raw size, stored size)
    for _ in range(chunks):
        data = rng.randbytes(rng.randint(200, 800))
        name = hashlib.sha256(data).hexdigest()
        write(root, f"chunks/{name}", data)
        chunk_rows.append((name, len(data) * 3, len(data)))
        total += len(data)

    store_hashes = [nix32(rng.randbytes(20)) for _ in range(paths)]
    narinfos = []
    manifests = []
    for i in range(paths):
        # Every chunk in exactly one manifest (chunks >= paths: one or more each).
        rows = chunk_rows[i * chunks // paths:(i + 1) * chunks // paths]
        nar_size = sum(r[1] for r in rows)
        file_size = sum(r[2] for r in rows)
        nar_hash = nix32(hashlib.sha256(f"nar {i}".encode()).digest())
        text = f"nixedge-manifest 1\nnar-hash sha256:{nar_hash}\nnar-size {nar_size}\n"
        text += "".join(f"chunk {h} {raw} {stored}\n" for h, raw, stored in rows)
        manifest = text.encode()
        mname = hashlib.sha256(manifest).hexdigest()
        write(root, f"manifests/{mname}", manifest)
        manifests.append(mname)
        total += len(manifest)

        name = f"{store_hashes[i]}-bench-{i}"
        refs = " ".join(sorted(f"{store_hashes[j]}-bench-{j}" for j in rng.sample(range(i), min(i, rng.randint(0, 6)))))
        sig = base64.b64encode(hashlib.sha512(name.encode()).digest()).decode()
        narinfo = (
            f"StorePath: /nix/store/{name}\n"
            f"URL: nar/{mname}.nar.zst\n"
            "Compression: zstd\n"
            f"FileSize: {file_size}\n"
            f"NarHash: sha256:{nar_hash}\n"
            f"NarSize: {nar_size}\n"
            f"References: {refs}\n"
            f"Deriver: {nix32(rng.randbytes(20))}-bench-{i}.drv\n"
            f"Sig: bench-1:{sig}\n"
        ).encode()
        key = f"{cache}/{store_hashes[i]}.narinfo"
        write(root, key, narinfo)
        narinfos.append(key)
        total += len(narinfo)

    write(root, "nixedge-layout", b"1\n")
    info = b"StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n"
    write(root, f"{cache}/nix-cache-info", info)
    total += 2 + len(info)

    immutable = sorted([f"chunks/{r[0]}" for r in chunk_rows] + [f"manifests/{m}" for m in set(manifests)])
    mutable = ["nixedge-layout", f"{cache}/nix-cache-info"] + narinfos
    plan = "nixedge-sync-plan 1\n"
    plan += "".join(f"immutable {k}\n" for k in immutable)
    plan += "".join(f"mutable {k}\n" for k in mutable)
    write(root, "sync/plan", plan.encode())
    print(len(immutable) + len(mutable), len(immutable), len(mutable), total)


if __name__ == "__main__":
    main()
