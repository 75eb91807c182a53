// GET/HEAD /<cache>/<hash>.ls: the NAR listing the lab wrote. Listings carry
// no signature, so one is served only while its path's narinfo verifies.
import { CONTENT_TYPES, cacheControl, notFound } from '../http.mjs';
import { lookupNarinfo } from './narinfo.mjs';

export async function serveListing(ctx, route) {
  const what = `${route.hash}.ls in cache '${route.cache}'`;
  if ((await lookupNarinfo(ctx, route.cache, route.hash)) === null) {
    return notFound(what, ctx.config.narinfoMissTtl);
  }
  const bytes = await ctx.readObject(route.key);
  if (bytes === null) return notFound(what, ctx.config.narinfoMissTtl);
  return new Response(bytes, {
    headers: { 'Content-Type': CONTENT_TYPES.listing, 'Cache-Control': cacheControl(ctx.config.narinfoTtl) },
  });
}
