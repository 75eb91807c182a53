// The edge Worker: serves the R2 mirror of the lab's bucket, read-only, to Nix
// clients. The C++ core (nixedge-edge.wasm, instantiated once per isolate)
// decides what a path names, whether a narinfo verifies against the cache's
// trusted keys and which chunks a (ranged) NAR answer needs; this JS only does
// the I/O: R2 reads, the Cache API, streams and responses.
//
// The route table: GET and HEAD only, no R2 write call exists in this code.
//   /<cache>/nix-cache-info        routes/cache_info.mjs
//   /<cache>/<hash>.narinfo        routes/narinfo.mjs
//   /<cache>/nar/<manifest>.nar.zst routes/nar.mjs
//   /<cache>/<hash>.ls             routes/listing.mjs
// and the same without /<cache> for DEFAULT_CACHE. Configuration: config.mjs.
import wasm from '../../build-wasm/wasm-edge/nixedge-edge.wasm';
import { ConfigError, edgeConfig } from './config.mjs';
import { loadCore } from './core.mjs';
import { log, methodNotAllowed, notFound, textResponse } from './http.mjs';
import { RequestContext, SubrequestBudgetExceeded } from './request_context.mjs';
import { serveCacheInfo } from './routes/cache_info.mjs';
import { serveListing } from './routes/listing.mjs';
import { serveNar } from './routes/nar.mjs';
import { serveNarinfo } from './routes/narinfo.mjs';

const ROUTES = {
  nix_cache_info: serveCacheInfo,
  narinfo: serveNarinfo,
  nar: serveNar,
  listing: serveListing,
};

let core; // once per isolate; core.mjs replaces the instance after a trap

export default {
  async fetch(request, env, ctx) {
    const response = await answer(request, env, ctx);
    return request.method === 'HEAD' ? await headAnswer(response) : response;
  },
};

// The answer to one request, as for GET (HEAD is derived from it).
async function answer(request, env, ctx) {
  if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed();
  core ??= await loadCore(wasm);
  let config;
  try {
    config = edgeConfig(env, core);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    log('error', 'config_invalid', { detail: e.message });
    return textResponse(500, `edge misconfigured: ${e.message}`);
  }
  const url = new URL(request.url);
  const route = core.route(url.pathname, config.defaultCache);
  if (!route.ok || !config.trustedKeys.has(route.value.cache)) return notFound(url.pathname);

  const context = new RequestContext({
    bucket: env.BUCKET,
    cache: typeof caches === 'undefined' ? null : caches.default,
    config,
    core,
    origin: url.origin,
    waitUntil: (promise) => ctx.waitUntil(promise),
  });
  try {
    return await ROUTES[route.value.object](context, route.value, request);
  } catch (e) {
    return failure(e, url.pathname, context);
  }
}

// The GET answer's status and headers, with the Content-Length of its body
// (workerd keeps an explicit one on a body-less answer, and only then). The
// NAR route answers HEAD itself without reading chunks; the other bodies are
// small texts.
async function headAnswer(response) {
  if (response.body === null || response.headers.has('Content-Length')) return response;
  const headers = new Headers(response.headers);
  headers.set('Content-Length', String((await response.arrayBuffer()).byteLength));
  return new Response(null, { status: response.status, headers });
}

// A failure no route answered: a clear status, details in the log only.
function failure(error, path, context) {
  if (error instanceof SubrequestBudgetExceeded) {
    log('error', 'subrequest_limit', { path, ...context.counts });
    return textResponse(503, `this request needed more than ${context.config.maxSubrequests} subrequests`);
  }
  log('error', 'internal_error', { path, detail: String(error?.stack ?? error) });
  return textResponse(500, 'internal error (logged)');
}
