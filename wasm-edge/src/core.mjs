// Thin JS wrapper over the C++ core compiled to wasm: nixedge-edge.wasm (what
// the Worker ships: the 'edge' operations) or nixedge-core.wasm (the same plus
// the 'lab' operations, for vectors and benchmarks). No I/O here: it only
// moves bytes in and out of the module. Works in Node (give it the .wasm bytes)
// and in workerd (give it the WebAssembly.Module that `import m from './x.wasm'`
// yields).
//
//   const core = await loadCore(moduleOrBytes);
//   core.sha256(bytes)            -> {ok: true, value: Uint8Array(32)}
//   core.fromHex('zz')            -> {ok: false, code: 1, name: 'invalid_encoding', detail: '...'}
//   core.has('chunkLengths')      -> false on the edge module (and no core.chunkLengths)
//
// ABI (see abi.cpp): inputs are (ptr, len) pairs from ne_alloc; every
// export returns 0 or an ErrorCode; the output (value or error detail) is read
// from ne_result_ptr()/ne_result_len().

export const ABI_VERSION = 1;

// How many wasm instances this isolate has made: one, plus one per trap.
export const instanceStats = { instantiations: 0 };

// One row per operation; adding an export to exports_{edge,lab}.cpp means adding a row here.
// module: 'edge' = in both modules (a module without it is refused),
//         'lab'  = only in nixedge-core.wasm (absent from the edge module: tolerated).
// args: 'bytes' = Uint8Array or string (UTF-8), passed as (ptr, len);
//       'u32'   = integer in [0, 2^32); 'i32' = integer in [-2^31, 2^31).
// result: 'bytes' = Uint8Array (a copy), 'text' = string (UTF-8), 'json' = parsed JSON.
export const OPERATIONS = {
  toHex: { module: 'edge', fn: 'ne_hex_encode', args: ['bytes'], result: 'text' },
  fromHex: { module: 'edge', fn: 'ne_hex_decode', args: ['bytes'], result: 'bytes' },
  toNix32: { module: 'edge', fn: 'ne_nix32_encode', args: ['bytes'], result: 'text' },
  fromNix32: { module: 'edge', fn: 'ne_nix32_decode', args: ['bytes', 'u32'], result: 'bytes' },
  toBase64: { module: 'edge', fn: 'ne_base64_encode', args: ['bytes'], result: 'text' },
  fromBase64: { module: 'edge', fn: 'ne_base64_decode', args: ['bytes'], result: 'bytes' },
  sha256: { module: 'edge', fn: 'ne_sha256', args: ['bytes'], result: 'bytes' },
  narinfoParse: { module: 'edge', fn: 'ne_narinfo_parse', args: ['bytes'], result: 'json' },
  narinfoCanonical: { module: 'edge', fn: 'ne_narinfo_canonical', args: ['bytes'], result: 'text' },
  narinfoFingerprint: { module: 'edge', fn: 'ne_narinfo_fingerprint', args: ['bytes'], result: 'text' },
  // (narinfo, trusted keys "name:base64 ...") -> name of the key that signed it
  narinfoVerify: { module: 'edge', fn: 'ne_narinfo_verify', args: ['bytes', 'bytes'], result: 'text' },
  publicKeyParse: { module: 'edge', fn: 'ne_public_key_parse', args: ['bytes'], result: 'text' },
  // (public key "name:base64", message, signature "name:base64") -> ok or bad_signature
  signatureVerify: {
    module: 'edge',
    fn: 'ne_signature_verify',
    args: ['bytes', 'bytes', 'bytes'],
    result: 'text',
  },
  // manifest bytes -> {name, narHash, narSize, storedSize, chunks: [{hash, rawSize, storedSize}]}
  manifestDecode: { module: 'edge', fn: 'ne_manifest_decode', args: ['bytes'], result: 'json' },
  // bytes -> their name as a manifest (hex SHA-256), without decoding them
  manifestName: { module: 'edge', fn: 'ne_manifest_name', args: ['bytes'], result: 'text' },
  // (manifest bytes, Range header value or '') -> {status: 200|206|416, first, last,
  //  contentLength, contentRange, storedSize, span: {firstChunk, firstOffset, lastChunk, lastEnd} | null}
  rangePlan: { module: 'edge', fn: 'ne_range_plan', args: ['bytes', 'bytes'], result: 'json' },
  // "/nix/store/<hash>-<name>" -> {storePath, hash, name}
  storePathParse: { module: 'edge', fn: 'ne_store_path_parse', args: ['bytes'], result: 'json' },
  // cache name -> ok (empty) or invalid_cache_name
  cacheNameValidate: { module: 'edge', fn: 'ne_cache_name_validate', args: ['bytes'], result: 'text' },
  // "nar/<64 hex>.nar.zst" -> the manifest's name (64 hex)
  narUrlParse: { module: 'edge', fn: 'ne_nar_url_parse', args: ['bytes'], result: 'text' },
  // (kind, cache, hash) -> object key; kinds: layout_marker sync_plan sync_status
  // chunk manifest (hash) nix_cache_info (cache) narinfo listing (cache, store hash)
  bucketKey: { module: 'edge', fn: 'ne_bucket_key', args: ['bytes', 'bytes', 'bytes'], result: 'text' },
  // (URL path, default cache or '') -> {object, cache, hash, key, narinfoKey} (see operations.hpp)
  route: { module: 'edge', fn: 'ne_route', args: ['bytes', 'bytes'], result: 'json' },
  // (narinfo, trusted keys, store hash) -> {signer, manifest, manifestKey, narSize, fileSize}
  narinfoCheck: { module: 'edge', fn: 'ne_narinfo_check', args: ['bytes', 'bytes', 'bytes'], result: 'json' },
  // (manifest bytes, its name, Range header or '') -> rangePlan's answer + chunks: [{key, storedSize}]
  narPlan: { module: 'edge', fn: 'ne_nar_plan', args: ['bytes', 'bytes', 'bytes'], result: 'json' },

  // --- lab: nixedge-core.wasm only ---
  // (data, min, avg, max) -> [chunk length, ...] (FastCDC)
  chunkLengths: { module: 'lab', fn: 'ne_chunk_lengths', args: ['bytes', 'u32', 'u32', 'u32'], result: 'json' },
  // NAR -> Nix's .ls listing (JSON text, byte-exact as Nix writes it)
  narListing: { module: 'lab', fn: 'ne_nar_listing', args: ['bytes'], result: 'text' },
  // concatenated zstd frames -> raw bytes
  zstdDecompress: { module: 'lab', fn: 'ne_zstd_decompress', args: ['bytes'], result: 'bytes' },
  // (data, level) -> one zstd frame with content size and checksum
  zstdCompressFrame: { module: 'lab', fn: 'ne_zstd_compress_frame', args: ['bytes', 'i32'], result: 'bytes' },
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The reactor imports a few wasi_snapshot_preview1 functions that libc links
// in (and, depending on the build, maybe none). The core does no I/O, so each
// gets a stub: "no environment/arguments" for the size queries, ENOSYS for the
// rest, and proc_exit (only reached via exit/abort paths) traps.
const WASI_ENOSYS = 52;

function wasiStubs(module, memoryRef) {
  const wasi = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== 'wasi_snapshot_preview1' || imp.kind !== 'function') {
      throw new Error(`nixedge wasm: unexpected import ${imp.module}.${imp.name} (${imp.kind})`);
    }
    wasi[imp.name] = stubFor(imp.name, memoryRef);
  }
  return { wasi_snapshot_preview1: wasi };
}

function stubFor(name, memoryRef) {
  switch (name) {
    case 'proc_exit':
      return (code) => {
        throw new WebAssembly.RuntimeError(`nixedge wasm: proc_exit(${code})`);
      };
    case 'environ_sizes_get':
    case 'args_sizes_get':
      return (countPtr, sizePtr) => {
        const view = new DataView(memoryRef.memory.buffer);
        view.setUint32(countPtr, 0, true);
        view.setUint32(sizePtr, 0, true);
        return 0;
      };
    case 'environ_get':
    case 'args_get':
      return () => 0;
    default:
      return () => WASI_ENOSYS;
  }
}

class Core {
  #module;
  #exports = null;
  #memoryRef = { memory: null };
  #errorNames = new Map(); // code -> name, read from the module once
  #available = new Set(); // the OPERATIONS this module has
  #kind = 'edge';

  constructor(module) {
    this.#module = module;
    this.#instantiate();
    for (let code = 1; ; ++code) {
      this.#exports.ne_error_name(code);
      const name = this.#resultText();
      if (name === 'unknown') break;
      this.#errorNames.set(code, name);
    }
    // The core module has every operation; the edge module every 'edge' one.
    const hasExport = (op) => typeof this.#exports[op.fn] === 'function';
    const ops = Object.entries(OPERATIONS);
    this.#kind = ops.some(([, op]) => op.module === 'lab' && hasExport(op)) ? 'core' : 'edge';
    for (const [name, op] of ops) {
      if (!hasExport(op)) {
        if (op.module === 'lab' && this.#kind === 'edge') continue;
        throw new Error(`nixedge wasm: ${this.#kind} module lacks export ${op.fn} (for ${name})`);
      }
      this.#available.add(name);
      this[name] = (...args) => this.call(op, args);
    }
  }

  // Whether this module has operation `name` (lab operations: only the core module).
  has(name) {
    return this.#available.has(name);
  }

  // 'edge' (nixedge-edge.wasm: edge operations only) or 'core' (nixedge-core.wasm).
  get kind() {
    return this.#kind;
  }

  #instantiate() {
    const instance = new WebAssembly.Instance(this.#module, wasiStubs(this.#module, this.#memoryRef));
    instanceStats.instantiations += 1;
    this.#exports = instance.exports;
    this.#memoryRef.memory = instance.exports.memory;
    instance.exports._initialize();
    const abi = instance.exports.ne_abi_version();
    if (abi !== ABI_VERSION) {
      throw new Error(`nixedge wasm: module ABI ${abi}, wrapper expects ${ABI_VERSION}`);
    }
  }

  // The raw exports, for tests of the ABI itself.
  get exports() {
    return this.#exports;
  }

  errorName(code) {
    return this.#errorNames.get(code) ?? 'unknown';
  }

  codeOf(name) {
    for (const [code, n] of this.#errorNames) if (n === name) return code;
    throw new Error(`nixedge wasm: no error code named ${name}`);
  }

  // Runs one OPERATIONS row. Returns {ok: true, value} or {ok: false, code, name, detail}.
  call(op, args) {
    const { status, bytes } = this.#invoke(op, args);
    if (status !== 0) {
      return { ok: false, code: status, name: this.errorName(status), detail: decoder.decode(bytes) };
    }
    return { ok: true, value: decodeResult(bytes, op.result) };
  }

  // The same by operation name, with the status and the result buffer's bytes
  // untouched: {status, bytes}. For tests that compare outputs byte for byte.
  callRaw(name, args) {
    const op = OPERATIONS[name];
    if (!op) throw new TypeError(`nixedge wasm: no operation ${name}`);
    if (!this.#available.has(name)) throw new TypeError(`nixedge wasm: this ${this.#kind} module lacks ${name}`);
    return this.#invoke(op, args);
  }

  // Marshals the arguments, calls the export, copies the result buffer out.
  // A trap (a bug, or memory exhaustion) discards the instance; the next call
  // gets a fresh one.
  #invoke(op, args) {
    if (args.length !== op.args.length) {
      throw new TypeError(`${op.fn}: expected ${op.args.length} arguments, got ${args.length}`);
    }
    if (this.#exports === null) this.#instantiate();
    const ex = this.#exports;
    const allocated = [];
    try {
      const params = [];
      for (let i = 0; i < args.length; ++i) {
        if (op.args[i] === 'u32' || op.args[i] === 'i32') {
          params.push(toInt(args[i], op.args[i], op.fn));
          continue;
        }
        const bytes = toBytes(args[i], op.fn);
        if (bytes.length === 0) {
          params.push(0, 0);
          continue;
        }
        const ptr = ex.ne_alloc(bytes.length) >>> 0;
        if (ptr === 0) return this.#failure('limit_exceeded', `cannot allocate ${bytes.length} bytes`);
        allocated.push(ptr);
        new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
        params.push(ptr, bytes.length);
      }
      const status = ex[op.fn](...params);
      return { status, bytes: this.#resultBytes().slice() };
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      this.#exports = null;
      allocated.length = 0; // they lived in the discarded instance's memory
      return this.#failure('internal', `wasm trap in ${op.fn}: ${e.message}`);
    } finally {
      for (const ptr of allocated) ex.ne_free(ptr);
    }
  }

  #failure(name, detail) {
    return { status: this.codeOf(name), bytes: encoder.encode(detail) };
  }

  #resultBytes() {
    const ex = this.#exports;
    const len = ex.ne_result_len() >>> 0;
    return len === 0 ? new Uint8Array(0) : new Uint8Array(ex.memory.buffer, ex.ne_result_ptr() >>> 0, len);
  }

  #resultText() {
    return decoder.decode(this.#resultBytes());
  }
}

function decodeResult(bytes, kind) {
  switch (kind) {
    case 'bytes':
      return bytes;
    case 'text':
      return decoder.decode(bytes);
    case 'json':
      return JSON.parse(decoder.decode(bytes));
    default:
      throw new Error(`nixedge wasm: unknown result kind ${kind}`);
  }
}

function toBytes(value, fn) {
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${fn}: expected bytes or string, got ${typeof value}`);
}

function toInt(value, kind, fn) {
  const [min, max] = kind === 'u32' ? [0, 0xffffffff] : [-0x80000000, 0x7fffffff];
  if (!Number.isInteger(value) || value < min || value > max) {
    const what = kind === 'u32' ? 'an unsigned' : 'a signed';
    throw new TypeError(`${fn}: expected ${what} 32-bit integer, got ${value}`);
  }
  return value;
}

// source: a WebAssembly.Module (workerd) or the module's bytes (Node).
export async function loadCore(source) {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  return new Core(module);
}
