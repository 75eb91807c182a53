// The edge module must carry only what the edge needs. Reads the link maps
// (lld -Map) of nixedge-edge.wasm and nixedge-core.wasm and checks which
// object files were linked: the lab-only ones (the FastCDC chunker, zstd, the
// NAR parser and listing, the lab operations) must be absent from the edge
// module and present in the core module (so this check cannot pass vacuously).
//
// Usage: node check_edge_contents.mjs nixedge-edge.map nixedge-core.map
import { existsSync, readFileSync } from 'node:fs';

const LAB_ONLY = [
  ['FastCDC chunker', /libnixedge_core\.a\(chunker\.cpp\.obj\)/],
  ['zstd frames', /libnixedge_core\.a\(zstd_frames\.cpp\.obj\)/],
  ['zstd library (compressor or decompressor)', /libnixedge_zstd_wasm\.a\(/],
  ['NAR parser', /libnixedge_core\.a\(nar\.cpp\.obj\)/],
  ['NAR listing', /libnixedge_core\.a\(nar_listing\.cpp\.obj\)/],
  ['lab operations', /nixedge_wasm_lab_ops\.dir\//],
];

const [edgeMap, coreMap] = process.argv.slice(2);
for (const file of [edgeMap, coreMap]) {
  if (!file || !existsSync(file)) {
    console.error(`check_edge_contents: ${file} does not exist: build the wasm modules first (make build-wasm)`);
    process.exit(2);
  }
}
const edge = readFileSync(edgeMap, 'utf8');
const core = readFileSync(coreMap, 'utf8');
let failures = 0;
for (const [what, pattern] of LAB_ONLY) {
  if (pattern.test(edge)) {
    console.log(`FAIL the edge module links the ${what} (${edge.match(pattern)[0]})`);
    ++failures;
  }
  if (!pattern.test(core)) {
    console.log(`FAIL the core module does not link the ${what}: is this check still looking for the right names?`);
    ++failures;
  }
}
console.log(failures === 0 ? `edge module: none of ${LAB_ONLY.length} lab-only parts linked` : `${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
