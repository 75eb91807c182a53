// bench/edge/load_cache.mjs: the synthetic cache of the edge benchmark
// (bench/edge_bench.sh), put into a local R2 bucket the way the lab lays it
// out (docs/bucket-layout.md, docs/manifest-format.md), plus the whole-object
// copy of each NAR that the naive baseline Worker serves.
//
//   node bench/edge/load_cache.mjs WASM R2_PERSIST_DIR OUT_DIR [options]
//     WASM             build-wasm/wasm-edge/nixedge-edge.wasm (narinfo fingerprints, nix32)
//     R2_PERSIST_DIR   Miniflare's R2 persistence directory: <wrangler --persist-to>/v3/r2
//     OUT_DIR          where the lists the benchmark needs are written (below)
//   options: --narinfos N (small paths, default 200), --nar-mib 8,16,32,64
//            (the download NARs' stored sizes), --chunk-kib 1024 (average stored chunk)
//
// The bucket (binding BUCKET, bucket name nixedge-mirror, cache "main"):
//   chunks/<hex>, manifests/<hex>, main/<hash>.narinfo signed by a fresh
//   Ed25519 key (node:crypto), main/nix-cache-info, nixedge-layout: what the edge reads;
//   nar/<manifest>.nar.zst: each NAR's chunk frames concatenated, one object (the naive Worker's).
// Chunk bytes are random: the edge never decompresses them, so only their
// sizes matter. Raw sizes are twice the stored ones, as if zstd halved them.
//
// OUT_DIR gets: trusted_keys.json (the TRUSTED_KEYS var), narinfo_paths (URL
// paths of every narinfo), missing_paths (narinfo paths the bucket lacks),
// nar_paths_edge / nar_paths_naive (the download NARs' URL paths on each
// Worker), nars.tsv (edge path, naive path, bytes, chunks, sha256 of the
// bytes), check_sample.json (one narinfo, its hash and the keys, for the
// narinfo-check timing) and summary.json.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { loadCore } from '../../wasm-edge/src/core.mjs';

const [wasmPath, r2Dir, outDir, ...rest] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node bench/edge/load_cache.mjs WASM R2_PERSIST_DIR OUT_DIR [--narinfos N] [--nar-mib a,b,..] [--chunk-kib K]');
  process.exit(2);
}
const option = (name, fallback) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : fallback;
};
const narinfoCount = Number(option('--narinfos', '200'));
const narMib = option('--nar-mib', '8,16,32,64').split(',').map(Number);
const chunkBytes = Number(option('--chunk-kib', '1024')) * 1024;
const CACHE = 'main';

const core = await loadCore(readFileSync(wasmPath));
const must = (result, what) => {
  if (!result.ok) throw new Error(`${what}: ${result.name}: ${result.detail}`);
  return result.value;
};
const sha256 = (bytes) => createHash('sha256').update(bytes).digest();
const nix32 = (bytes) => must(core.toNix32(bytes), 'toNix32');

// The cache's signing key, made for this run only.
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const keyName = 'bench-edge-1';
const publicBase64 = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url').toString('base64');
const trustedKeys = { [CACHE]: [`${keyName}:${publicBase64}`] };

const mf = new Miniflare({
  modules: true,
  script: 'export default { fetch() { return new Response(null, { status: 404 }); } }',
  r2Buckets: { BUCKET: 'nixedge-mirror' },
  r2Persist: r2Dir,
  cf: false,
});
const bucket = await mf.getR2Bucket('BUCKET');
let putBytes = 0;
let putObjects = 0;
const put = async (key, bytes) => {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  await bucket.put(key, data);
  putBytes += data.length;
  putObjects += 1;
};

// Stored chunk sizes around `chunkBytes` (0.5x to 1.5x), summing to `total`.
function chunkSizes(total) {
  const sizes = [];
  let left = total;
  while (left > 0) {
    const size = Math.min(left, Math.round(chunkBytes * (0.5 + Math.random())));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

// One path: its chunks, manifest and whole NAR object; returns what its narinfo needs.
async function publishNar(storedSizes, { whole }) {
  const frames = storedSizes.map((n) => randomBytes(n));
  const rawSizes = storedSizes.map((n) => n * 2);
  const narSize = rawSizes.reduce((a, b) => a + b, 0);
  const all = Buffer.concat(frames);
  let manifest = `nixedge-manifest 1\nnar-hash sha256:${nix32(sha256(all))}\nnar-size ${narSize}\n`;
  for (let i = 0; i < frames.length; ++i) {
    const hash = sha256(Buffer.concat([frames[i], Buffer.from([i & 0xff])])).toString('hex');
    manifest += `chunk ${hash} ${rawSizes[i]} ${frames[i].length}\n`;
    await put(`chunks/${hash}`, frames[i]);
  }
  const name = must(core.manifestName(manifest), 'manifestName');
  await put(`manifests/${name}`, manifest);
  if (whole) await put(`nar/${name}.nar.zst`, all);
  return { manifest: name, fileSize: all.length, narHash: `sha256:${nix32(sha256(all))}`, narSize, bytes: all, chunks: frames.length };
}

const storeHash = () => nix32(randomBytes(20));
const names = ['hello-2.12.1', 'glibc-2.39-52', 'openssl-3.0.14', 'python3-3.12.4', 'gcc-13.3.0-lib', 'zlib-1.3.1', 'bash-5.2p32', 'coreutils-9.5', 'perl-5.38.2', 'curl-8.9.0-bin'];
const paths = [];
for (let i = 0; i < narinfoCount + narMib.length; ++i) {
  const hash = storeHash();
  paths.push({ hash, storePath: `/nix/store/${hash}-${names[i % names.length]}` });
}

// Nix's narinfo text, field order as Nix writes it; the fingerprint from the core.
function narinfoText(p, nar, references, deriver, sigs) {
  return (
    `StorePath: ${p.storePath}\nURL: nar/${nar.manifest}.nar.zst\nCompression: zstd\nFileSize: ${nar.fileSize}\n` +
    `NarHash: ${nar.narHash}\nNarSize: ${nar.narSize}\nReferences: ${references.join(' ')}\n` +
    `Deriver: ${deriver}\n` +
    sigs.map((s) => `Sig: ${s}\n`).join('')
  );
}

const narinfoPaths = [];
let sample = null;
const narRows = [];
for (let i = 0; i < paths.length; ++i) {
  const p = paths[i];
  const big = i >= narinfoCount;
  const nar = big
    ? await publishNar(chunkSizes(narMib[i - narinfoCount] << 20), { whole: true })
    : await publishNar(chunkSizes(4096 + Math.floor(Math.random() * 60000)), { whole: false });
  // Up to 12 references to other paths of the set (itself included now and then, as Nix does).
  const refCount = Math.floor(Math.random() * 13);
  const refs = new Set();
  for (let r = 0; r < refCount; ++r) {
    const other = paths[Math.floor(Math.random() * paths.length)];
    refs.add(other.storePath.slice('/nix/store/'.length));
  }
  const references = [...refs].sort();
  const deriver = `${storeHash()}-${names[i % names.length]}.drv`;
  const fingerprint = must(core.narinfoFingerprint(narinfoText(p, nar, references, deriver, [])), 'narinfoFingerprint');
  const sig = `${keyName}:${sign(null, Buffer.from(fingerprint), privateKey).toString('base64')}`;
  const text = narinfoText(p, nar, references, deriver, [sig]);
  must(core.narinfoCheck(text, trustedKeys[CACHE].join(' '), p.hash), 'narinfoCheck of a benchmark narinfo');
  await put(`${CACHE}/${p.hash}.narinfo`, text);
  narinfoPaths.push(`/${CACHE}/${p.hash}.narinfo`);
  if (sample === null && references.length >= 5) sample = { narinfo: text, hash: p.hash, trustedKeys: trustedKeys[CACHE].join(' ') };
  if (big) {
    narRows.push([`/${CACHE}/nar/${nar.manifest}.nar.zst`, `/nar/${nar.manifest}.nar.zst`, nar.fileSize, nar.chunks, sha256(nar.bytes).toString('hex')]);
  }
}
await put(`${CACHE}/nix-cache-info`, 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n');
await put('nixedge-layout', '1\n');
await mf.dispose();

const missing = Array.from({ length: narinfoCount }, () => `/${CACHE}/${storeHash()}.narinfo`);
mkdirSync(outDir, { recursive: true });
const out = (name, text) => writeFileSync(path.join(outDir, name), text);
out('trusted_keys.json', JSON.stringify(trustedKeys));
out('narinfo_paths', narinfoPaths.join('\n') + '\n');
out('missing_paths', missing.join('\n') + '\n');
out('nar_paths_edge', narRows.map((r) => r[0]).join('\n') + '\n');
out('nar_paths_naive', narRows.map((r) => r[1]).join('\n') + '\n');
out('nars.tsv', narRows.map((r) => r.join('\t')).join('\n') + '\n');
out('check_sample.json', JSON.stringify(sample ?? { narinfo: '', hash: '', trustedKeys: '' }));
const summary = {
  narinfos: narinfoPaths.length,
  smallPaths: narinfoCount,
  nars: narRows.map((r) => ({ bytes: r[2], chunks: r[3] })),
  objects: putObjects,
  bytes: putBytes,
  sampleNarinfoBytes: sample ? Buffer.byteLength(sample.narinfo) : 0,
};
out('summary.json', JSON.stringify(summary));
console.log(JSON.stringify(summary));
