// wasm micro-benchmarks: the C++ core compiled to wasm, called through
// core.mjs (so JS marshalling counts, as in the Worker), under Node; and the
// narinfo check once more inside workerd (Miniflare). Prints markdown table
// rows in the format of the native ones (bench/main.cpp), for bench/run.sh.
//
// Usage: node bench/wasm_bench.mjs build-wasm/wasm-edge/nixedge-edge.wasm
//   The edge module runs SHA-256 and the narinfo check (what the Worker runs);
//   nixedge-core.wasm next to it runs the lab-only parts (chunker, zstd, NAR).
//
// Each figure is the median of several timed runs after a warm-up run (V8
// compiles wasm with its baseline compiler first and tiers up hot functions).
// Throughput data: 48 MiB of deterministic mixed data (runs of zeros,
// text-like bytes, random bytes and repeats; tests/wasm/vector_data.mjs).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const { loadCore } = await import(path.join(root, 'wasm-edge/src/core.mjs'));
const { mixedBytes } = await import(path.join(root, 'tests/wasm/vector_data.mjs'));

const [edgePath] = process.argv.slice(2);
if (!edgePath) {
  console.error('usage: node bench/wasm_bench.mjs build-wasm/wasm-edge/nixedge-edge.wasm');
  process.exit(2);
}
const corePath = path.join(path.dirname(edgePath), 'nixedge-core.wasm');
for (const file of [edgePath, corePath]) {
  if (!existsSync(file)) {
    console.error(`wasm_bench: ${file} does not exist: build the wasm modules first (make build-wasm)`);
    process.exit(2);
  }
}
const edge = await loadCore(readFileSync(edgePath));
const core = await loadCore(readFileSync(corePath));

const MiB = 1 << 20;
const RUNS = 5;

// --- output, as bench/main.cpp prints it ----------------------------------------

function print({ what, where = 'wasm (Node)', value, unit, target = null, higherIsBetter = true }) {
  let row;
  if (target === null) {
    row = `| ${what} | ${where} | ${value.toFixed(1)} ${unit} | — | recorded |`;
  } else {
    const met = higherIsBetter ? value >= target : value <= target;
    row =
      `| ${what} | ${where} | ${value.toFixed(1)} ${unit} | ` +
      `${higherIsBetter ? '>=' : '<='} ${target.toFixed(0)} ${unit} | ${met ? 'met' : '**missed**'} |`;
  }
  console.log(row);
}

// --- timing ---------------------------------------------------------------------------

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

// Median seconds of `runs` timed calls of fn, after one untimed warm-up call.
function medianSeconds(fn, runs = RUNS) {
  fn();
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return median(times);
}

const mbPerS = (bytes, fn) => bytes / medianSeconds(fn) / 1e6;

function must(result, what) {
  if (!result.ok) throw new Error(`wasm_bench: ${what}: ${result.name}: ${result.detail}`);
  return result.value;
}

// --- data -----------------------------------------------------------------------------

const data = mixedBytes({ len: 48 * MiB, seed: 2024 });
const slices = [];
for (let at = 0; at < data.length; at += MiB) slices.push(data.subarray(at, Math.min(at + MiB, data.length)));

// A NAR of a realistic shape (as bench/nar_bench.cpp): a directory of three big
// files, then directories of 56 files (2% of 256 KiB .. 2 MiB, the others
// below a power of two from 16 B to 32 KiB, one in ten executable) and 8
// symlinks each; contents are slices of `data`.
function realisticNar(targetBytes) {
  let buffer = new Uint8Array(targetBytes + 16 * MiB);
  let size = 0;
  const ensure = (n) => {
    if (size + n <= buffer.length) return;
    const bigger = new Uint8Array(Math.max(buffer.length * 2, size + n));
    bigger.set(buffer.subarray(0, size));
    buffer = bigger;
  };
  const u64 = (n) => {
    ensure(8);
    new DataView(buffer.buffer).setBigUint64(size, BigInt(n), true);
    size += 8;
  };
  const str = (s) => {
    const bytes = typeof s === 'string' ? new TextEncoder().encode(s) : s;
    u64(bytes.length);
    ensure(bytes.length + 8);
    buffer.set(bytes, size);
    size += bytes.length;
    const pad = (8 - (bytes.length % 8)) % 8;
    buffer.fill(0, size, size + pad);
    size += pad;
  };
  let x = 42;
  const rng = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
  const name = (prefix, n) => prefix + String(n).padStart(6, '0');
  let written = 0;
  const file = (entryName, length) => {
    length = Math.min(length, data.length);
    const start = rng() % (data.length - length + 1);
    str('entry'), str('('), str('name'), str(entryName), str('node');
    str('('), str('type'), str('regular');
    if (rng() % 10 === 0) str('executable'), str('');
    str('contents'), str(data.subarray(start, start + length)), str(')');
    str(')');
    written += length;
  };
  const symlink = (entryName) => {
    str('entry'), str('('), str('name'), str(entryName), str('node');
    str('('), str('type'), str('symlink'), str('target'), str('../lib/libexample.so.1'), str(')');
    str(')');
  };
  const fileSize = () => {
    if (rng() % 100 < 2) return 256 * 1024 + (rng() % (1792 * 1024));
    return rng() % 2 ** (4 + (rng() % 12));
  };
  const directory = (entryName, body) => {
    str('entry'), str('('), str('name'), str(entryName), str('node');
    str('('), str('type'), str('directory');
    body();
    str(')'), str(')');
  };
  str('nix-archive-1');
  str('('), str('type'), str('directory');
  directory('big', () => {
    for (let i = 0; i < 3; ++i) file(name('f', i), 4 * MiB);
  });
  for (let d = 0; written < targetBytes; ++d) {
    directory(name('d', d), () => {
      for (let i = 0; i < 56; ++i) file(name('f', i), fileSize());
      for (let i = 0; i < 8; ++i) symlink(name('s', i));
    });
  }
  str(')');
  return buffer.slice(0, size);
}

// --- benchmarks -------------------------------------------------------------------------

function sha256() {
  return mbPerS(data.length, () => {
    for (const slice of slices) must(edge.sha256(slice), 'sha256');
  });
}

function fastcdc() {
  return mbPerS(data.length, () => must(core.chunkLengths(data, 256 * 1024, MiB, 4 * MiB), 'chunkLengths'));
}

// 1 MiB pieces stand in for chunks: one frame each, as the lab stores them.
function zstdCompress(level) {
  return mbPerS(data.length, () => {
    for (const slice of slices) must(core.zstdCompressFrame(slice, level), 'zstdCompressFrame');
  });
}

function zstdDecompress() {
  const frames = slices.map((slice) => must(core.zstdCompressFrame(slice, 3), 'zstdCompressFrame'));
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) all.set(f, at), (at += f.length);
  let out;
  const rate = mbPerS(data.length, () => (out = must(core.zstdDecompress(all), 'zstdDecompress')));
  if (out.length !== data.length) throw new Error(`wasm_bench: decompressed ${out.length} bytes, expected ${data.length}`);
  return rate;
}

function narListing(nar) {
  return mbPerS(nar.length, () => must(core.narListing(nar), 'narListing'));
}

const nixcache = path.join(root, 'tests/data/nixcache');
// A narinfo Nix signed, with references and a deriver.
const narinfo = readFileSync(path.join(nixcache, 'cache/9x6an4y7k25h1ms4gc5i3wjjb1rfc8sp.narinfo'), 'utf8');
const publicKey = readFileSync(path.join(nixcache, 'pk'), 'utf8').trim();

function narinfoVerifyUs() {
  const iterations = 2000;
  must(edge.narinfoVerify(narinfo, publicKey), 'narinfoVerify');
  const seconds = medianSeconds(() => {
    for (let i = 0; i < iterations; ++i) edge.narinfoVerify(narinfo, publicKey);
  }, 7);
  return (seconds / iterations) * 1e6;
}

// Inside workerd, Date.now() stands still during CPU work, so the Worker cannot
// time itself: time from Node a request that runs N checks, minus one that runs
// none (routing, Miniflare's hop), divided by N.
async function narinfoVerifyWorkerdUs() {
  let Miniflare;
  try {
    ({ Miniflare } = await import('miniflare'));
  } catch (e) {
    console.error(`wasm_bench: no miniflare (run npm ci), skipping the workerd row: ${e.message}`);
    return null;
  }
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
  process.env.WRANGLER_SEND_METRICS ??= 'false';
  const worker = `
import wasm from './nixedge-edge.wasm';
import { loadCore } from './core.mjs';
const core = await loadCore(wasm);
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n'));
    const narinfo = url.searchParams.get('narinfo');
    const key = url.searchParams.get('key');
    let ok = 0;
    for (let i = 0; i < n; ++i) if (core.narinfoVerify(narinfo, key).ok) ++ok;
    return new Response(String(ok));
  },
};`;
  const mf = new Miniflare({
    modules: [
      { type: 'ESModule', path: 'worker.mjs', contents: worker },
      { type: 'ESModule', path: 'core.mjs', contents: readFileSync(path.join(root, 'wasm-edge/src/core.mjs'), 'utf8') },
      { type: 'CompiledWasm', path: 'nixedge-edge.wasm', contents: readFileSync(edgePath) },
    ],
    compatibilityDate: '2025-01-01',
    cf: false,
  });
  try {
    const n = 2000;
    const request = async (count) => {
      const url = new URL('http://localhost/');
      url.searchParams.set('n', String(count));
      url.searchParams.set('narinfo', narinfo);
      url.searchParams.set('key', publicKey);
      const start = process.hrtime.bigint();
      const res = await mf.dispatchFetch(url);
      const text = await res.text();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (text !== String(count)) throw new Error(`wasm_bench: workerd verified ${text} of ${count}`);
      return seconds;
    };
    for (let i = 0; i < 3; ++i) await request(n); // warm-up: tier-up of the hot wasm functions
    const busy = [];
    const idle = [];
    for (let i = 0; i < 7; ++i) {
      idle.push(await request(0));
      busy.push(await request(n));
    }
    return ((median(busy) - median(idle)) / n) * 1e6;
  } finally {
    await mf.dispose();
  }
}

print({ what: 'SHA-256 (1 MiB calls)', value: sha256(), unit: 'MB/s' });
print({ what: 'FastCDC boundaries (256K/1M/4M)', value: fastcdc(), unit: 'MB/s' });
print({ what: 'zstd compress, level 3 (lab default), frame per chunk', value: zstdCompress(3), unit: 'MB/s' });
print({ what: 'zstd decompress, concatenated frames', value: zstdDecompress(), unit: 'MB/s' });
const nar = realisticNar(48 * MiB);
print({ what: `NAR parse + listing, realistic mix (${Math.round(nar.length / MiB)} MiB)`, value: narListing(nar), unit: 'MB/s' });
const narinfoTarget = { unit: 'µs', target: 100, higherIsBetter: false };
print({ what: 'narinfo parse + Ed25519 verify', value: narinfoVerifyUs(), ...narinfoTarget });
const inWorkerd = await narinfoVerifyWorkerdUs();
if (inWorkerd !== null) {
  print({ what: 'narinfo parse + Ed25519 verify (workerd)', where: 'wasm (workerd)', value: inWorkerd, ...narinfoTarget });
}
