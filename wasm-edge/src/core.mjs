// Thin JS wrapper over nixedge-edge.wasm (the C++ core). No I/O here: it only
// moves bytes in and out of the module. Works in Node (give it the .wasm bytes)
// and in workerd (give it the WebAssembly.Module that `import m from './x.wasm'`
// yields).
//
//   const core = await loadCore(moduleOrBytes);
//   core.sha256(bytes)            -> {ok: true, value: Uint8Array(32)}
//   core.fromHex('zz')            -> {ok: false, code: 1, name: 'invalid_encoding', detail: '...'}
//
// ABI (see exports.cpp): inputs are (ptr, len) pairs from ne_alloc; every
// export returns 0 or an ErrorCode; the output (value or error detail) is read
// from ne_result_ptr()/ne_result_len().

export const ABI_VERSION = 1;

// One row per operation; adding an export to exports.cpp means adding a row here.
// args: 'bytes' = Uint8Array or string (UTF-8), passed as (ptr, len);
//       'u32'   = integer.
// result: 'bytes' = Uint8Array (a copy), 'text' = string (UTF-8), 'json' = parsed JSON.
export const OPERATIONS = {
  toHex: { fn: 'ne_hex_encode', args: ['bytes'], result: 'text' },
  fromHex: { fn: 'ne_hex_decode', args: ['bytes'], result: 'bytes' },
  toNix32: { fn: 'ne_nix32_encode', args: ['bytes'], result: 'text' },
  fromNix32: { fn: 'ne_nix32_decode', args: ['bytes', 'u32'], result: 'bytes' },
  toBase64: { fn: 'ne_base64_encode', args: ['bytes'], result: 'text' },
  fromBase64: { fn: 'ne_base64_decode', args: ['bytes'], result: 'bytes' },
  sha256: { fn: 'ne_sha256', args: ['bytes'], result: 'bytes' },
  narinfoParse: { fn: 'ne_narinfo_parse', args: ['bytes'], result: 'json' },
  narinfoCanonical: { fn: 'ne_narinfo_canonical', args: ['bytes'], result: 'text' },
  narinfoFingerprint: { fn: 'ne_narinfo_fingerprint', args: ['bytes'], result: 'text' },
  // (narinfo, trusted keys "name:base64 ...") -> name of the key that signed it
  narinfoVerify: { fn: 'ne_narinfo_verify', args: ['bytes', 'bytes'], result: 'text' },
  publicKeyParse: { fn: 'ne_public_key_parse', args: ['bytes'], result: 'text' },
  // (public key "name:base64", message, signature "name:base64") -> ok or bad_signature
  signatureVerify: { fn: 'ne_signature_verify', args: ['bytes', 'bytes', 'bytes'], result: 'text' },
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

  constructor(module) {
    this.#module = module;
    this.#instantiate();
    for (let code = 1; ; ++code) {
      this.#exports.ne_error_name(code);
      const name = this.#resultText();
      if (name === 'unknown') break;
      this.#errorNames.set(code, name);
    }
    for (const [name, op] of Object.entries(OPERATIONS)) {
      if (typeof this.#exports[op.fn] !== 'function') {
        throw new Error(`nixedge wasm: module lacks export ${op.fn} (for ${name})`);
      }
      this[name] = (...args) => this.call(op, args);
    }
  }

  #instantiate() {
    const instance = new WebAssembly.Instance(this.#module, wasiStubs(this.#module, this.#memoryRef));
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
        if (op.args[i] === 'u32') {
          params.push(toU32(args[i], op.fn));
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

function toU32(value, fn) {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new TypeError(`${fn}: expected an unsigned 32-bit integer, got ${value}`);
  }
  return value;
}

// source: a WebAssembly.Module (workerd) or the module's bytes (Node).
export async function loadCore(source) {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  return new Core(module);
}
