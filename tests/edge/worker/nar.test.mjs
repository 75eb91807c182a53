// NARs: the chunk objects streamed in manifest order, Range answers from the
// right chunks, HEAD from the manifest alone, and a missing chunk never
// passing for a complete body. (SELF does not show Content-Length; the
// wire-level headers are checked against wrangler dev by tests/edge/*.sh.)
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { countedFetch, edgeFetch, freshOrigin, readBody, sameBytes } from './edge_client.mjs';
import { publishPath, randomBytes } from './fixtures.mjs';

const sizes = [1000, 70000, 3, 250000, 4096];
const publish = (chunkSizes = sizes) => publishPath(env.BUCKET, { chunks: chunkSizes.map(randomBytes) });
const narPath = (path) => `/main/nar/${path.manifest}.nar.zst`;

describe('whole NAR', () => {
  it('is the concatenated chunks with ETag and immutable caching', async () => {
    const path = await publish();
    const response = await edgeFetch(freshOrigin(), narPath(path));
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('application/x-nix-nar');
    expect(response.headers.get('ETag')).toBe(`"${path.manifest}"`);
    expect(response.headers.get('Accept-Ranges')).toBe('bytes');
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('Transfer-Encoding')).toBeNull();
    expect(sameBytes(await readBody(response), path.nar)).toBe(true);
  });

  it('reads the manifest and each chunk once from R2 (cold caches)', async () => {
    const path = await publish();
    const { response, body, calls } = await countedFetch(freshOrigin(), narPath(path));
    expect(response.status).toBe(200);
    expect(sameBytes(body, path.nar)).toBe(true);
    expect(calls).toEqual({ get: 1 + sizes.length });
  });

  it('a chunk listed twice is sent twice', async () => {
    const chunk = randomBytes(5000);
    const path = await publishPath(env.BUCKET, { chunks: [chunk, randomBytes(10), chunk] });
    const response = await edgeFetch(freshOrigin(), narPath(path));
    expect(sameBytes(await readBody(response), path.nar)).toBe(true);
  });

  it('If-None-Match with the ETag is 304 without reading chunks', async () => {
    const path = await publish();
    const init = { headers: { 'If-None-Match': `"${path.manifest}"` } };
    const { response, calls } = await countedFetch(freshOrigin(), narPath(path), { init });
    expect(response.status).toBe(304);
    expect(calls).toEqual({ get: 1 });
  });

  it('keeps at most PREFETCH_CHUNKS chunks open (got and not yet sent)', async () => {
    const path = await publish(Array.from({ length: 12 }, () => 20000));
    for (const prefetch of [1, 3]) {
      const { body, gets } = await countedFetch(freshOrigin(), narPath(path), {
        vars: { PREFETCH_CHUNKS: String(prefetch), CACHE_CHUNKS: 'false' },
      });
      expect(sameBytes(body, path.nar)).toBe(true);
      expect(gets.maxOpen).toBeLessThanOrEqual(prefetch);
      if (prefetch > 1) expect(gets.maxOpen).toBeGreaterThan(1);
      expect(gets.open).toBe(0);
    }
  });

  it('PREFETCH_BYTES bounds the stored bytes held (one chunk at a time when chunks are larger)', async () => {
    const path = await publish([30000, 30000, 30000, 30000]);
    const { body, gets } = await countedFetch(freshOrigin(), narPath(path), {
      vars: { PREFETCH_BYTES: '20000', CACHE_CHUNKS: 'false' },
    });
    expect(sameBytes(body, path.nar)).toBe(true);
    expect(gets.maxOpen).toBe(1);
  });
});

describe('HEAD', () => {
  it('answers from the manifest alone, with the length a GET would send', async () => {
    const path = await publish();
    const { response, calls } = await countedFetch(freshOrigin(), narPath(path), { init: { method: 'HEAD' } });
    expect(response.status).toBe(200);
    expect(calls).toEqual({ get: 1 });
    const viaRuntime = await edgeFetch(freshOrigin(), narPath(path), { method: 'HEAD' });
    expect(viaRuntime.status).toBe(200);
    expect(viaRuntime.headers.get('ETag')).toBe(`"${path.manifest}"`);
  });

  it('of a narinfo and of nix-cache-info: same status and headers, no body', async () => {
    const path = await publish([10]);
    const origin = freshOrigin();
    const head = await edgeFetch(origin, `/main/${path.hash}.narinfo`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('Content-Type')).toBe('text/x-nix-narinfo');
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });
});

describe('Range', () => {
  const total = sizes.reduce((a, b) => a + b, 0);
  const cases = [
    ['bytes=0-0', 0, 0],
    ['bytes=0-999', 0, 999],
    ['bytes=999-1000', 999, 1000],
    ['bytes=1000-71002', 1000, 71002],
    ['bytes=500-300000', 500, 300000],
    ['bytes=71000-', 71000, total - 1],
    ['bytes=-10', total - 10, total - 1],
    [`bytes=${total - 1}-${total + 100}`, total - 1, total - 1],
  ];
  for (const [header, first, last] of cases) {
    it(`${header} -> 206 with bytes ${first}-${last} from the right chunks`, async () => {
      const path = await publish();
      const response = await edgeFetch(freshOrigin(), narPath(path), { headers: { Range: header } });
      expect(response.status).toBe(206);
      expect(response.headers.get('Content-Range')).toBe(`bytes ${first}-${last}/${total}`);
      expect(sameBytes(await readBody(response), path.nar.subarray(first, last + 1))).toBe(true);
    });
  }

  it('reads only the chunks the range covers', async () => {
    const path = await publish();
    const { calls, body } = await countedFetch(freshOrigin(), narPath(path), {
      init: { headers: { Range: 'bytes=1500-1600' } },
    });
    expect(sameBytes(body, path.nar.subarray(1500, 1601))).toBe(true);
    expect(calls).toEqual({ get: 2 }); // the manifest and the one chunk
  });

  it('a range past the end is 416 with the total size', async () => {
    const path = await publish();
    const response = await edgeFetch(freshOrigin(), narPath(path), { headers: { Range: `bytes=${total}-` } });
    expect(response.status).toBe(416);
    expect(response.headers.get('Content-Range')).toBe(`bytes */${total}`);
  });

  it('a malformed Range, or an If-Range naming another version, gets the whole NAR', async () => {
    const path = await publish();
    for (const headers of [{ Range: 'bytes=abc' }, { Range: 'bytes=0-1', 'If-Range': '"other"' }]) {
      const response = await edgeFetch(freshOrigin(), narPath(path), { headers });
      expect(response.status).toBe(200);
      expect(sameBytes(await readBody(response), path.nar)).toBe(true);
    }
  });
});

describe('broken mirror', () => {
  it('a missing manifest is 404 before any header of a body', async () => {
    const path = await publish();
    await env.BUCKET.delete(`manifests/${path.manifest}`);
    const response = await edgeFetch(freshOrigin(), narPath(path));
    expect(response.status).toBe(404);
  });

  it('a manifest object whose bytes do not hash to its name is refused (404)', async () => {
    const path = await publish();
    await env.BUCKET.put(`manifests/${path.manifest}`, path.manifestText.replace('nar-size', 'nar-size 1\nx'));
    expect((await edgeFetch(freshOrigin(), narPath(path))).status).toBe(404);
  });

  it('a missing first chunk is 502 before any byte is sent', async () => {
    const path = await publish();
    await env.BUCKET.delete(path.chunkKeys[0]);
    const response = await edgeFetch(freshOrigin(), narPath(path));
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/missing/);
  });

  it('a chunk missing mid-stream aborts the body: never a short 200 that looks complete', async () => {
    const path = await publish();
    await env.BUCKET.delete(path.chunkKeys[3]);
    const response = await edgeFetch(freshOrigin(), narPath(path));
    expect(response.status).toBe(200);
    const body = await readBody(response);
    expect(body).toBeInstanceOf(Error);
  });

  it('a chunk of the wrong length aborts the body too, and is not cached', async () => {
    const path = await publish();
    const good = await (await env.BUCKET.get(path.chunkKeys[2])).arrayBuffer();
    await env.BUCKET.put(path.chunkKeys[2], new Uint8Array(good).subarray(1));
    const origin = freshOrigin();
    expect(await readBody(await edgeFetch(origin, narPath(path)))).toBeInstanceOf(Error);
    await env.BUCKET.put(path.chunkKeys[2], new Uint8Array(good));
    const repaired = await edgeFetch(origin, narPath(path));
    expect(sameBytes(await readBody(repaired), path.nar)).toBe(true);
  });
});
