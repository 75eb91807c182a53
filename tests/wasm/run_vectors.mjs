// Runs every vector of make_vectors' JSON file against the wasi-built edge
// module through core.mjs and compares status and result bytes with the native
// outcome. Also checks the ABI itself (argument validation, error names).
// Prints `N passed, M failed`; exits non-zero on any failure.
//
// Usage: node run_vectors.mjs path/to/nixedge-edge.wasm path/to/vectors.json
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const { loadCore, OPERATIONS } = await import(path.join(here, '../../wasm-edge/src/core.mjs'));

const [modulePath, vectorsPath] = process.argv.slice(2);
if (!modulePath || !vectorsPath) {
  console.error('usage: node run_vectors.mjs nixedge-edge.wasm vectors.json');
  process.exit(2);
}
if (!existsSync(modulePath)) {
  console.error(`run_vectors: ${modulePath} does not exist: build the wasm module first (make build-wasm)`);
  process.exit(2);
}

const wasm = readFileSync(modulePath);
console.log(`module: ${modulePath}: ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} gzipped`);
const core = await loadCore(wasm);
const doc = JSON.parse(readFileSync(vectorsPath, 'utf8'));
if (doc.version !== 1) {
  console.error(`run_vectors: unsupported vector file version ${doc.version}`);
  process.exit(2);
}

// The same generator as pattern_bytes() in make_vectors.cpp.
function patternBytes({ len, seed }) {
  const out = new Uint8Array(len);
  let x = seed >>> 0;
  for (let i = 0; i < len; ++i) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function argValue(arg) {
  if ('hex' in arg) return Buffer.from(arg.hex, 'hex');
  if ('u32' in arg) return arg.u32;
  if ('pattern' in arg) return patternBytes(arg.pattern);
  throw new Error(`unknown argument ${JSON.stringify(arg)}`);
}

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const preview = (s) => (s.length > 120 ? `${s.slice(0, 120)}...` : s);
const previewBytes = (bytes) => `${bytes.length} bytes: ${preview(Buffer.from(bytes.subarray(0, 200)).toString())}`;

let passed = 0;
const failures = [];
const perOp = new Map();

function record(name, op, problem) {
  const stats = perOp.get(op) ?? { passed: 0, failed: 0 };
  perOp.set(op, stats);
  if (problem === null) {
    ++passed;
    ++stats.passed;
  } else {
    ++stats.failed;
    failures.push(`${name}: ${problem}`);
  }
}

for (const v of doc.vectors) {
  if (!(v.op in OPERATIONS)) {
    record(v.name, v.op, `operation ${v.op} is not in core.mjs OPERATIONS`);
    continue;
  }
  const got = core.callRaw(v.op, v.args.map(argValue));
  const want = v.expect;
  let problem = null;
  if (got.status !== want.status) {
    problem =
      `status: native ${want.status} (${want.error || 'ok'}), wasm ${got.status} ` +
      `(${got.status ? core.errorName(got.status) : 'ok'}, ${previewBytes(got.bytes)})`;
  } else if ('hex' in want && hex(got.bytes) !== want.hex) {
    problem =
      want.status === 0
        ? `bytes differ: native ${preview(want.hex)}, wasm ${preview(hex(got.bytes.subarray(0, 100)))}`
        : `error details differ: native "${preview(Buffer.from(want.hex, 'hex').toString())}", ` +
          `wasm "${preview(Buffer.from(got.bytes).toString())}"`;
  } else if ('sha256' in want && sha256(got.bytes) !== want.sha256) {
    problem = `bytes differ (${got.bytes.length} bytes, sha256 ${sha256(got.bytes)} vs native ${want.sha256})`;
  }
  if (problem === null && got.status === 0 && OPERATIONS[v.op].result === 'json') {
    try {
      JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(got.bytes));
    } catch (e) {
      problem = `result is not valid JSON: ${e.message}`;
    }
  }
  record(v.name, v.op, problem);
}

// --- ABI checks (wasm only; no native counterpart) ---------------------------
const ex = core.exports;
const invalidArgument = core.codeOf('invalid_argument');
for (const [name, op] of Object.entries(OPERATIONS)) {
  // One (null, 5) pair in place of the first byte argument must be refused, not read.
  const params = [];
  let first = true;
  for (const kind of op.args) {
    if (kind === 'u32') params.push(0);
    else params.push(0, first ? 5 : 0);
    if (kind !== 'u32') first = false;
  }
  const status = ex[op.fn](...params);
  record(`abi/null-pointer/${name}`, 'abi', status === invalidArgument ? null : `status ${status}`);
}
record('abi/error-names', 'abi',
  core.errorName(1) === 'invalid_encoding' && core.errorName(14) === 'internal' && core.errorName(999) === 'unknown'
    ? null
    : 'error code names do not match result.hpp');
record('abi/alloc-zero', 'abi', ex.ne_alloc(0) !== 0 ? null : 'ne_alloc(0) returned 0');
const friendly = core.toHex(new Uint8Array([0xde, 0xad]));
record('abi/friendly-ok', 'abi', friendly.ok && friendly.value === 'dead' ? null : JSON.stringify(friendly));
const friendlyErr = core.fromHex('zz');
record('abi/friendly-error', 'abi',
  !friendlyErr.ok && friendlyErr.name === 'invalid_encoding' && friendlyErr.detail.length > 0
    ? null
    : JSON.stringify(friendlyErr));

// A trap (here: reading past the end of memory) becomes an `internal` error and
// the next call runs on a fresh instance.
const trap = core.call({ fn: 'ne_sha256', args: ['u32', 'u32'], result: 'bytes' }, [0xffff0000, 0x10000]);
record('abi/trap-is-internal-error', 'abi',
  !trap.ok && trap.name === 'internal' && /trap/.test(trap.detail) ? null : JSON.stringify(trap));
const afterTrap = core.toHex(new Uint8Array([1]));
record('abi/fresh-instance-after-trap', 'abi', afterTrap.ok && afterTrap.value === '01' ? null : JSON.stringify(afterTrap));

for (const f of failures) console.log(`FAIL ${f}`);
for (const [op, s] of perOp) console.log(`  ${op}: ${s.passed} passed${s.failed ? `, ${s.failed} failed` : ''}`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
