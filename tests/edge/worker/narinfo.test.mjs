// Narinfos: served only after the core verifies them against the cache's
// trusted keys; anything else is absent (404) and logged.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { countedFetch, edgeFetch, freshOrigin } from './edge_client.mjs';
import { KEYS, freshStoreHash, narinfoText, publishPath, randomBytes, sign, core } from './fixtures.mjs';

const chunks = () => [randomBytes(64), randomBytes(32)];

describe('signature check', () => {
  it('serves a narinfo signed by the cache key, byte for byte', async () => {
    const path = await publishPath(env.BUCKET, { chunks: chunks() });
    const response = await edgeFetch(freshOrigin(), `/main/${path.hash}.narinfo`);
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('text/x-nix-narinfo');
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=3600');
    expect(await response.text()).toBe(path.narinfo);
  });

  it('refuses a narinfo signed by a key another cache trusts', async () => {
    const path = await publishPath(env.BUCKET, { signers: [KEYS.team1], chunks: chunks() });
    const response = await edgeFetch(freshOrigin(), `/main/${path.hash}.narinfo`);
    expect(response.status).toBe(404);
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=60');
  });

  it('refuses a narinfo with no signature', async () => {
    const path = await publishPath(env.BUCKET, { signers: [], chunks: chunks() });
    expect((await edgeFetch(freshOrigin(), `/main/${path.hash}.narinfo`)).status).toBe(404);
  });

  it('refuses a narinfo whose signed fields were changed (NarSize, References, NarHash)', async () => {
    const path = await publishPath(env.BUCKET, { chunks: chunks() });
    const tampered = [
      path.narinfo.replace(/NarSize: \d+/, 'NarSize: 1'),
      path.narinfo.replace('References: ', `References: ${freshStoreHash()}-evil`),
      path.narinfo.replace(/NarHash: sha256:(.)/, (_, c) => `NarHash: sha256:${c === '0' ? '1' : '0'}`),
    ];
    for (const text of tampered) {
      expect(text).not.toBe(path.narinfo);
      await env.BUCKET.put(`main/${path.hash}.narinfo`, text);
      const response = await edgeFetch(freshOrigin(), `/main/${path.hash}.narinfo`);
      expect(response.status, text).toBe(404);
    }
  });

  it('refuses a valid narinfo stored under another path hash', async () => {
    const path = await publishPath(env.BUCKET, { chunks: chunks() });
    const other = freshStoreHash();
    await env.BUCKET.put(`main/${other}.narinfo`, path.narinfo);
    expect((await edgeFetch(freshOrigin(), `/main/${other}.narinfo`)).status).toBe(404);
  });

  it('refuses a signed narinfo whose URL names no manifest of the bucket', async () => {
    const hash = freshStoreHash();
    const fields = { storePath: `/nix/store/${hash}-x`, manifest: 'b'.repeat(64), fileSize: 1, narHash: `sha256:${'0'.repeat(52)}`, narSize: 1 };
    const text = narinfoText(fields).replace(/URL: .*\n/, 'URL: nar/0000.nar.xz\n');
    const signed = text + `Sig: ${await sign(KEYS.main1, core.narinfoFingerprint(text).value)}\n`;
    await env.BUCKET.put(`main/${hash}.narinfo`, signed);
    expect((await edgeFetch(freshOrigin(), `/main/${hash}.narinfo`)).status).toBe(404);
  });

  it('refuses bytes that are not a narinfo', async () => {
    const hash = freshStoreHash();
    await env.BUCKET.put(`main/${hash}.narinfo`, new Uint8Array([0, 1, 2, 0xff]));
    expect((await edgeFetch(freshOrigin(), `/main/${hash}.narinfo`)).status).toBe(404);
  });

  it('a missing narinfo is 404 after one R2 read', async () => {
    const { response, calls } = await countedFetch(freshOrigin(), `/main/${freshStoreHash()}.narinfo`);
    expect(response.status).toBe(404);
    expect(calls).toEqual({ get: 1 });
  });
});

describe('key rotation', () => {
  // "team" trusts team-1 and team-2.
  for (const [label, signers] of [
    ['the old key only', [KEYS.team1]],
    ['the new key only', [KEYS.team2]],
    ['both keys (two Sig lines)', [KEYS.team1, KEYS.team2]],
    ['an untrusted key and a trusted one', [KEYS.main1, KEYS.team2]],
  ]) {
    it(`accepts a narinfo signed by ${label}`, async () => {
      const path = await publishPath(env.BUCKET, { cache: 'team', signers, chunks: chunks() });
      const response = await edgeFetch(freshOrigin(), `/team/${path.hash}.narinfo`);
      expect(response.status).toBe(200);
      expect((await response.text()).match(/^Sig: /gm)).toHaveLength(signers.length);
    });
  }

  it('once the old key is dropped from TRUSTED_KEYS, its narinfos are refused', async () => {
    const path = await publishPath(env.BUCKET, { cache: 'team', signers: [KEYS.team1], chunks: chunks() });
    const vars = { TRUSTED_KEYS: JSON.stringify({ main: [`main-1:${KEYS.main1.pub}`], team: [`team-2:${KEYS.team2.pub}`] }) };
    const { response } = await countedFetch(freshOrigin(), `/team/${path.hash}.narinfo`, { vars });
    expect(response.status).toBe(404);
  });
});

describe('listings', () => {
  it('a .ls is served only while its narinfo verifies', async () => {
    const good = await publishPath(env.BUCKET, { chunks: chunks() });
    const bad = await publishPath(env.BUCKET, { signers: [KEYS.team1], chunks: chunks() });
    for (const path of [good, bad]) await env.BUCKET.put(`main/${path.hash}.ls`, '{"version":1}');
    const origin = freshOrigin();
    const served = await edgeFetch(origin, `/main/${good.hash}.ls`);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe('{"version":1}');
    expect((await edgeFetch(origin, `/main/${bad.hash}.ls`)).status).toBe(404);
  });
});
