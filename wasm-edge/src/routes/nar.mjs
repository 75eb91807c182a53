// GET/HEAD /<cache>/nar/<manifest>.nar.zst: the NAR as the concatenation of its
// chunk objects (each one zstd frame), in the order its manifest lists them.
// The manifest is read first (and must hash to its name); HEAD stops there.
// The body goes through a FixedLengthStream of the exact length, so workerd
// sends Content-Length, and a stream that ends early is an error on the wire,
// never a short 200 that looks complete. A chunk found missing before the
// first byte is a 502; after it, the stream is aborted.
import { ChunkFetcher } from '../chunk_stream.mjs';
import { CONTENT_TYPES, IMMUTABLE, log, notFound, textResponse } from '../http.mjs';

export async function serveNar(ctx, route, request) {
  const what = `NAR ${route.hash} in cache '${route.cache}'`;
  const manifest = await readManifest(ctx, route);
  if (manifest === null) return notFound(what);
  const etag = `"${route.hash}"`;
  const plan = ctx.core.narPlan(manifest.bytes, route.hash, rangeHeader(request, etag));
  if (!plan.ok) {
    log('warn', 'manifest_refused', { manifest: route.hash, reason: plan.name, detail: plan.detail });
    return notFound(what);
  }
  if (manifest.cacheKey !== null) {
    ctx.cachePut(manifest.cacheKey, new Response(manifest.bytes, { headers: { 'Cache-Control': IMMUTABLE } }));
  }
  const answer = plan.value;
  const headers = {
    'Content-Type': CONTENT_TYPES.nar,
    'Cache-Control': IMMUTABLE,
    ETag: etag,
    'Accept-Ranges': 'bytes',
  };
  if (answer.status === 416) {
    return textResponse(416, `range not satisfiable: ${what} has ${answer.storedSize} bytes`, {
      headers: { 'Content-Range': answer.contentRange },
    });
  }
  if (answer.contentRange !== null) headers['Content-Range'] = answer.contentRange;
  if (request.headers.get('If-None-Match') === etag && answer.status === 200) {
    return new Response(null, { status: 304, headers });
  }
  if (request.method === 'HEAD') {
    // workerd keeps an explicit Content-Length on a body-less answer to HEAD.
    headers['Content-Length'] = String(answer.contentLength);
    return new Response(null, { status: answer.status, headers });
  }
  if (answer.span === null) return new Response(new Uint8Array(0), { status: answer.status, headers });
  return streamChunks(ctx, route, answer, headers);
}

// Manifests are immutable and small: kept in the Cache API like chunks.
// {bytes, cacheKey}: cacheKey is where to store bytes read from R2 once they
// proved to be the manifest (null when they came from the Cache API, or the
// chunk cache is off); null when the bucket has no such manifest.
async function readManifest(ctx, route) {
  if (!ctx.config.cacheChunks) {
    const bytes = await ctx.readObject(route.key);
    return bytes === null ? null : { bytes, cacheKey: null };
  }
  const cacheKey = ctx.cacheKey(`_nixedge/${route.key}`);
  const hit = await ctx.cacheMatch(cacheKey);
  if (hit !== undefined) return { bytes: new Uint8Array(await hit.arrayBuffer()), cacheKey: null };
  const bytes = await ctx.readObject(route.key);
  return bytes === null ? null : { bytes, cacheKey };
}

// A Range applies unless If-Range names another version of this NAR.
function rangeHeader(request, etag) {
  const range = request.headers.get('Range') ?? '';
  const ifRange = request.headers.get('If-Range');
  return ifRange === null || ifRange === etag ? range : '';
}

// Chunk reads cost subrequests: two Cache API calls and one R2 read each with
// the chunk cache, one R2 read without. A NAR that does not fit the budget
// even without the cache is refused before any byte is sent.
async function streamChunks(ctx, route, answer, headers) {
  const chunks = answer.chunks;
  const useCache = ctx.config.cacheChunks && chunks.length * 3 <= ctx.remaining;
  if (chunks.length > ctx.remaining) {
    log('error', 'nar_over_subrequest_limit', { manifest: route.hash, chunks: chunks.length, limit: ctx.config.maxSubrequests });
    return textResponse(
      502,
      `NAR ${route.hash} needs ${chunks.length} chunk reads; this edge allows ${ctx.config.maxSubrequests} ` +
        'subrequests per request (MAX_SUBREQUESTS): raise it on a paid plan, or push with larger chunks',
    );
  }
  const fetcher = new ChunkFetcher(ctx, chunks, { useCache });
  let first;
  try {
    first = await fetcher.next();
  } catch (e) {
    fetcher.cancel();
    log('error', 'chunk_missing', { manifest: route.hash, detail: e.message });
    return textResponse(502, `${e.message} (NAR ${route.hash}): the mirror is incomplete`);
  }
  // The exact length: workerd sends Content-Length, and errors the response
  // if fewer bytes arrive.
  const { readable, writable } = new FixedLengthStream(answer.contentLength);
  const pump = async () => {
    try {
      for (let i = 0; i < chunks.length; ++i) {
        const chunk = i === 0 ? first : await fetcher.next();
        await send(chunk, writable, i, chunks.length, answer.span);
        fetcher.sent(chunk);
      }
      await writable.close();
      log('info', 'nar_sent', { manifest: route.hash, status: answer.status, bytes: answer.contentLength, chunks: chunks.length, ...ctx.counts });
    } catch (e) {
      fetcher.cancel();
      log('error', 'nar_aborted', { manifest: route.hash, detail: String(e?.message ?? e), ...ctx.counts });
      await writable.abort(e).catch(() => {});
    }
  };
  ctx.waitUntil(pump());
  return new Response(readable, { status: answer.status, headers });
}

// Sends the part of the i-th chunk of the span that the answer covers. A
// whole chunk is piped by the runtime, byte for byte; only the first and last
// chunks of a range are read here to be cut.
async function send(chunk, writable, i, count, span) {
  const start = i === 0 ? span.firstOffset : 0;
  const end = i === count - 1 ? span.lastEnd : chunk.size;
  if (start === 0 && end === chunk.size) {
    await chunk.body.pipeTo(writable, { preventClose: true });
    return;
  }
  const bytes = new Uint8Array(await new Response(chunk.body).arrayBuffer());
  if (bytes.length !== chunk.size) throw new Error(`a chunk ended after ${bytes.length} of ${chunk.size} bytes`);
  const writer = writable.getWriter();
  try {
    await writer.write(bytes.subarray(start, end));
  } finally {
    writer.releaseLock();
  }
}
