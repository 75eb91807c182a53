// The chunks of one NAR response, fetched in order with a bounded prefetch:
// at most PREFETCH_CHUNKS reads in flight (Workers allow 6 open connections
// per invocation) and at most PREFETCH_BYTES of stored bytes held, so memory
// stays at a few chunks whatever the NAR's size. Each chunk is read whole,
// its length checked against the manifest, and only then sent and put in the
// Cache API: a short or missing chunk is never cached and never sent as if
// complete.
export class ChunkMissing extends Error {}

export class ChunkFetcher {
  #ctx;
  #chunks; // [{key, storedSize}]
  #useCache;
  #pending = []; // promises of chunk bytes, in order, for the chunks started
  #started = 0;
  #bytesHeld = 0;

  constructor(ctx, chunks, { useCache }) {
    this.#ctx = ctx;
    this.#chunks = chunks;
    this.#useCache = useCache;
    this.#fill();
  }

  // The bytes of the next chunk, in manifest order. Throws ChunkMissing.
  async next() {
    const index = this.#started - this.#pending.length;
    if (index >= this.#chunks.length) throw new Error('no chunk left');
    const bytes = await this.#pending.shift();
    this.#bytesHeld -= this.#chunks[index].storedSize;
    this.#fill();
    return bytes;
  }

  // Starts reads while the window has room; at least one is always in flight.
  #fill() {
    const { prefetchChunks, prefetchBytes } = this.#ctx.config;
    while (this.#started < this.#chunks.length && this.#pending.length < prefetchChunks) {
      const chunk = this.#chunks[this.#started];
      if (this.#pending.length > 0 && this.#bytesHeld + chunk.storedSize > prefetchBytes) break;
      const read = this.#read(chunk);
      read.catch(() => {}); // reported when its turn comes, by next()
      this.#pending.push(read);
      this.#bytesHeld += chunk.storedSize;
      this.#started += 1;
    }
  }

  async #read({ key, storedSize }) {
    const ctx = this.#ctx;
    const cacheKey = ctx.cacheKey(`_nixedge/${key}`);
    if (this.#useCache) {
      const hit = await ctx.cacheMatch(cacheKey);
      if (hit !== undefined) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        if (bytes.length === storedSize) return bytes;
      }
    }
    const bytes = await ctx.readObject(key);
    if (bytes === null) throw new ChunkMissing(`chunk ${key} is missing from the bucket`);
    if (bytes.length !== storedSize) {
      throw new ChunkMissing(`chunk ${key} has ${bytes.length} bytes, its manifest says ${storedSize}`);
    }
    if (this.#useCache) {
      ctx.cachePut(cacheKey, new Response(bytes, { headers: { 'Cache-Control': 'public, max-age=31536000, immutable' } }));
    }
    return bytes;
  }
}
