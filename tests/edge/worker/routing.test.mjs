// Routes: GET and HEAD only, paths validated in wasm, no R2 call for a path
// that names nothing, and only the configured caches.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { countedFetch, edgeFetch, freshOrigin } from './edge_client.mjs';
import { freshStoreHash, publishPath, randomBytes } from './fixtures.mjs';

describe('methods', () => {
  // Every route shape (under /<cache>/ and bare for DEFAULT_CACHE), and a
  // path that names nothing: the method is refused before the path is read.
  const hash = freshStoreHash();
  const manifest = 'a'.repeat(64);
  const shapes = [
    '/main/nix-cache-info',
    `/main/${hash}.narinfo`,
    `/main/nar/${manifest}.nar.zst`,
    `/main/${hash}.ls`,
    '/nix-cache-info',
    `/${hash}.narinfo`,
    `/nar/${manifest}.nar.zst`,
    `/${hash}.ls`,
    '/sync/plan',
  ];
  // Every method workerd's Request knows other than GET and HEAD, and one in
  // lower case (upper-cased on the way in).
  const methods = [
    'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PURGE', 'BAN', 'QUERY',
    'COPY', 'LOCK', 'UNLOCK', 'MKCOL', 'MOVE', 'PROPFIND', 'PROPPATCH', 'SEARCH', 'ACL',
    'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'MSEARCH', 'NOTIFY', 'SUBSCRIBE',
    'UNSUBSCRIBE', 'patch',
  ];
  const withoutBody = new Set(['OPTIONS', 'TRACE']);
  for (const method of methods) {
    it(`${method} is 405 with Allow on every route shape, and touches no object`, async () => {
      for (const path of shapes) {
        const origin = freshOrigin();
        const body = withoutBody.has(method) ? undefined : 'x';
        const { response, calls } = await countedFetch(origin, path, { init: { method, body } });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('Allow'), `${method} ${path}`).toBe('GET, HEAD');
        expect(calls, `${method} ${path}`).toEqual({});
      }
    });
  }

  it('no other method can reach the Worker: workerd cannot even make the request', () => {
    for (const method of ['CONNECT', 'TRACK', 'LINK', 'UNLINK', 'BIND', 'MKCALENDAR', 'M-SEARCH', 'NIXEDGE']) {
      expect(() => new Request('http://edge.test/main/nix-cache-info', { method }), method).toThrow(
        /Invalid HTTP method/,
      );
    }
  });

  it('the runtime path (SELF) answers a PUT with 405 too', async () => {
    for (const path of shapes) {
      const response = await edgeFetch(freshOrigin(), path, { method: 'PUT', body: 'x' });
      expect(response.status, path).toBe(405);
      expect(response.headers.get('Allow'), path).toBe('GET, HEAD');
      await response.arrayBuffer();
    }
  });
});

describe('paths', () => {
  const hash = freshStoreHash();
  const manifest = 'a'.repeat(64);
  const refused = [
    '/',
    '/main',
    '/main/',
    '/main/nix-cache-info/',
    `/main//${hash}.narinfo`,
    `/main/${hash.slice(1)}.narinfo`,
    `/main/${hash.slice(0, 31)}e.narinfo`,
    `/main/${hash}.NARINFO`,
    // Dot segments are resolved by the URL parser before the Worker sees the
    // path; escaped slashes are not, and no valid name contains '%'.
    `/main/..%2f${hash}.narinfo`,
    '/main/%2e%2e%2fsync%2fplan',
    `/%6dain/${hash}.narinfo`,
    `/main/nar/${manifest}.nar.xz`,
    `/main/nar/${manifest.toUpperCase()}.nar.zst`,
    `/main/nar/${manifest.slice(1)}.nar.zst`,
    '/sync/plan',
    '/chunks/' + manifest,
    '/manifests/' + manifest,
    '/nixedge-layout',
    `/unknown-cache/${hash}.narinfo`,
    '/unknown-cache/nix-cache-info',
    `/sync/${hash}.narinfo`,
  ];
  for (const path of refused) {
    it(`${path} is 404 without any R2 call`, async () => {
      const { response, calls } = await countedFetch(freshOrigin(), path);
      expect(response.status).toBe(404);
      expect(calls).toEqual({});
    });
  }

  it('serves the four objects under /<cache>/ and bare for DEFAULT_CACHE', async () => {
    const path = await publishPath(env.BUCKET, { chunks: [randomBytes(100), randomBytes(50)] });
    await env.BUCKET.put('main/nix-cache-info', 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n');
    await env.BUCKET.put(`main/${path.hash}.ls`, '{"version":1,"root":{"type":"regular","size":3}}');
    for (const prefix of ['/main', '']) {
      const origin = freshOrigin();
      const cases = [
        ['nix-cache-info', 'text/x-nix-cache-info'],
        [`${path.hash}.narinfo`, 'text/x-nix-narinfo'],
        [`nar/${path.manifest}.nar.zst`, 'application/x-nix-nar'],
        [`${path.hash}.ls`, 'application/json'],
      ];
      for (const [object, contentType] of cases) {
        const response = await edgeFetch(origin, `${prefix}/${object}`);
        expect(response.status, `${prefix}/${object}`).toBe(200);
        expect(response.headers.get('Content-Type')).toBe(contentType);
        await response.arrayBuffer();
      }
    }
  });

  it('a cache the edge has no keys for is not served, even if the bucket has it', async () => {
    await env.BUCKET.put('other/nix-cache-info', 'StoreDir: /nix/store\n');
    const { response, calls } = await countedFetch(freshOrigin(), '/other/nix-cache-info');
    expect(response.status).toBe(404);
    expect(calls).toEqual({});
  });
});

describe('configuration', () => {
  const broken = [
    [{ TRUSTED_KEYS: undefined }, /TRUSTED_KEYS is not set/],
    [{ TRUSTED_KEYS: '{not json' }, /TRUSTED_KEYS is not JSON/],
    [{ TRUSTED_KEYS: '{"main": []}' }, /non-empty array/],
    [{ TRUSTED_KEYS: '{"main": ["main-1:short"]}' }, /TRUSTED_KEYS.main/],
    [{ TRUSTED_KEYS: '{"nar": ["main-1:Zu+/SZh6D4RRdZqkC5GMQuanFxp61KffkzlSnq5+TEI="]}' }, /reserved/],
    [{ DEFAULT_CACHE: 'elsewhere' }, /DEFAULT_CACHE 'elsewhere' has no entry/],
    [{ NARINFO_TTL: '-1' }, /NARINFO_TTL must be an integer/],
    [{ PREFETCH_CHUNKS: '6' }, /PREFETCH_CHUNKS must be an integer from 1 to 5/],
    [{ CACHE_CHUNKS: 'maybe' }, /CACHE_CHUNKS must be true or false/],
  ];
  for (const [vars, message] of broken) {
    it(`refuses ${JSON.stringify(vars)} with a clear 500`, async () => {
      const { response, body, calls } = await countedFetch(freshOrigin(), '/main/nix-cache-info', { vars });
      expect(response.status).toBe(500);
      expect(new TextDecoder().decode(body)).toMatch(message);
      expect(calls).toEqual({});
    });
  }

  it('takes TRUSTED_KEYS as an object too (a JSON var in wrangler.toml)', async () => {
    const path = await publishPath(env.BUCKET, { chunks: [randomBytes(10)] });
    const vars = { TRUSTED_KEYS: JSON.parse(env.TRUSTED_KEYS) };
    const { response } = await countedFetch(freshOrigin(), `/main/${path.hash}.narinfo`, { vars });
    expect(response.status).toBe(200);
  });
});
