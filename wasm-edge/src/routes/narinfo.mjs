// GET/HEAD /<cache>/<hash>.narinfo: the signed text the lab wrote, served only
// after the core has verified it against the cache's trusted keys. A narinfo
// that fails (bad or missing signature, wrong store path, a URL that names no
// manifest) is treated as absent and logged: a polluted or half-synced bucket
// never reaches a client. Verified texts and misses are kept in the Cache API.
import { CONTENT_TYPES, cacheControl, log, notFound } from '../http.mjs';

// The narinfo text of `hash` in `cache` if it is there and verifies, else null.
// With both TTLs 0 the Cache API is not asked at all (no lookups, no stores).
export async function lookupNarinfo(ctx, cache, hash) {
  const { narinfoTtl, narinfoMissTtl } = ctx.config;
  const cacheKey = ctx.cacheKey(`_nixedge/narinfo/${cache}/${hash}`);
  if (narinfoTtl > 0 || narinfoMissTtl > 0) {
    const hit = await ctx.cacheMatch(cacheKey);
    if (hit !== undefined) return hit.status === 200 ? await hit.text() : null;
  }
  const key = ctx.core.bucketKey('narinfo', cache, hash);
  const bytes = await ctx.readObject(key.value);
  const text = bytes === null ? null : verified(ctx, cache, hash, bytes);
  if (text === null && narinfoMissTtl > 0) ctx.cachePut(cacheKey, notFound('narinfo', narinfoMissTtl));
  if (text !== null && narinfoTtl > 0) ctx.cachePut(cacheKey, narinfoResponse(text, narinfoTtl));
  return text;
}

function verified(ctx, cache, hash, bytes) {
  const check = ctx.core.narinfoCheck(bytes, ctx.config.trustedKeys.get(cache), hash);
  if (!check.ok) {
    log('warn', 'narinfo_refused', { cache, hash, reason: check.name, detail: check.detail });
    return null;
  }
  return new TextDecoder().decode(bytes);
}

function narinfoResponse(text, maxAge) {
  return new Response(text, {
    headers: { 'Content-Type': CONTENT_TYPES.narinfo, 'Cache-Control': cacheControl(maxAge) },
  });
}

export async function serveNarinfo(ctx, route) {
  const text = await lookupNarinfo(ctx, route.cache, route.hash);
  if (text === null) return notFound(`${route.hash}.narinfo in cache '${route.cache}'`, ctx.config.narinfoMissTtl);
  return narinfoResponse(text, ctx.config.narinfoTtl);
}
