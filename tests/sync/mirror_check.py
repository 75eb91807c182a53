#!/usr/bin/env python3
"""The mirror invariant of the plan-driven sync, on a mirror held in a local
directory: every narinfo's manifest and every chunk that manifest lists are
there, and nothing of a cache that must not leave the lab is.

Usage: mirror_check.py MIRROR_DIR [FORBIDDEN_CACHE...]
Prints one line per violation and exits 1 if there is any."""
import os
import re
import sys

mirror, forbidden = sys.argv[1], sys.argv[2:]
problems = []
for directory, _, files in os.walk(mirror):
    for name in files:
        key = os.path.relpath(os.path.join(directory, name), mirror)
        cache = key.split('/', 1)[0]
        if cache in forbidden:
            problems.append(f'{key}: an object of cache {cache!r} is in the mirror')
        if not key.endswith('.narinfo'):
            continue
        with open(os.path.join(mirror, key)) as f:
            url = re.search(r'^URL: nar/([0-9a-f]{64})\.nar\.zst$', f.read(), re.M)
        if not url:
            problems.append(f'{key}: no manifest URL')
            continue
        manifest = os.path.join(mirror, 'manifests', url.group(1))
        if not os.path.exists(manifest):
            problems.append(f'{key}: manifest {url.group(1)} missing')
            continue
        with open(manifest) as f:
            for line in f:
                if line.startswith('chunk '):
                    chunk = line.split()[1]
                    if not os.path.exists(os.path.join(mirror, 'chunks', chunk)):
                        problems.append(f'{key}: chunk {chunk} missing')
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
