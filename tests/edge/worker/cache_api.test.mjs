// The Cache API: verified narinfos (long TTL) and misses (short TTL, the delay
// before a new publish shows), nix-cache-info, manifests and single chunks.
// Never whole NARs.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { countedFetch, freshOrigin, sameBytes } from './edge_client.mjs';
import { freshStoreHash, publishPath, randomBytes } from './fixtures.mjs';

describe('narinfos', () => {
  it('a verified narinfo is read from R2 once, then from the Cache API', async () => {
    const path = await publishPath(env.BUCKET, { chunks: [randomBytes(10)] });
    const origin = freshOrigin();
    const first = await countedFetch(origin, `/main/${path.hash}.narinfo`);
    expect(first.calls).toEqual({ get: 1 });
    const second = await countedFetch(origin, `/main/${path.hash}.narinfo`);
    expect(second.response.status).toBe(200);
    expect(new TextDecoder().decode(second.body)).toBe(path.narinfo);
    expect(second.calls).toEqual({});
    // The bare path of the default cache shares the entry.
    expect((await countedFetch(origin, `/${path.hash}.narinfo`)).calls).toEqual({});
  });

  it('a miss is cached too: a path synced afterwards shows after NARINFO_MISS_TTL', async () => {
    const origin = freshOrigin();
    const hash = freshStoreHash();
    const miss = await countedFetch(origin, `/main/${hash}.narinfo`);
    expect(miss.response.status).toBe(404);
    expect(miss.calls).toEqual({ get: 1 });
    const again = await countedFetch(origin, `/main/${hash}.narinfo`);
    expect(again.response.status).toBe(404);
    expect(again.calls).toEqual({});
  });

  it('with both TTLs 0 the Cache API is not used: every request reads R2', async () => {
    const path = await publishPath(env.BUCKET, { chunks: [randomBytes(10)] });
    const origin = freshOrigin();
    const vars = { NARINFO_TTL: '0', NARINFO_MISS_TTL: '0' };
    for (let i = 0; i < 2; ++i) {
      const { response, calls } = await countedFetch(origin, `/main/${path.hash}.narinfo`, { vars });
      expect(response.status).toBe(200);
      expect(response.headers.get('Cache-Control')).toBe('no-store');
      expect(calls).toEqual({ get: 1 });
    }
  });

  it('with NARINFO_MISS_TTL=0 a miss is not kept', async () => {
    const origin = freshOrigin();
    const hash = freshStoreHash();
    const vars = { NARINFO_MISS_TTL: '0' };
    await countedFetch(origin, `/main/${hash}.narinfo`, { vars });
    expect((await countedFetch(origin, `/main/${hash}.narinfo`, { vars })).calls).toEqual({ get: 1 });
  });

  it('a refused narinfo is cached as a miss, not as its text', async () => {
    const path = await publishPath(env.BUCKET, { chunks: [randomBytes(10)] });
    await env.BUCKET.put(`main/${path.hash}.narinfo`, path.narinfo.replace(/NarSize: \d+/, 'NarSize: 7'));
    const origin = freshOrigin();
    expect((await countedFetch(origin, `/main/${path.hash}.narinfo`)).response.status).toBe(404);
    const again = await countedFetch(origin, `/main/${path.hash}.narinfo`);
    expect(again.response.status).toBe(404);
    expect(again.calls).toEqual({});
  });
});

describe('chunks and manifests', () => {
  it('a second download reads nothing from R2: manifest and chunks come from the Cache API', async () => {
    const path = await publishPath(env.BUCKET, { chunks: [randomBytes(3000), randomBytes(5000), randomBytes(7)] });
    const origin = freshOrigin();
    const nar = `/main/nar/${path.manifest}.nar.zst`;
    const first = await countedFetch(origin, nar);
    expect(first.calls).toEqual({ get: 4 });
    const second = await countedFetch(origin, nar);
    expect(sameBytes(second.body, path.nar)).toBe(true);
    expect(second.calls).toEqual({});
  });

  it('chunks are shared between NARs: a new NAR reads only its new chunks', async () => {
    const shared = randomBytes(4000);
    const a = await publishPath(env.BUCKET, { chunks: [shared, randomBytes(10)] });
    const b = await publishPath(env.BUCKET, { chunks: [randomBytes(20), shared] });
    // The fixture names chunks by content and position; make b's second chunk a's first.
    const manifest = b.manifestText.replace(b.chunkKeys[1].slice(7), a.chunkKeys[0].slice(7));
    const name = (await import('./fixtures.mjs')).core.manifestName(manifest).value;
    await env.BUCKET.put(`manifests/${name}`, manifest);
    const origin = freshOrigin();
    await countedFetch(origin, `/main/nar/${a.manifest}.nar.zst`);
    const second = await countedFetch(origin, `/main/nar/${name}.nar.zst`);
    expect(sameBytes(second.body, b.nar)).toBe(true);
    expect(second.calls).toEqual({ get: 2 }); // b's manifest and its one new chunk
  });

  it('with CACHE_CHUNKS=false every download reads R2', async () => {
    const path = await publishPath(env.BUCKET, { chunks: [randomBytes(100), randomBytes(100)] });
    const origin = freshOrigin();
    const vars = { CACHE_CHUNKS: 'false' };
    for (let i = 0; i < 2; ++i) {
      const { calls } = await countedFetch(origin, `/main/nar/${path.manifest}.nar.zst`, { vars });
      expect(calls).toEqual({ get: 3 });
    }
  });

  it('nix-cache-info is cached for CACHE_INFO_TTL', async () => {
    await env.BUCKET.put('main/nix-cache-info', 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n');
    const origin = freshOrigin();
    const first = await countedFetch(origin, '/main/nix-cache-info');
    expect(first.response.headers.get('Cache-Control')).toBe('public, max-age=600');
    expect((await countedFetch(origin, '/nix-cache-info')).calls).toEqual({});
  });
});
