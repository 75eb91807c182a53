// The subrequest budget (R2 and Cache API calls per request, MAX_SUBREQUESTS):
// a NAR is served without the chunk cache when only that fits, and refused
// before any byte when even its R2 reads do not.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import wasm from '../../../build-wasm/wasm-edge/nixedge-edge.wasm';
import { instanceStats, loadCore } from '../../../wasm-edge/src/core.mjs';
import { countedFetch, freshOrigin, sameBytes } from './edge_client.mjs';
import { publishPath, randomBytes } from './fixtures.mjs';

const manyChunks = (n) => Array.from({ length: n }, () => randomBytes(100));

describe('subrequest budget', () => {
  it('a cold NAR reads its manifest and each chunk once from R2', async () => {
    const path = await publishPath(env.BUCKET, { chunks: manyChunks(5) });
    const { body, calls } = await countedFetch(freshOrigin(), `/main/nar/${path.manifest}.nar.zst`);
    expect(sameBytes(body, path.nar)).toBe(true);
    expect(calls).toEqual({ get: 6 }); // the manifest and 5 chunks
  });

  it('drops the chunk cache when only the R2 reads fit', async () => {
    const path = await publishPath(env.BUCKET, { chunks: manyChunks(8) });
    const origin = freshOrigin();
    const vars = { MAX_SUBREQUESTS: '12' }; // 1 match + 1 get + 1 put for the manifest, then 8 gets
    const first = await countedFetch(origin, `/main/nar/${path.manifest}.nar.zst`, { vars });
    expect(first.response.status).toBe(200);
    expect(sameBytes(first.body, path.nar)).toBe(true);
    // Nothing of the chunks was cached: a second download reads them from R2 again.
    const second = await countedFetch(origin, `/main/nar/${path.manifest}.nar.zst`, { vars });
    expect(second.calls.get).toBe(8);
  });

  it('refuses a NAR whose chunks exceed the budget, before any byte, with a clear 502', async () => {
    const path = await publishPath(env.BUCKET, { chunks: manyChunks(20) });
    const { response, body, calls } = await countedFetch(freshOrigin(), `/main/nar/${path.manifest}.nar.zst`, {
      vars: { MAX_SUBREQUESTS: '15' },
    });
    expect(response.status).toBe(502);
    expect(new TextDecoder().decode(body)).toMatch(/needs 20 chunk reads.*MAX_SUBREQUESTS/);
    expect(calls).toEqual({ get: 1 });
  });

  it('a HEAD of that NAR still answers: it reads no chunk', async () => {
    const path = await publishPath(env.BUCKET, { chunks: manyChunks(20) });
    const { response } = await countedFetch(freshOrigin(), `/main/nar/${path.manifest}.nar.zst`, {
      init: { method: 'HEAD' },
      vars: { MAX_SUBREQUESTS: '15' },
    });
    expect(response.status).toBe(200);
  });
});

describe('the wasm core in workerd', () => {
  it('is instantiated once per isolate, not per request', async () => {
    const path = await publishPath(env.BUCKET, { chunks: manyChunks(3) });
    const origin = freshOrigin();
    await countedFetch(origin, `/main/${path.hash}.narinfo`); // the Worker's core exists after this
    const before = instanceStats.instantiations;
    for (let i = 0; i < 5; ++i) {
      await countedFetch(origin, `/main/nar/${path.manifest}.nar.zst`);
      await countedFetch(freshOrigin(), `/main/${path.hash}.narinfo`);
    }
    expect(instanceStats.instantiations).toBe(before);
  });

  it('a trap discards the instance; the next call runs on a fresh one', async () => {
    const core = await loadCore(wasm);
    // Reading past the end of linear memory traps inside wasm.
    const trap = core.call({ fn: 'ne_sha256', args: ['u32', 'u32'], result: 'bytes' }, [0xffff0000, 0x10000]);
    expect(trap.ok).toBe(false);
    expect(trap.name).toBe('internal');
    expect(trap.detail).toMatch(/trap/);
    const route = core.route('/main/nix-cache-info', '');
    expect(route.ok).toBe(true);
    expect(route.value.key).toBe('main/nix-cache-info');
  });
});
