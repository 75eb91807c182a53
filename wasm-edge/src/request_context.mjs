// What one request may use: the R2 bucket, the Cache API and a budget of
// subrequests. Workers cap the calls one invocation makes to Cloudflare
// services (R2 and, counted here to be safe, the Cache API): 1000 on the free
// plan, 10000 by default on the paid one. Every call goes through here, so
// the count is exact and a NAR that would need more is refused up front
// instead of failing half-way (local workerd does not enforce the limit).
import { log } from './http.mjs';

export class SubrequestBudgetExceeded extends Error {}

export class RequestContext {
  constructor({ bucket, cache, config, core, origin, waitUntil }) {
    this.bucket = bucket;
    this.cache = cache; // a Cache API cache, or null where there is none
    this.config = config;
    this.core = core;
    this.origin = origin;
    this.waitUntil = waitUntil;
    this.counts = { r2Gets: 0, cacheMatches: 0, cachePuts: 0, cacheHits: 0 };
  }

  get subrequests() {
    return this.counts.r2Gets + this.counts.cacheMatches + this.counts.cachePuts;
  }

  get remaining() {
    return this.config.maxSubrequests - this.subrequests;
  }

  #spend(what) {
    if (this.remaining <= 0) {
      throw new SubrequestBudgetExceeded(`subrequest limit (${this.config.maxSubrequests}) reached`);
    }
    this.counts[what] += 1;
  }

  // The object's bytes, or null if the bucket has no object under `key`.
  async readObject(key) {
    const object = await this.openObject(key);
    return object === null ? null : new Uint8Array(await object.arrayBuffer());
  }

  // The object as R2 returns it ({size, body, ...}: the body not read yet),
  // or null. Whoever opens it reads or cancels its body.
  async openObject(key) {
    this.#spend('r2Gets');
    return this.bucket.get(key);
  }

  // A Cache API key: a URL on this Worker's own host (the Cache API keys by
  // URL, per data centre), under a path no route answers.
  cacheKey(path) {
    return new Request(`${this.origin}/${path}`);
  }

  async cacheMatch(key) {
    if (this.cache === null) return undefined;
    this.#spend('cacheMatches');
    const hit = await this.cache.match(key);
    if (hit !== undefined) this.counts.cacheHits += 1;
    return hit;
  }

  // Stores `response` in the background; a failure to cache is logged, never
  // an error for the client.
  cachePut(key, response) {
    if (this.cache === null) return;
    this.#spend('cachePuts');
    this.waitUntil(
      this.cache.put(key, response).catch((e) => log('warn', 'cache_put_failed', { key: key.url, error: String(e) })),
    );
  }
}
