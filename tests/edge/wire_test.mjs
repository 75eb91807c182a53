// The Worker's answers as they go out on the wire (workerd via Miniflare, real
// HTTP on 127.0.0.1): what the vitest pool cannot show. NAR bodies carry
// Content-Length and are never sent chunked; HEAD has the length a GET would
// send; a chunk missing mid-stream cuts the connection short of that length,
// so a client sees a failed transfer, not a complete-looking body.
//
// Usage: node tests/edge/wire_test.mjs   (from the repository root, after make build-wasm)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Miniflare } from 'miniflare';

const root = process.cwd();
const mf = new Miniflare({
  modules: true,
  scriptPath: path.join(root, 'wasm-edge/src/worker.mjs'),
  modulesRoot: root,
  modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
  compatibilityDate: '2025-01-01',
  r2Buckets: { BUCKET: 'nixedge-mirror' },
  bindings: {
    TRUSTED_KEYS: JSON.stringify({ main: ['main-1:Zu+/SZh6D4RRdZqkC5GMQuanFxp61KffkzlSnq5+TEI='] }),
    DEFAULT_CACHE: 'main',
  },
  host: '127.0.0.1',
  port: 0,
  cf: false,
});

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

// A NAR of three chunk objects; returns its URL path, body and chunk keys.
async function publishNar(bucket, sizes) {
  const chunks = sizes.map((n) => crypto.randomBytes(n));
  let manifest = `nixedge-manifest 1\nnar-hash sha256:${'0'.repeat(52)}\nnar-size ${2 * sizes.reduce((a, b) => a + b)}\n`;
  const keys = [];
  for (const chunk of chunks) {
    const hash = sha256(chunk);
    manifest += `chunk ${hash} ${chunk.length * 2} ${chunk.length}\n`;
    keys.push(`chunks/${hash}`);
    await bucket.put(`chunks/${hash}`, new Uint8Array(chunk));
  }
  const name = sha256(manifest);
  await bucket.put(`manifests/${name}`, new TextEncoder().encode(manifest));
  return { path: `/main/nar/${name}.nar.zst`, body: Buffer.concat(chunks), keys };
}

// A raw HTTP exchange: status, headers, the bytes received and whether the
// body ended complete (false when the connection was cut short).
function request(base, method, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(urlPath, base), { method, headers, agent: false }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts), complete: res.complete }));
      res.on('aborted', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts), complete: false }));
      res.on('error', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts), complete: false }));
    });
    req.on('error', reject);
    req.end();
  });
}

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

try {
  const base = (await mf.ready).href;
  const bucket = await mf.getR2Bucket('BUCKET');
  const nar = await publishNar(bucket, [70000, 120000, 9]);

  await check('GET: 200 with Content-Length, not chunked, the exact bytes', async () => {
    const r = await request(base, 'GET', nar.path);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(nar.body.length));
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.ok(r.complete);
    assert.ok(r.body.equals(nar.body));
  });

  await check('HEAD: the length a GET sends, and no body', async () => {
    const r = await request(base, 'HEAD', nar.path);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(nar.body.length));
    assert.equal(r.headers.etag, `"${nar.path.slice(10, 74)}"`);
    assert.equal(r.body.length, 0);
  });

  await check('HEAD of the small answers: Content-Length of the GET body', async () => {
    await bucket.put('main/nix-cache-info', new TextEncoder().encode('StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n'));
    for (const urlPath of ['/main/nix-cache-info', '/main/nix-cache-info', `/main/${'0'.repeat(32)}.narinfo`, '/main/x']) {
      const get = await request(base, 'GET', urlPath);
      const head = await request(base, 'HEAD', urlPath);
      assert.equal(head.status, get.status, urlPath);
      assert.equal(head.headers['content-length'], String(get.body.length), urlPath);
      assert.equal(head.body.length, 0);
    }
  });

  await check('Range: 206 with Content-Length and Content-Range', async () => {
    const r = await request(base, 'GET', nar.path, { Range: 'bytes=69990-70010' });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-length'], '21');
    assert.equal(r.headers['content-range'], `bytes 69990-70010/${nar.body.length}`);
    assert.ok(r.body.equals(nar.body.subarray(69990, 70011)));
  });

  await check('writes: 405 with Allow', async () => {
    for (const method of ['PUT', 'POST', 'DELETE']) {
      const r = await request(base, method, nar.path);
      assert.equal(r.status, 405);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
  });

  await check('a chunk missing mid-stream: the transfer ends short of Content-Length', async () => {
    const broken = await publishNar(bucket, [50000, 60000, 70000]);
    await bucket.delete(broken.keys[1]);
    const r = await request(base, 'GET', broken.path);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(broken.body.length));
    assert.equal(r.complete, false);
    assert.ok(r.body.length < broken.body.length, `received ${r.body.length} of ${broken.body.length}`);
  });

  await check('the first chunk missing: 502 before any byte of the NAR', async () => {
    const broken = await publishNar(bucket, [1000, 2000]);
    await bucket.delete(broken.keys[0]);
    const r = await request(base, 'GET', broken.path);
    assert.equal(r.status, 502);
    assert.match(r.body.toString(), /missing/);
  });
} finally {
  await mf.dispose();
}
process.exit(failures === 0 ? 0 : 1);
