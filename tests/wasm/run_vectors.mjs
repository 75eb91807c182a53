// Runs the vectors of make_vectors' JSON file against a wasm module through
// core.mjs and compares status and result bytes with the native outcome. Also
// checks the ABI itself (argument validation, error names, which operations
// the module has). Prints `N passed, M failed`; exits non-zero on any failure.
//
// The module is nixedge-core.wasm (every operation: every vector runs) or
// nixedge-edge.wasm (the edge operations: their vectors run, and the module
// must lack every lab operation).
//
// zstdCompressFrame vectors cannot compare bytes (zstd 1.5.7 here, 1.5.4
// natively): the frame must declare the input's length as its content size
// and carry a checksum, and with --frames-out FILE the frames are written for
// check_frames (native) to decompress with the native libzstd.
//
// Usage: node run_vectors.mjs MODULE.wasm vectors.json [--frames-out frames.json]
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const { loadCore, OPERATIONS } = await import(path.join(here, '../../wasm-edge/src/core.mjs'));
const { argBytes } = await import(path.join(here, 'vector_data.mjs'));

const args = process.argv.slice(2);
let framesOut = null;
const framesAt = args.indexOf('--frames-out');
if (framesAt >= 0) [, framesOut] = args.splice(framesAt, 2);
const [modulePath, vectorsPath] = args;
if (!modulePath || !vectorsPath) {
  console.error('usage: node run_vectors.mjs MODULE.wasm vectors.json [--frames-out frames.json]');
  process.exit(2);
}
if (!existsSync(modulePath)) {
  console.error(`run_vectors: ${modulePath} does not exist: build the wasm modules first (make build-wasm)`);
  process.exit(2);
}

const wasm = readFileSync(modulePath);
const core = await loadCore(wasm);
console.log(
  `module: ${modulePath} (${core.kind}): ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} gzipped`,
);
const doc = JSON.parse(readFileSync(vectorsPath, 'utf8'));
if (doc.version !== 1) {
  console.error(`run_vectors: unsupported vector file version ${doc.version}`);
  process.exit(2);
}

function argValue(arg) {
  if ('u32' in arg) return arg.u32;
  if ('i32' in arg) return arg.i32;
  return argBytes(arg);
}

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const preview = (s) => (s.length > 120 ? `${s.slice(0, 120)}...` : s);
const previewBytes = (bytes) => `${bytes.length} bytes: ${preview(Buffer.from(bytes.subarray(0, 200)).toString())}`;

// A zstd frame header (RFC 8878 3.1.1.1): its declared content size (a BigInt,
// or null if absent) and whether a checksum follows the last block.
function zstdFrameHeader(frame) {
  if (frame.length < 6 || frame.readUInt32LE(0) !== 0xfd2fb528) return null;
  const fhd = frame[4];
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const checksum = ((fhd >> 2) & 1) === 1;
  const dictIdBytes = [0, 1, 2, 4][fhd & 3];
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  let at = 5 + (singleSegment ? 0 : 1) + dictIdBytes;
  if (frame.length < at + fcsBytes) return null;
  let size = null;
  if (fcsBytes > 0) {
    size = 0n;
    for (let i = fcsBytes - 1; i >= 0; --i) size = (size << 8n) | BigInt(frame[at + i]);
    if (fcsBytes === 2) size += 256n;
  }
  return { contentSize: size, checksum };
}

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

const frames = [];
let skipped = 0;
for (const v of doc.vectors) {
  if (!(v.op in OPERATIONS)) {
    record(v.name, v.op, `operation ${v.op} is not in core.mjs OPERATIONS`);
    continue;
  }
  if (!core.has(v.op)) {
    ++skipped; // a lab operation on the edge module (its absence is checked below)
    continue;
  }
  const inputs = v.args.map(argValue);
  const got = core.callRaw(v.op, inputs);
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
  } else if ('zstdFrame' in want) {
    const header = zstdFrameHeader(Buffer.from(got.bytes));
    if (header === null) problem = `not a zstd frame: ${hex(got.bytes.subarray(0, 16))}`;
    else if (header.contentSize !== BigInt(want.zstdFrame.contentSize))
      problem = `frame declares content size ${header.contentSize}, input has ${want.zstdFrame.contentSize}`;
    else if (!header.checksum) problem = 'frame has no checksum';
    else frames.push({ name: v.name, args: v.args, frame: hex(got.bytes) });
  } else if (!('hex' in want) && !('sha256' in want)) {
    problem = `vector has no expectation this harness knows: ${JSON.stringify(want)}`;
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
  if (!core.has(name)) {
    // Only lab operations may be missing, and only from the edge module.
    const absent = core.kind === 'edge' && op.module === 'lab' && !(op.fn in ex);
    record(`abi/edge-module-lacks/${name}`, 'abi', absent ? null : `${op.fn} missing from the ${core.kind} module`);
    continue;
  }
  // One (null, 5) pair in place of the first byte argument must be refused, not read.
  const params = [];
  let first = true;
  for (const kind of op.args) {
    if (kind !== 'bytes') params.push(0);
    else params.push(0, first ? 5 : 0);
    if (kind === 'bytes') first = false;
  }
  const status = ex[op.fn](...params);
  record(`abi/null-pointer/${name}`, 'abi', status === invalidArgument ? null : `status ${status}`);
}
// The file names say which module it must be.
const expectedKind = { 'nixedge-edge.wasm': 'edge', 'nixedge-core.wasm': 'core' }[path.basename(modulePath)];
if (expectedKind) {
  record('abi/module-kind', 'abi', core.kind === expectedKind ? null : `${path.basename(modulePath)} is a ${core.kind} module`);
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

if (framesOut !== null) {
  writeFileSync(framesOut, JSON.stringify({ version: 1, frames }) + '\n');
  console.log(`zstd frames made in wasm: ${frames.length} -> ${framesOut}`);
}
for (const f of failures) console.log(`FAIL ${f}`);
for (const [op, s] of perOp) console.log(`  ${op}: ${s.passed} passed${s.failed ? `, ${s.failed} failed` : ''}`);
console.log(`${passed} passed, ${failures.length} failed${skipped ? `, ${skipped} lab vectors not for this module` : ''}`);
process.exit(failures.length === 0 ? 0 : 1);
