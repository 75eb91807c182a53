// bench/edge/narinfo_check_time.mjs WASM SAMPLE_JSON: the edge's wasm work
// for one narinfo alone, core.narinfoCheck (parse, store-hash and URL checks,
// Ed25519 verify against the cache's keys), run in Node on the module the
// Worker ships. SAMPLE_JSON is load_cache.mjs's check_sample.json: one of the
// benchmark's narinfos, its store hash and the trusted keys.
//
// Prints one line: "cpu_median_us=… wall_median_us=… wall_min_us=… batches=… calls_per_batch=… narinfo_bytes=…":
// per batch, the mean CPU time (process.cpuUsage: user + system, which time
// spent waiting for a core on a shared machine does not inflate) and wall
// time per call; the medians over batches.
// NIXEDGE_BENCH_CHECK_BATCHES (default 41) and _CALLS (default 200) change the sizes.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadCore } from '../../wasm-edge/src/core.mjs';

const [wasmPath, samplePath] = process.argv.slice(2);
if (!samplePath) {
  console.error('usage: node bench/edge/narinfo_check_time.mjs WASM SAMPLE_JSON');
  process.exit(2);
}
const batches = Number(process.env.NIXEDGE_BENCH_CHECK_BATCHES ?? 41);
const calls = Number(process.env.NIXEDGE_BENCH_CHECK_CALLS ?? 200);
const core = await loadCore(readFileSync(wasmPath));
const { narinfo, hash, trustedKeys } = JSON.parse(readFileSync(samplePath, 'utf8'));
// Bytes, as the Worker passes them (the R2 object's body).
const bytes = new TextEncoder().encode(narinfo);

const first = core.narinfoCheck(bytes, trustedKeys, hash);
if (!first.ok) throw new Error(`narinfoCheck refused the sample: ${first.name}: ${first.detail}`);
for (let i = 0; i < calls; ++i) core.narinfoCheck(bytes, trustedKeys, hash); // warm up (V8 tiers)

const wall = [];
const cpu = [];
let ok = 0;
for (let b = 0; b < batches; ++b) {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < calls; ++i) if (core.narinfoCheck(bytes, trustedKeys, hash).ok) ++ok;
  wall.push(((performance.now() - start) * 1000) / calls);
  const used = process.cpuUsage(cpuStart);
  cpu.push((used.user + used.system) / calls);
}
if (ok !== batches * calls) throw new Error(`narinfoCheck verified ${ok} of ${batches * calls}`);
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const f = (v) => v.toFixed(1);
console.log(
  `cpu_median_us=${f(median(cpu))} wall_median_us=${f(median(wall))} wall_min_us=${f(Math.min(...wall))} ` +
    `batches=${batches} calls_per_batch=${calls} narinfo_bytes=${bytes.length}`,
);
