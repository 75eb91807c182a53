// Reads and edits the local R2 bucket that `wrangler dev --persist-to DIR`
// serves (DIR/v3/r2, as scripts/edge-load-bucket.mjs writes it), for tests:
//   node tests/edge/local_r2.mjs DIR list            keys and sizes, one a line
//   node tests/edge/local_r2.mjs DIR get KEY         the object's bytes on stdout
//   node tests/edge/local_r2.mjs DIR put KEY FILE    store FILE's bytes at KEY
//   node tests/edge/local_r2.mjs DIR delete KEY
// Only while no `wrangler dev` uses DIR. Bucket name: R2_BUCKET_NAME or nixedge-mirror.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Miniflare } from 'miniflare';

const [persistTo, command, key, file] = process.argv.slice(2);
if (!persistTo || !command) {
  process.stderr.write('usage: local_r2.mjs PERSIST_DIR list|get KEY|put KEY FILE|delete KEY\n');
  process.exit(2);
}
const mf = new Miniflare({
  modules: true,
  script: 'export default { fetch() { return new Response(); } }',
  r2Buckets: { BUCKET: process.env.R2_BUCKET_NAME || 'nixedge-mirror' },
  r2Persist: path.join(path.resolve(persistTo), 'v3', 'r2'),
  cf: false,
});
let status = 0;
try {
  const bucket = await mf.getR2Bucket('BUCKET');
  if (command === 'list') {
    let cursor;
    const lines = [];
    do {
      const page = await bucket.list({ cursor, limit: 1000 });
      for (const o of page.objects) lines.push(`${o.key} ${o.size}\n`);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    process.stdout.write(lines.join(''));
  } else if (command === 'get') {
    const object = await bucket.get(key);
    if (!object) {
      process.stderr.write(`local_r2: no object ${key}\n`);
      status = 1;
    } else {
      process.stdout.write(new Uint8Array(await object.arrayBuffer()));
    }
  } else if (command === 'put') {
    const bytes = await fs.readFile(file);
    await bucket.put(key, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } else if (command === 'delete') {
    await bucket.delete(key);
  } else {
    process.stderr.write(`local_r2: unknown command ${command}\n`);
    status = 2;
  }
} finally {
  await mf.dispose();
}
process.exit(status);
