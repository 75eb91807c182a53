// Responses and log lines of the edge: one place for content types, cache
// headers and the shape of errors.
export const CONTENT_TYPES = Object.freeze({
  narinfo: 'text/x-nix-narinfo',
  nar: 'application/x-nix-nar',
  nix_cache_info: 'text/x-nix-cache-info',
  listing: 'application/json',
  text: 'text/plain; charset=utf-8',
});

// NARs are named by their manifest's hash: they never change.
export const IMMUTABLE = 'public, max-age=31536000, immutable';
const ALLOW = 'GET, HEAD';

export function cacheControl(seconds) {
  return seconds > 0 ? `public, max-age=${seconds}` : 'no-store';
}

// A short text answer. maxAge: seconds clients and the Cache API may keep it
// (0: not at all).
export function textResponse(status, text, { maxAge = 0, headers = {} } = {}) {
  return new Response(`${text}\n`, {
    status,
    headers: { 'Content-Type': CONTENT_TYPES.text, 'Cache-Control': cacheControl(maxAge), ...headers },
  });
}

export function notFound(what, maxAge = 0) {
  return textResponse(404, `not found: ${what}`, { maxAge });
}

export function methodNotAllowed() {
  return textResponse(405, 'method not allowed: this cache is read-only (GET, HEAD)', {
    headers: { Allow: ALLOW },
  });
}

// One JSON line per notable event (a refused narinfo, a missing chunk, a bad
// configuration): `wrangler tail` and Logpush read them.
export function log(level, event, fields = {}) {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}
