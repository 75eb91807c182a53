// The chunks of one NAR response, opened in order with a bounded prefetch:
// at most PREFETCH_CHUNKS chunks open at once, from the read until the
// chunk is sent (Workers allow 6 open connections per invocation), and at
// most PREFETCH_BYTES of stored bytes among them. A chunk
// is never read into JavaScript: its body stream is piped into the response
// by the runtime, so the Worker's CPU and memory stay flat whatever the NAR's
// size. Its length is checked before any byte is sent, from R2's metadata (or
// the Cache API entry's Content-Length): a short, long or missing chunk is
// never sent as if complete, and never cached.
export class ChunkMissing extends Error {}

export class ChunkFetcher {
  #ctx;
  #chunks; // [{key, storedSize}]
  #useCache;
  #pending = []; // promises of opened chunks ({body, size}), in order
  #started = 0;
  #bytesOpen = 0;
  #cancelled = false;

  constructor(ctx, chunks, { useCache }) {
    this.#ctx = ctx;
    this.#chunks = chunks;
    this.#useCache = useCache;
    this.#fill();
  }

  // The next chunk in manifest order, opened: its body stream of exactly its
  // stored size. Throws ChunkMissing. Call sent(chunk) once it is sent: that
  // frees its place in the window.
  async next() {
    if (this.#started - this.#pending.length >= this.#chunks.length) throw new Error('no chunk left');
    return this.#pending.shift();
  }

  sent(chunk) {
    this.#bytesOpen -= chunk.size;
    this.#fill();
  }

  // Stops opening chunks and releases those already opened.
  cancel() {
    this.#cancelled = true;
    for (const pending of this.#pending.splice(0)) {
      pending.then((opened) => opened.body.cancel()).catch(() => {});
    }
  }

  // Opens chunks while the window has room; at least one is always open.
  #fill() {
    const { prefetchChunks, prefetchBytes } = this.#ctx.config;
    while (!this.#cancelled && this.#started < this.#chunks.length && this.#pending.length < prefetchChunks) {
      const chunk = this.#chunks[this.#started];
      if (this.#pending.length > 0 && this.#bytesOpen + chunk.storedSize > prefetchBytes) break;
      const opening = this.#open(chunk);
      opening.catch(() => {}); // reported when its turn comes, by next()
      this.#pending.push(opening);
      this.#bytesOpen += chunk.storedSize;
      this.#started += 1;
    }
  }

  async #open({ key, storedSize }) {
    const ctx = this.#ctx;
    const cacheKey = ctx.cacheKey(`_nixedge/${key}`);
    if (this.#useCache) {
      const hit = await ctx.cacheMatch(cacheKey);
      if (hit !== undefined) {
        if (Number(hit.headers.get('Content-Length')) === storedSize && hit.body !== null) {
          return { body: hit.body, size: storedSize };
        }
        await hit.body?.cancel();
      }
    }
    const object = await ctx.openObject(key);
    if (object === null) throw new ChunkMissing(`chunk ${key} is missing from the bucket`);
    if (object.size !== storedSize) {
      await object.body.cancel();
      throw new ChunkMissing(`chunk ${key} has ${object.size} bytes, its manifest says ${storedSize}`);
    }
    if (!this.#useCache) return { body: object.body, size: storedSize };
    // One branch to the response, one to the Cache API through a stream of
    // the exact length (which the Cache API keeps as Content-Length, and
    // which fails, storing nothing, if the read ends early).
    const [toClient, toCache] = object.body.tee();
    const sized = new FixedLengthStream(storedSize);
    ctx.waitUntil(toCache.pipeTo(sized.writable).catch(() => {}));
    ctx.cachePut(cacheKey, new Response(sized.readable, { headers: { 'Cache-Control': 'public, max-age=31536000, immutable' } }));
    return { body: toClient, size: storedSize };
  }
}
