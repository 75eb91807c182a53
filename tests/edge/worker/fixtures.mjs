// Test caches for the Worker: signed narinfos, manifests and chunk objects put
// into the local R2 bucket exactly as the lab lays them out (docs/bucket-layout.md).
// The narinfo text and fingerprint come from the core (the edge module), the
// signatures from WebCrypto Ed25519 with the test-only keys below.
import wasm from '../../../build-wasm/wasm-edge/nixedge-edge.wasm';
import { loadCore } from '../../../wasm-edge/src/core.mjs';
import { KEYS } from './test_keys.mjs';

export { KEYS, TRUSTED_KEYS, publicKey } from './test_keys.mjs';

export const core = await loadCore(wasm);

const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (text) => new Uint8Array(text.match(/../g).map((h) => parseInt(h, 16)));
const base64 = (bytes) => btoa(String.fromCharCode(...bytes));

async function signingKey(key) {
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
  const pkcs8 = new Uint8Array([...fromHex('302e020100300506032b657004220420'), ...fromHex(key.seed)]);
  return crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
}

export async function sign(key, message) {
  const signature = await crypto.subtle.sign('Ed25519', await signingKey(key), new TextEncoder().encode(message));
  return `${key.name}:${base64(new Uint8Array(signature))}`;
}

let counter = 0;
// A fresh store hash (32 nix32 characters), different on every call.
export function freshStoreHash() {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  bytes[0] = counter++ & 0xff;
  return core.toNix32(bytes).value;
}

export function randomBytes(length) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  return bytes;
}

export function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// The narinfo text (unsigned fields in Nix's order) plus Sig lines.
export function narinfoText({ storePath, manifest, fileSize, narHash, narSize, references = [], sigs = [] }) {
  return (
    `StorePath: ${storePath}\nURL: nar/${manifest}.nar.zst\nCompression: zstd\nFileSize: ${fileSize}\n` +
    `NarHash: ${narHash}\nNarSize: ${narSize}\nReferences: ${references.join(' ')}\n` +
    sigs.map((s) => `Sig: ${s}\n`).join('')
  );
}

// Publishes one path into `bucket` as the lab would: chunk objects (stored
// bytes given), the manifest, the narinfo signed by `signers`. Returns what a
// test compares against: the NAR body the edge must serve, the keys used.
export async function publishPath(bucket, { cache = 'main', signers = [KEYS.main1], chunks, name = 'hello' }) {
  const hash = freshStoreHash();
  const storePath = `/nix/store/${hash}-${name}`;
  // Raw sizes: twice the stored ones; the raw bytes themselves never reach the edge.
  const rawSizes = chunks.map((c) => c.length * 2);
  const narSize = rawSizes.reduce((a, b) => a + b, 0);
  const narHash = `sha256:${core.toNix32(core.sha256(concat(chunks)).value).value}`;
  const chunkKeys = [];
  let manifestText = `nixedge-manifest 1\nnar-hash ${narHash}\nnar-size ${narSize}\n`;
  for (let i = 0; i < chunks.length; ++i) {
    const chunkHash = hex(core.sha256(concat([chunks[i], new Uint8Array([i])])).value);
    manifestText += `chunk ${chunkHash} ${rawSizes[i]} ${chunks[i].length}\n`;
    chunkKeys.push(`chunks/${chunkHash}`);
    await bucket.put(`chunks/${chunkHash}`, chunks[i]);
  }
  const manifest = core.manifestName(manifestText).value;
  await bucket.put(`manifests/${manifest}`, manifestText);
  const fields = { storePath, manifest, fileSize: concat(chunks).length, narHash, narSize };
  const fingerprint = core.narinfoFingerprint(narinfoText(fields));
  if (!fingerprint.ok) throw new Error(`fixture narinfo: ${fingerprint.detail}`);
  const sigs = await Promise.all(signers.map((key) => sign(key, fingerprint.value)));
  const narinfo = narinfoText({ ...fields, sigs });
  await bucket.put(`${cache}/${hash}.narinfo`, narinfo);
  return { hash, storePath, manifest, manifestText, narinfo, nar: concat(chunks), chunkKeys, fields, cache };
}
