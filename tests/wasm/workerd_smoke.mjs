// Loads the edge module through core.mjs inside workerd (Miniflare), the way the
// Worker will: wrangler hands the .wasm over as a WebAssembly.Module. Checks a
// few operations and that the instance survives many calls.
//
// Usage: node workerd_smoke.mjs path/to/nixedge-edge.wasm
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '../..');
const [modulePath] = process.argv.slice(2);
if (!modulePath || !existsSync(modulePath)) {
  console.error(`workerd_smoke: ${modulePath} does not exist: build the wasm module first (make build-wasm)`);
  process.exit(2);
}
let Miniflare;
try {
  ({ Miniflare } = await import('miniflare')); // from the project's node_modules
} catch (e) {
  console.error(`workerd_smoke: cannot load miniflare (run npm ci): ${e.message}`);
  process.exit(2);
}

const worker = `
import wasm from './nixedge-edge.wasm';
import { loadCore } from './core.mjs';
let core;
export default {
  async fetch(request) {
    core ??= await loadCore(wasm);
    const out = {};
    out.isModule = wasm instanceof WebAssembly.Module;
    out.sha256 = core.toHex(core.sha256('abc').value).value;
    out.nix32 = core.toNix32(core.sha256('').value).value;
    out.badHex = core.fromHex('zz');
    const narinfo = await request.text();
    out.fingerprint = core.narinfoFingerprint(narinfo).value;
    const manifest =
      'nixedge-manifest 1\\n' +
      'nar-hash sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq\\n' +
      'nar-size 1048883\\n' +
      'chunk ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb 300 120\\n' +
      'chunk 3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d 1048576 400000\\n' +
      'chunk ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb 7 16\\n';
    const plan = core.rangePlan(manifest, 'bytes=-20').value;
    out.range = plan.contentRange + ' ' + JSON.stringify(plan.span);
    out.kind = core.kind;
    out.labOps = ['chunkLengths', 'narListing', 'zstdDecompress', 'zstdCompressFrame'].filter((op) => core.has(op) || op in core).length;
    let last;
    for (let i = 0; i < 2000; ++i) last = core.sha256(new Uint8Array(4096).fill(i & 255));
    out.loop = last.ok;
    return Response.json(out);
  },
};`;

const mf = new Miniflare({
  modules: [
    { type: 'ESModule', path: 'worker.mjs', contents: worker },
    { type: 'ESModule', path: 'core.mjs', contents: readFileSync(path.join(root, 'wasm-edge/src/core.mjs'), 'utf8') },
    { type: 'CompiledWasm', path: 'nixedge-edge.wasm', contents: readFileSync(modulePath) },
  ],
  compatibilityDate: '2025-01-01',
  cf: false,
});
const narinfo = readFileSync(path.join(root, 'tests/data/nixcache/cache/z1x7778cix14wkf9vyvv4cb11626crip.narinfo'));
let failures = 0;
try {
  const res = await mf.dispatchFetch('http://localhost/', { method: 'POST', body: narinfo });
  const got = await res.json();
  const expect = {
    isModule: true,
    sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    nix32: '0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73',
    fingerprint:
      '1;/nix/store/z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep;sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv;120;',
    loop: true,
    range: 'bytes 400116-400135/400136 {"firstChunk":1,"firstOffset":399996,"lastChunk":2,"lastEnd":16}',
    kind: 'edge',
    labOps: 0,
  };
  for (const [k, v] of Object.entries(expect)) {
    if (got[k] !== v) {
      console.log(`FAIL ${k}: got ${JSON.stringify(got[k])}, want ${JSON.stringify(v)}`);
      ++failures;
    }
  }
  if (got.badHex?.ok !== false || got.badHex?.name !== 'invalid_encoding') {
    console.log(`FAIL badHex: ${JSON.stringify(got.badHex)}`);
    ++failures;
  }
} finally {
  await mf.dispose();
}
console.log(failures === 0 ? 'workerd: core.mjs + nixedge-edge.wasm OK' : `workerd: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
