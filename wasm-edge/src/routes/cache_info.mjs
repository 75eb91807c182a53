// GET/HEAD /<cache>/nix-cache-info: StoreDir, WantMassQuery and Priority as
// the lab wrote them, kept in the Cache API for CACHE_INFO_TTL.
import { CONTENT_TYPES, cacheControl, notFound } from '../http.mjs';

export async function serveCacheInfo(ctx, route) {
  const cacheKey = ctx.cacheKey(`_nixedge/nix-cache-info/${route.cache}`);
  const hit = await ctx.cacheMatch(cacheKey);
  if (hit !== undefined) return hit;
  const bytes = await ctx.readObject(route.key);
  const response =
    bytes === null
      ? notFound(`nix-cache-info of cache '${route.cache}'`, ctx.config.narinfoMissTtl)
      : new Response(bytes, {
          headers: {
            'Content-Type': CONTENT_TYPES.nix_cache_info,
            'Cache-Control': cacheControl(ctx.config.cacheInfoTtl),
          },
        });
  ctx.cachePut(cacheKey, response.clone());
  return response;
}
