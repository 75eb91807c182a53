// The naive baseline of the edge benchmark (bench/edge_bench.sh): a plain JS
// Worker that proxies whole R2 objects by key, with no verification at all.
//   GET /<cache>/<hash>.narinfo   -> the object <cache>/<hash>.narinfo
//   GET /nar/<x>.nar.zst          -> the object nar/<x>.nar.zst (the whole NAR)
// Anything else, or a key the bucket lacks, is a 404. No Cache API, no
// signature check, no chunking: the least work a Worker can do per request,
// and what nixedge's edge is compared against. Not for production.
export default {
  async fetch(request, env) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('method not allowed\n', { status: 405, headers: { Allow: 'GET, HEAD' } });
    }
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    const contentType = key.endsWith('.narinfo')
      ? 'text/x-nix-narinfo'
      : key.startsWith('nar/') && key.endsWith('.nar.zst')
        ? 'application/x-nix-nar'
        : null;
    if (contentType === null) return new Response('not found\n', { status: 404 });
    const object = await env.BUCKET.get(key);
    if (object === null) return new Response('not found\n', { status: 404 });
    return new Response(request.method === 'HEAD' ? null : object.body, {
      headers: { 'Content-Type': contentType, 'Content-Length': String(object.size), ETag: object.httpEtag },
    });
  },
};
