// The byte arguments of make_vectors' vector files (see vectors.hpp), built
// exactly as vectors.cpp builds them. Also the deterministic data of
// bench/wasm_bench.mjs.

// pattern_bytes(): an LCG's top bytes, random-looking.
export function patternBytes({ len, seed }) {
  const out = new Uint8Array(len);
  let x = seed >>> 0;
  for (let i = 0; i < len; ++i) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const ALPHABET = new TextEncoder().encode('the quick brown fox jumps over a lazy dog /nix/store 0123456789 -_.\n');

// mixed_bytes(): segments of 1..65536 bytes, each one of zeros, text-like
// bytes from a small alphabet, random bytes, or a copy of earlier output.
export function mixedBytes({ len, seed }) {
  const out = new Uint8Array(len);
  let x = seed >>> 0;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
  let size = 0;
  while (size < len) {
    let kind = next() >>> 30;
    const length = Math.min(1 + (next() >>> 16), len - size);
    if (kind === 3 && size === 0) kind = 0;
    if (kind === 0) {
      size += length; // already zero
    } else if (kind === 1) {
      for (let i = 0; i < length; ++i) out[size++] = ALPHABET[(next() >>> 24) % ALPHABET.length];
    } else if (kind === 2) {
      for (let i = 0; i < length; ++i) out[size++] = next() >>> 24;
    } else {
      const from = next() % size;
      for (let i = 0; i < length; ++i, ++size) out[size] = out[from + i];
    }
  }
  return out;
}

function fromHex(text) {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

// prefix + unit * count + suffix
export function repeatBytes({ prefix, unit, count, suffix }) {
  const [p, u, s] = [fromHex(prefix), fromHex(unit), fromHex(suffix)];
  const out = new Uint8Array(p.length + u.length * count + s.length);
  out.set(p, 0);
  if (u.length === 1) out.fill(u[0], p.length, p.length + count);
  else for (let i = 0; i < count; ++i) out.set(u, p.length + i * u.length);
  out.set(s, p.length + u.length * count);
  return out;
}

export function argBytes(arg) {
  if ('hex' in arg) return fromHex(arg.hex);
  if ('pattern' in arg) return patternBytes(arg.pattern);
  if ('mixed' in arg) return mixedBytes(arg.mixed);
  if ('repeat' in arg) return repeatBytes(arg.repeat);
  throw new Error(`not a byte argument: ${JSON.stringify(arg)}`);
}
